#!/usr/bin/env bash
# Set up and run the demo: SQLite in instance/, a demo district, the app on http://127.0.0.1:5000.
# Demo logins are printed before the server starts. Ctrl-C stops it; running again keeps the
# data and prints fresh passwords.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
flask() { .venv/bin/flask --app inspect_app "$@"; }
flask db upgrade
flask demo ${DEMO_ARGS:-}
echo "打开 http://127.0.0.1:${PORT:-5000} （open http://127.0.0.1:${PORT:-5000}）"
exec .venv/bin/flask --app inspect_app run --host 127.0.0.1 --port "${PORT:-5000}"
