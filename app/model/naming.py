"""Stable ASCII names derived from model keys: FAB derives URLs and permission names from them."""
from __future__ import annotations


def class_name(key: str) -> str:
    """`inspection_defect` -> `InspectionDefect`: the name FAB derives URLs and permissions from."""
    return "".join(part.capitalize() for part in key.split("_"))
