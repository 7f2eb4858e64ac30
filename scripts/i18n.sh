#!/usr/bin/env bash
# Refresh the English catalog from the source strings (written in Chinese), then compile it.
#   scripts/i18n.sh           extract + update + compile
#   scripts/i18n.sh compile   compile only
set -euo pipefail
cd "$(dirname "$0")/.."
dir=inspect_app/translations
quiet() { "$@" 2> >(grep -vE '^(extracting|writing|compiling|creating|updating)' >&2); }
if [ "${1:-}" != compile ]; then
  quiet .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location \
    --sort-output -o "$dir/messages.pot" .
  if [ -f "$dir/en/LC_MESSAGES/messages.po" ]; then
    quiet .venv/bin/pybabel update -i "$dir/messages.pot" -d "$dir" -l en --no-fuzzy-matching
  else
    quiet .venv/bin/pybabel init -i "$dir/messages.pot" -d "$dir" -l en
  fi
fi
quiet .venv/bin/pybabel compile -d "$dir" -l en
