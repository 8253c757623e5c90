"""Record labels: how a record is named where users pick or read it (selects, list filters, reference
cells), from the entity's `display:` in the model, and the query that finds records by that label.

"王建国 · 尾号1234 · C000123": each display field in turn, personal ones (private, phone or ID formats)
only by their last 4 characters, then the record number (`display.number` + the id in 6 digits).
Searching matches the start of a plain field, the tail of a personal one and the record number.
"""
from __future__ import annotations

import re

from sqlalchemy import or_

from app.security.user import StaffUser

SEPARATOR = " · "
TAIL = 4
MASKED_FORMATS = ("mobile", "phone", "id_card")
#: The most records one search answers with per page.
PAGE = 20


def _masked(field) -> bool:
    return field.private or field.format in MASKED_FORMATS


def _text(value) -> str:
    return "" if value is None else str(value)


def record_number(entity, pk) -> str:
    return f"{entity.display.number}{pk:06d}" if entity.display and entity.display.number and pk else ""


def label(entity, row, tail=lambda digits: f"尾号{digits}") -> str:
    """The label of `row` (an ORM object of `entity`, or a user when `entity` is None); `tail` words
    the last digits of a personal field (the web layer passes its translation)."""
    if row is None:
        return ""
    if entity is None or entity.display is None:
        return str(row)
    parts = []
    for name in entity.display.fields:
        field, value = entity.fields[name], _text(getattr(row, name, None)).strip()
        if not value:
            continue
        parts.append(tail(value[-TAIL:]) if _masked(field) else value)
    number = record_number(entity, row.id)
    if number:
        parts.append(number)
    return SEPARATOR.join(parts) or str(row)


def search_clause(entity, cls, text: str):
    """A condition on `cls` (the entity's class, or StaffUser when `entity` is None) for the records
    whose label matches `text`; None when every record matches (no text)."""
    text = (text or "").strip()
    if not text:
        return None
    if entity is None:
        return or_(*[c.startswith(text, autoescape=True)
                     for c in (StaffUser.first_name, StaffUser.last_name, StaffUser.username)])
    names = entity.display.fields if entity.display else [entity.title] if entity.title else []
    parts = []
    digits = text.isdigit()
    for name in names:
        field, column = entity.fields[name], getattr(cls, name)
        if _masked(field):
            if digits and len(text) >= TAIL:
                parts.append(column.endswith(text, autoescape=True))
        elif field.type in ("string", "choice"):
            parts.append(column.startswith(text, autoescape=True))
    prefix = entity.display.number if entity.display and entity.display.number else ""
    match = re.fullmatch(rf"(?i:{re.escape(prefix)})?0*(\d{{1,9}})", text) if prefix or digits else None
    if match:
        parts.append(cls.id == int(match.group(1)))
    return or_(*parts) if parts else cls.id.is_(None)


def order_columns(entity, cls) -> list:
    if entity is None:
        return [StaffUser.first_name, StaffUser.last_name, StaffUser.id]
    first = entity.display.fields[0] if entity.display else entity.title
    return ([getattr(cls, first)] if first else []) + [cls.id]
