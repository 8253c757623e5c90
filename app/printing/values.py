"""What a form template sees: field values formatted for print, and the record of what it read
(its fingerprint is stored with each print, so a later change of the data is detectable)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from app import i18n
from app.printing.verify import fingerprint


def text_of(value) -> str:
    return "" if value is None else str(value)


def label_of(item) -> str:
    return item.label_en if i18n.is_english() else item.label_zh


def display(spec, value, related=None, *, multiline: bool = True):
    """A stored value as it is printed (``related``: the referenced object of a reference)."""
    from flask_babel import gettext

    if value is None or value == "":
        return ""
    kind = spec.type if spec is not None else "string"
    if kind == "choice":
        return next((label_of(c) for c in spec.choices or [] if c.value == value), str(value))
    if kind == "boolean":
        return gettext("Yes") if value else gettext("No")
    if kind == "reference":
        return text_of(related) if related is not None else f"#{value}"
    if kind == "datetime" or isinstance(value, dt.datetime):
        return i18n.fmt_datetime(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "decimal":
        if spec.format == "money":
            return i18n.fmt_money(value)
        return format(Decimal(value), "f")
    if kind == "file":
        # FAB stores "<uuid>_sep_<original name>"
        return str(value).split("_sep_", 1)[-1]
    text = str(value)
    if kind == "text" and multiline and "\n" in text:
        return Markup("<br/>").join(escape(line) for line in text.splitlines())
    return text


def utc_iso(value: dt.datetime | None) -> str | None:
    """An instant as UTC ISO text: SQLite hands back naive UTC, PostgreSQL the session's zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat()


def raw(spec, value, related=None):
    """What the fingerprint keeps of a value: the stored value; references as [id, name]."""
    if spec is not None and spec.type == "reference" and value is not None:
        return [value, text_of(related)]
    if isinstance(value, dt.datetime):
        return utc_iso(value)
    return value


class Recorder:
    """The raw values a template read while rendering; their fingerprint is stored with a print."""

    def __init__(self) -> None:
        self.reads: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, list] = {}

    def note(self, ns: str, name: str, value: Any) -> None:
        if value is None or value == "":
            return  # an empty value the template shows blank adds nothing (keeps old prints valid)
        self.reads.setdefault(ns, {})[name] = value

    def note_list(self, ns: str, ids: list) -> None:
        self.lists[ns] = ids

    def data(self) -> dict:
        return {"values": self.reads, "lists": self.lists}

    def fingerprint(self) -> str:
        return fingerprint(self.data())


class Values:
    """Formatted values of one row for a template; each value read is recorded (raw)."""

    __slots__ = ("_rec", "_ns", "_display", "_raw")

    def __init__(self, rec: Recorder, ns: str, shown: dict[str, Any], raws: dict[str, Any]):
        self._rec, self._ns, self._display, self._raw = rec, ns, shown, raws

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str):
        if name not in self._display:
            raise KeyError(name)
        self._rec.note(self._ns, name, self._raw.get(name))
        return self._display[name]

    def __contains__(self, name: str) -> bool:
        return name in self._display


class Rows(list):
    """A list of Values shown on a form; iterating or counting it records which rows it has."""

    def __init__(self, rec: Recorder, ns: str, items: list[Values], ids: list):
        super().__init__(items)
        self._rec, self._ns, self._ids = rec, ns, ids

    def _seen(self) -> None:
        self._rec.note_list(self._ns, self._ids)

    def __iter__(self):
        self._seen()
        return super().__iter__()

    def __len__(self) -> int:
        self._seen()
        return super().__len__()

    def __bool__(self) -> bool:
        self._seen()
        return bool(self._ids)


class Lazy:
    """``name.<key>`` computed on first use (related rows, collections)."""

    def __init__(self, make):
        self._make, self._cache = make, {}

    def __getattr__(self, key: str):
        if key.startswith("_"):
            raise AttributeError(key)
        if key not in self._cache:
            value = self._make(key)
            if value is None:
                raise AttributeError(key)
            self._cache[key] = value
        return self._cache[key]

    __getitem__ = __getattr__
