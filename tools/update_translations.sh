#!/usr/bin/env bash
# Re-extract translatable messages and merge them into the zh and en catalogues.
# Usage: tools/update_translations.sh   (from anywhere; works relative to the repo root)
set -euo pipefail

cd "$(dirname "$0")/.."

PYBABEL=${PYBABEL:-.venv/bin/pybabel}
POT=translations/messages.pot

"$PYBABEL" extract -F babel.cfg -k N_ -k lazy_gettext -k _ -k gettext \
    --no-wrap --sort-by-file --project="业扩通" -o "$POT" .

for locale in zh en; do
    po="translations/$locale/LC_MESSAGES/messages.po"
    if [ -f "$po" ]; then
        "$PYBABEL" update -D messages -d translations -l "$locale" -i "$POT" \
            --no-fuzzy-matching --ignore-obsolete --no-wrap
    else
        "$PYBABEL" init -D messages -d translations -l "$locale" -i "$POT"
    fi
done
