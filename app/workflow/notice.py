"""Parser for State Council holiday notice files (CSV or YAML) that admins load one year at a time.

Formats
=======

CSV (UTF-8, a BOM is fine; GB18030 as saved by Chinese Excel is accepted too)::

    # year: 2027
    date,kind,name
    2027-01-01,holiday,元旦
    2027-02-05,holiday,春节
    2027-02-20,workday,春节调休上班

* header exactly ``date,kind,name`` (case and surrounding spaces ignored);
* ``date`` is ``YYYY-MM-DD``; ``kind`` is ``holiday`` (an official day off, any day of the
  week) or ``workday`` (a make-up working day, must be a Saturday or Sunday);
  ``name`` may be empty;
* blank lines and lines starting with ``#`` are ignored, except an optional
  ``# year: YYYY`` before the header that declares the year; without it the year is
  that of the first valid date.

YAML (parsed into nodes with yaml.SafeLoader, the loader of yaml.safe_load; see _read_yaml)::

    year: 2027              # optional, as for CSV
    holidays:
      - {date: 2027-01-01, name: 元旦}
    workdays:
      - {date: 2027-02-20, name: 春节调休上班}

Errors
======

:func:`parse_notice` either returns a complete :class:`Notice` or raises
:class:`NoticeError` whose ``problems`` lists *every* problem found, each a
:class:`NoticeProblem` ``(line, code, message, params)``: ``line`` is 1-based (None when the
problem concerns the whole file), ``code`` is stable for programs, ``message`` is a
constant English template with ``{placeholders}`` filled from ``params``. Templates are
marked with ``N_`` so babel extracts them (``pybabel extract -k N_``); the caller
translates at display time: ``gettext(p.message).format(**p.params)`` or
``p.format(gettext)``.

Codes: ``empty``, ``bad_header``, ``bad_row``, ``bad_yaml``, ``bad_structure``,
``unknown_key``, ``missing_field``, ``bad_year``, ``bad_date``, ``wrong_year``,
``unknown_kind``, ``weekday_makeup``, ``duplicate``, ``conflict``.

Whether the year is already loaded is the caller's business, not this module's.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import yaml

__all__ = ["N_", "Notice", "NoticeError", "NoticeProblem", "parse_notice"]


def N_(message: str) -> str:
    """No-op marker so babel extracts message templates; translation happens in the caller."""
    return message


class NoticeProblem(NamedTuple):
    line: int | None
    code: str
    message: str
    params: dict[str, Any]

    def format(self, translate: Callable[[str], str] = N_) -> str:
        return translate(self.message).format(**self.params)


class NoticeError(ValueError):
    """The notice is unusable; ``problems`` holds every problem found (never empty)."""

    def __init__(self, problems: list[NoticeProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(
            (f"line {p.line}: " if p.line is not None else "") + p.format() for p in self.problems))


@dataclass(frozen=True)
class Notice:
    year: int
    holidays: dict[date, str]
    workdays: dict[date, str]

    def calendar_entry(self) -> tuple[set[date], set[date]]:
        """The (holidays, makeup_workdays) pair expected by ``WorkCalendar.from_days``."""
        return set(self.holidays), set(self.workdays)


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR_RE = re.compile(r"\d{4}")
_YEAR_COMMENT_RE = re.compile(r"#\s*year\s*:\s*(.*?)\s*", re.IGNORECASE)
_KINDS = ("holiday", "workday")
_YAML_SECTIONS = {"holidays": "holiday", "workdays": "workday"}


class _Entry(NamedTuple):
    line: int | None
    kind: str
    raw_date: str
    name: str


def parse_notice(path_or_text: str | bytes | os.PathLike[str], fmt: str | None = None) -> Notice:
    """Parse a notice given as a path (os.PathLike, or a one-line str), raw bytes, or text.

    A ``str`` containing a newline (or blank) is the content itself; any other ``str`` is a
    path. ``fmt`` is ``"csv"`` or ``"yaml"``; when None it comes from the file suffix
    (.csv/.yaml/.yml), else from the content: CSV when the first meaningful line has a comma
    before any colon (``date,kind,name``), YAML otherwise (``year: 2027``, ``{year: 2027, ...}``).
    """
    suffix = None
    if isinstance(path_or_text, bytes):
        text = _decode(path_or_text)
    elif isinstance(path_or_text, os.PathLike) or (
            isinstance(path_or_text, str) and "\n" not in path_or_text and path_or_text.strip()):
        path = os.fspath(path_or_text)
        suffix = os.path.splitext(path)[1].lower()
        with open(path, "rb") as fh:
            text = _decode(fh.read())
    elif isinstance(path_or_text, str):
        text = path_or_text.removeprefix("\ufeff")
    else:
        raise TypeError(f"expected a path, bytes or text, got {type(path_or_text).__name__}")

    if fmt is None:
        fmt = {".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}.get(suffix or "") or _sniff(text)
    if fmt == "csv":
        declared, entries, problems = _read_csv(text)
    elif fmt == "yaml":
        declared, entries, problems = _read_yaml(text)
    else:
        raise ValueError(f"unknown notice format {fmt!r} (expected 'csv' or 'yaml')")
    return _validate(declared, entries, problems)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves "CSV" in the ANSI code page (GBK); GB18030 is its superset.
        return raw.decode("gb18030")


def _sniff(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return "csv" if "," in stripped and ":" not in stripped.split(",")[0] else "yaml"
    return "csv"  # nothing meaningful: either reader reports "empty"


def _read_csv(text: str) -> tuple[tuple[int | None, str] | None, list[_Entry], list[NoticeProblem]]:
    declared = None
    entries: list[_Entry] = []
    problems: list[NoticeProblem] = []
    header_seen = False
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if row[0].lstrip().startswith("#"):
            m = _YEAR_COMMENT_RE.fullmatch(",".join(row).strip())
            if m and declared is None and not header_seen:
                declared = (line, m.group(1))
            continue
        cells = [cell.strip() for cell in row]
        if not header_seen:
            header_seen = True
            if [c.lower() for c in cells] != ["date", "kind", "name"]:
                problems.append(NoticeProblem(line, "bad_header", N_(
                    "Expected the header 'date,kind,name', found '{header}'."), {"header": ",".join(cells)}))
            continue
        if len(cells) != 3:
            problems.append(NoticeProblem(line, "bad_row", N_(
                "Expected 3 columns (date, kind, name), found {count}."), {"count": len(cells)}))
            continue
        entries.append(_Entry(line, cells[1].lower(), cells[0], cells[2]))
    return declared, entries, problems


def _read_yaml(text: str) -> tuple[tuple[int | None, str] | None, list[_Entry], list[NoticeProblem]]:
    # We compose the node graph with SafeLoader (what yaml.safe_load uses) instead of
    # constructing Python objects: constructing would raise on an impossible date such as
    # 2027-02-30 and abort the whole parse, and nodes keep line numbers for every problem.
    # Composing never instantiates any object, so it is at least as safe as safe_load.
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [], [NoticeProblem(mark.line + 1 if mark else None, "bad_yaml", N_(
            "The file is not valid YAML: {detail}"), {"detail": getattr(exc, "problem", None) or str(exc)})]
    if root is None:
        return None, [], []
    if not isinstance(root, yaml.MappingNode):
        return None, [], [_structure(root, N_(
            "The YAML document must be a mapping with the keys year, holidays, workdays."))]
    declared = None
    entries: list[_Entry] = []
    problems: list[NoticeProblem] = []
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key == "year":
            if isinstance(value_node, yaml.ScalarNode):
                declared = (_line(value_node), value_node.value)
            else:
                problems.append(_structure(value_node, N_("'year' must be a single number.")))
        elif key in _YAML_SECTIONS:
            if _is_null(value_node):
                continue
            if not isinstance(value_node, yaml.SequenceNode):
                problems.append(_structure(value_node, N_("'{key}' must be a list of entries."), key=key))
                continue
            for item in value_node.value:
                entry = _yaml_entry(item, _YAML_SECTIONS[key], problems)
                if entry is not None:
                    entries.append(entry)
        else:
            problems.append(NoticeProblem(_line(key_node), "unknown_key", N_(
                "Unknown key '{key}'; expected one of: {expected}."),
                {"key": key if key is not None else "?", "expected": "year, holidays, workdays"}))
    return declared, entries, problems


def _yaml_entry(item: yaml.Node, kind: str, problems: list[NoticeProblem]) -> _Entry | None:
    if not isinstance(item, yaml.MappingNode):
        problems.append(_structure(item, N_("Each entry must be a mapping with 'date' and 'name'.")))
        return None
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in item.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key in ("date", "name"):
            fields[key] = value_node
        else:
            problems.append(NoticeProblem(_line(key_node), "unknown_key", N_(
                "Unknown key '{key}'; expected one of: {expected}."),
                {"key": key if key is not None else "?", "expected": "date, name"}))
    if "date" not in fields:
        problems.append(NoticeProblem(_line(item), "missing_field", N_(
            "This entry has no '{field}'."), {"field": "date"}))
        return None
    date_node, name_node = fields["date"], fields.get("name")
    if not isinstance(date_node, yaml.ScalarNode):
        problems.append(_structure(date_node, N_("'{field}' must be a single value."), field="date"))
        return None
    name = ""
    if name_node is not None:
        if not isinstance(name_node, yaml.ScalarNode):
            problems.append(_structure(name_node, N_("'{field}' must be a single value."), field="name"))
            return None
        name = "" if _is_null(name_node) else name_node.value.strip()
    return _Entry(_line(date_node), kind, date_node.value.strip(), name)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _structure(node: yaml.Node, template: str, **params: Any) -> NoticeProblem:
    # Whole-sentence templates (not "{what} must be {expected}") so translators see real text.
    return NoticeProblem(_line(node), "bad_structure", template, params)


def _validate(declared: tuple[int | None, str] | None, entries: list[_Entry],
              problems: list[NoticeProblem]) -> Notice:
    year = None
    if declared is not None:
        line, raw = declared
        if _YEAR_RE.fullmatch(raw):
            year = int(raw)
        else:
            problems.append(NoticeProblem(line, "bad_year", N_(
                "The declared year '{value}' is not a four-digit year."), {"value": raw}))

    if not entries and not problems:
        problems.append(NoticeProblem(None, "empty", N_("The notice contains no holidays or workdays."), {}))

    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    first_line: dict[tuple[str, date], int | None] = {}
    for entry in entries:
        day = _parse_date(entry.raw_date)
        if day is None:
            problems.append(NoticeProblem(entry.line, "bad_date", N_(
                "'{value}' is not a valid date (expected YYYY-MM-DD)."), {"value": entry.raw_date}))
        if entry.kind not in _KINDS:
            problems.append(NoticeProblem(entry.line, "unknown_kind", N_(
                "Unknown kind '{kind}'; expected 'holiday' or 'workday'."), {"kind": entry.kind}))
        if day is None or entry.kind not in _KINDS:
            continue
        if year is None and declared is None:
            year = day.year  # no declaration: the first valid date fixes the year
        if year is not None and day.year != year:
            problems.append(NoticeProblem(entry.line, "wrong_year", N_(
                "{date} is outside the notice year {year}."), {"date": day.isoformat(), "year": year}))
            continue
        if entry.kind == "workday" and day.weekday() < 5:
            problems.append(NoticeProblem(entry.line, "weekday_makeup", N_(
                "Make-up workday {date} is already a weekday (Monday to Friday)."),
                {"date": day.isoformat()}))
            continue
        other = "workday" if entry.kind == "holiday" else "holiday"
        if (entry.kind, day) in first_line:
            template = (N_("Holiday {date} is declared more than once (first on line {first_line}).")
                        if entry.kind == "holiday" else
                        N_("Make-up workday {date} is declared more than once (first on line {first_line})."))
            problems.append(NoticeProblem(entry.line, "duplicate", template,
                                          {"date": day.isoformat(), "first_line": first_line[(entry.kind, day)]}))
            continue
        if (other, day) in first_line:
            problems.append(NoticeProblem(entry.line, "conflict", N_(
                "{date} is declared both as a holiday and as a make-up workday (other on line {first_line})."),
                {"date": day.isoformat(), "first_line": first_line[(other, day)]}))
            continue
        first_line[(entry.kind, day)] = entry.line
        (holidays if entry.kind == "holiday" else workdays)[day] = entry.name

    if problems:
        raise NoticeError(problems)
    assert year is not None  # entries exist and all were valid, so the year is known
    return Notice(year, holidays, workdays)


def _parse_date(raw: str) -> date | None:
    # Strict shape first: date.fromisoformat also accepts "20270101" and week dates.
    if not _DATE_RE.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None  # impossible calendar date such as 2027-02-30; reported as bad_date
