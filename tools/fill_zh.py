"""Fill empty Chinese entries of the zh catalogue from a JSON file {English msgid: 中文}.

Usage: .venv/bin/python tools/fill_zh.py MAP.json [MAP2.json ...]
Only entries whose zh msgstr is empty are filled; the msgids still empty afterwards are printed
(tests/test_i18n.py fails on them). Run after tools/update_translations.sh, then `make translations`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "translations/zh/LC_MESSAGES/messages.po"


def main(paths: list[str]) -> int:
    mapping: dict[str, str] = {}
    for path in paths:
        mapping.update(json.loads(Path(path).read_text(encoding="utf-8")))
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh")
    empty = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if message.string and (message.string if isinstance(message.string, str) else message.string[0]):
            continue
        if key in mapping:
            message.string = mapping[key] if isinstance(message.id, str) else (mapping[key],) * len(message.id)
        else:
            empty.append(key)
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=0)
    for key in empty:
        print("still empty:", key)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
