#!/usr/bin/env bash
# Set up and run every test: lint, then the whole suite on SQLite and again on a private
# PostgreSQL, browser tests included. Installs what the tests need (Chromium, CJK fonts,
# poppler, zbar) from apt when run as root and they are missing.
set -uo pipefail
cd "$(dirname "$0")/.."

need=()
# Chromium for browser tests, CJK fonts and pango for PDFs, poppler and zbar to read PDFs and
# QR codes back, PostgreSQL for the second run.
for pkg in chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 poppler-utils zbar-tools; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing: ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || exit 1
  else
    echo "missing system packages (install as root): ${need[*]}" >&2; exit 1
  fi
fi

bash scripts/setup.sh test || exit 1
.venv/bin/ruff check . || exit 1

# Browser tests must run here, not be skipped (tests/e2e/conftest.py fails the run if they are).
export INSPECT_REQUIRE_E2E=1
# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
run_pytest() { .venv/bin/pytest "$@"; local rc=$?; [ $rc -eq 5 ] && echo "no tests ran" >&2; return $rc; }

echo "== tests on SQLite"
run_pytest -q "$@"; sqlite_rc=$?

echo "== tests on PostgreSQL"
# The server goes away however this script ends: pass, fail, error, Ctrl-C or kill.
trap 'bash scripts/pg_down.sh' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_env=$(bash scripts/pg_up.sh) || { echo "could not start PostgreSQL" >&2; exit 1; }
eval "$pg_env"
run_pytest -q "$@"; pg_rc=$?

[ $sqlite_rc -eq 0 ] && [ $pg_rc -eq 0 ]
