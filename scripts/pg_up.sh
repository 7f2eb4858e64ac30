#!/usr/bin/env bash
# Start a private, throwaway PostgreSQL (socket in a temp dir, port on 127.0.0.1) and print
# the shell exports that point at it. Runs the server as `postgres` when started as root,
# because initdb refuses to run as root.
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
PGROOT=${PGROOT:-$(mktemp -d /tmp/inspect-pg.XXXXXX)}
PGPORT=${PGPORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
RUN=()
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$PGROOT"; RUN=(runuser -u postgres --)
fi
# Any failure from here on stops what was started and removes the folder: the caller gets
# nothing to eval, so it has nothing to tear down.
started=""
cleanup_on_failure() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    [ -n "$started" ] && { "${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate -w stop >/dev/null 2>&1 || true; }
    rm -rf "$PGROOT"
  fi
  exit $rc
}
trap cleanup_on_failure EXIT
chmod 700 "$PGROOT"
"${RUN[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$PGROOT/initdb.log" 2>&1 \
  || { cat "$PGROOT/initdb.log" >&2; exit 1; }
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 30 \
  -o "-k $PGROOT -p $PGPORT -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { started=1; cat "$PGROOT/server.log" >&2; exit 1; }
started=1
"${RUN[@]}" "$PGBIN/createdb" -h "$PGROOT" -p "$PGPORT" -U postgres inspect_test
echo "export PGROOT=$PGROOT PGPORT=$PGPORT PGBIN=$PGBIN"
echo "export INSPECT_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PGPORT/inspect_test"
