#!/usr/bin/env bash
# Stop the server started by pg_up.sh and remove its files (PGROOT, PGBIN from pg_up.sh).
set -u
[ -n "${PGROOT:-}" ] && [ -d "$PGROOT" ] || exit 0
RUN=()
[ "$(id -u)" = 0 ] && RUN=(runuser -u postgres --)
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
rm -rf "$PGROOT"
