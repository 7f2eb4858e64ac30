#!/usr/bin/env bash
# Set up and run the demo: SQLite in instance/, a demo district, the app on http://127.0.0.1:5000.
# Demo logins are printed before the server starts. Ctrl-C stops it; running again keeps the
# data and prints fresh passwords.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The audit log goes to a file here, so the console shows the logins and requests.
export INSPECT_AUDIT_LOG="${INSPECT_AUDIT_LOG:-$PWD/instance/audit.log}"
mkdir -p instance
flask() { .venv/bin/flask --app inspect_app "$@"; }
flask db upgrade
flask demo ${DEMO_ARGS:-}
echo "打开 http://127.0.0.1:${PORT:-5000} （open http://127.0.0.1:${PORT:-5000}）; audit log: $INSPECT_AUDIT_LOG"
exec .venv/bin/flask --app inspect_app run --host 127.0.0.1 --port "${PORT:-5000}"
