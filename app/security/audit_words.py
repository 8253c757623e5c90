"""What the action log (操作日志) and the model versions say, in the reader's language: an entry's
details as "key: value" lines (never the JSON kept in the row), who acted (a command-line run as
命令行（root）, not `root@cli` or `model apply`), the channel, and a model apply's schema operations
as a count per kind (never the migration tool's text, which stays for the technical details)."""
from __future__ import annotations

import json
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

from app import i18n

#: The name app/database/apply.py stores as who applied a version run by `flask model apply`.
CLI_APPLY = "model apply"
CLI_SUFFIX = "@cli"

CHANNELS = {"web": lazy_gettext("Web page"), "api": lazy_gettext("API"), "cli": lazy_gettext("Command line")}

#: Detail keys in the order shown, with their labels (the user screen's labels for a user's fields).
KEYS = {
    "version": lazy_gettext("Model version"), "number": lazy_gettext("Version number"),
    "comment": lazy_gettext("Remark"), "applied_by": lazy_gettext("Applied by"),
    "changes": lazy_gettext("Schema changes"),
    "last_name": lazy_gettext("Family name"), "first_name": lazy_gettext("Given name"),
    "username": lazy_gettext("User name"), "email": lazy_gettext("Email"), "work_phone": lazy_gettext("Work phone"),
    "unit": lazy_gettext("Unit"), "roles": lazy_gettext("Roles"), "active": lazy_gettext("Status"),
    "failures": lazy_gettext("Wrong passwords in a row"), "until": lazy_gettext("Locked until"),
    "action": lazy_gettext("Decision"), "amount": lazy_gettext("Amount"), "reason": lazy_gettext("Reason"),
    "count": lazy_gettext("Number of records"), "name": lazy_gettext("Name"),
}
#: Kept in the row, not shown: a model's digest and the internal id of its version row.
HIDDEN = {"digest", "revision"}

#: Decision values of the actions that have them (fine.decide, calendar.edit).
DECISIONS = {
    "confirm": lazy_gettext("Confirmed"), "waive": lazy_gettext("Waived"),
    "holiday": lazy_gettext("Holiday"), "workday": lazy_gettext("Make-up workday"),
    "default": lazy_gettext("Back to the official calendar"),
}
STATUS = {True: lazy_gettext("Enabled"), False: lazy_gettext("Disabled")}

#: Schema operations as app/database/migrate.py writes them, by kind (first match wins).
OPERATIONS = [
    ("create table ", lambda n: ngettext("%(num)d table created", "%(num)d tables created", n)),
    ("drop table ", lambda n: ngettext("%(num)d table dropped", "%(num)d tables dropped", n)),
    ("add column ", lambda n: ngettext("%(num)d field added", "%(num)d fields added", n)),
    ("drop column ", lambda n: ngettext("%(num)d field dropped", "%(num)d fields dropped", n)),
    ("change type of ", lambda n: ngettext("%(num)d field type changed", "%(num)d field types changed", n)),
    ("CreateIndexOp ", lambda n: ngettext("%(num)d index created", "%(num)d indexes created", n)),
    ("DropIndexOp ", lambda n: ngettext("%(num)d index dropped", "%(num)d indexes dropped", n)),
    ("AddConstraintOp ", lambda n: ngettext("%(num)d constraint added", "%(num)d constraints added", n)),
    ("DropConstraintOp ", lambda n: ngettext("%(num)d constraint dropped", "%(num)d constraints dropped", n)),
    ("", lambda n: ngettext("%(num)d other change", "%(num)d other changes", n)),
]


def actor(name: str | None) -> str:
    """Who acted, as a reader knows it: a user as stored (user name and full name); a command-line
    run as 命令行（account）; `model apply` (the bootstrap apply) as 命令行."""
    name = name or ""
    if name == CLI_APPLY:
        return _("Command line")
    if name.endswith(CLI_SUFFIX):
        return _("Command line (%(account)s)", account=name[:-len(CLI_SUFFIX)] or "?")
    return name


def channel(source: str | None) -> str:
    return str(CHANNELS.get(source or "", source or ""))


def _kind(operation: str) -> str:
    return next(prefix for prefix, _words in OPERATIONS if operation.startswith(prefix)).strip()


def schema_counts(operations) -> dict[str, int]:
    """``["create table a", "CreateIndexOp on a", …]`` as ``{"create table": 1, "CreateIndexOp": 1}``:
    what the action log keeps of a model apply (its details stay small however many operations ran)."""
    counts: dict[str, int] = {}
    for op in operations or []:
        if op:
            counts[_kind(op)] = counts.get(_kind(op), 0) + 1
    return counts


def schema_summary(operations) -> str:
    """Schema operations (their text, or schema_counts of them) as "新建表 1 张、新建索引 1 个"; "无"
    when none."""
    counts = operations if isinstance(operations, dict) else schema_counts(operations)
    order = [prefix.strip() for prefix, _words in OPERATIONS]
    shown = sorted((order.index(k) if k in order else len(order) - 1, n) for k, n in counts.items() if n)
    if not shown:
        return _("none")
    return i18n.punctuation()["enum"].join(OPERATIONS[k][1](int(n)) for k, n in shown)


def _value(key: str, value) -> str:
    if key == "changes":
        return schema_summary(value if isinstance(value, (list, dict)) else str(value).splitlines())
    if key == "applied_by":
        return actor(value)
    if key == "active" and isinstance(value, bool):
        return str(STATUS[value])
    if key == "action" and value in DECISIONS:
        return str(DECISIONS[value])
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (list, tuple)):
        return i18n.punctuation()["enum"].join(str(v) for v in value)
    if value is None or value == "":
        return "—"
    return str(value)


def detail_lines(details: str | None) -> list[tuple[str, str]]:
    """(label, value) pairs of an entry's stored details, in KEYS order; a text that is not a JSON
    object (rows written before the log kept dicts, or truncated) as one line of its own."""
    if not details:
        return []
    try:
        data = json.loads(details)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        if details.lstrip().startswith("{"):  # cut at MAX_DETAILS: no longer readable as key and value
            return [(str(KEYS["comment"]), _("(too long to show)"))]
        return [(str(KEYS["comment"]), re.sub(r"\s+", " ", details))]
    order = list(KEYS)
    keys = sorted((k for k in data if k not in HIDDEN), key=lambda k: (order.index(k) if k in order else len(order), k))
    return [(str(KEYS.get(k, k)), _value(k, data[k])) for k in keys]
