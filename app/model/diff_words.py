"""The words the model diff uses for types, actions, amounts, limits and whom a fine targets (app/model/diff.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .problems import Msg, N_


@dataclass(frozen=True)
class Label:
    """A name from the model in both languages; the diff prints the one of its language."""

    zh: str
    en: str


TYPE_WORDS = {
    "string": Msg(N_("short text")), "text": Msg(N_("long text")), "integer": Msg(N_("whole number")),
    "decimal": Msg(N_("decimal number")), "date": Msg(N_("date")), "datetime": Msg(N_("date and time")),
    "boolean": Msg(N_("yes/no")), "choice": Msg(N_("choice")), "reference": Msg(N_("reference")),
    "file": Msg(N_("file")),
}

ACTION_WORDS = {
    "list": Msg(N_("see the list")), "show": Msg(N_("see a record")), "add": Msg(N_("add records")),
    "edit": Msg(N_("edit records")), "delete": Msg(N_("delete records")),
}

#: Field attributes compared, with their names (choices are compared value by value).
FIELD_ATTRIBUTES = {
    "label_zh": Msg(N_("Chinese name")), "label_en": Msg(N_("English name")), "type": Msg(N_("type")),
    "required": Msg(N_("required")), "unique": Msg(N_("unique")), "max_length": Msg(N_("maximum length")),
    "digits": Msg(N_("digits")), "places": Msg(N_("decimal places")), "min": Msg(N_("minimum")),
    "max": Msg(N_("maximum")), "to": Msg(N_("refers to")), "private": Msg(N_("personal data")),
}

_EQUALS = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*==\s*([a-z][a-z0-9_]*)\s*$")


def number(value: Decimal | int) -> str:
    """50, 0.5, 100 — no trailing zeros, no exponent."""
    text = format(Decimal(value).normalize(), "f")
    return text


def amount_words(amount) -> Msg:
    if isinstance(amount, (Decimal, int)):
        return Msg(N_("{n} yuan"), (("n", number(amount)),))
    if amount.max is None:
        return Msg(N_("at least {min} yuan, set by the auditor"), (("min", number(amount.min)),))
    return Msg(N_("{min}–{max} yuan, set by the auditor"), (("min", number(amount.min)), ("max", number(amount.max))))


def days_words(days: int | None, unit: str) -> Msg | None:
    if days is None:
        return None
    if unit == "calendar_days":
        return Msg(N_("{n} calendar days"), (("n", days),))
    return Msg(N_("{n} working days"), (("n", days),))


def case_label(when: str | None, several: bool, model) -> Label:
    """How a limit case is named after its timer: （居民） for `customer_type == residential`,
    （其他） for the default of several, nothing for a single limit."""
    if when is None:
        return Label("（其他）", " (otherwise)") if several else Label("", "")
    match = _EQUALS.match(when)
    wf = model.workflow
    entity = model.entities.get(wf.entity) if wf else None
    if match and entity is not None and match.group(1) in entity.fields:
        for choice in entity.fields[match.group(1)].choices or []:
            if choice.value == match.group(2):
                return Label(f"（{choice.label_zh}）", f" ({choice.label_en})")
    return Label(f"（{when}）", f" ({when})")


def limit_cases(timer, model) -> dict[str | None, tuple[int, Label]]:
    """A timer's limit by its condition (None: the default): {when: (days, how the case is named)}."""
    limit = timer.limit
    if limit is None:
        return {}
    if isinstance(limit, int):
        return {None: (limit, Label("", ""))}
    several = len(limit) > 1
    return {case.when: (case.days, case_label(case.when, several, model)) for case in limit}


def target_words(target, model) -> Any:
    """Whom a fine rule fines: a role (and which of its people), a unit, or the person responsible."""
    if target.responsible:
        return Msg(N_("the person responsible"))
    if target.role:
        role = model.roles.get(target.role)
        name = Label(role.label_zh, role.label_en) if role else Label(target.role, target.role)
        if target.field:
            wf = model.workflow
            entity = model.entities.get(wf.entity) if wf else None
            f = entity.fields.get(target.field) if entity else None
            what = Label(f.label_zh, f.label_en) if f else Label(target.field, target.field)
            return Msg(N_("{role} ({field})"), (("role", name), ("field", what)))
        return name
    if isinstance(target.unit, str):
        unit = next((u for u in model.units if u.key == target.unit), None)
        return Label(unit.name_zh, unit.name_en) if unit else Label(target.unit, target.unit)
    if target.unit is not None:
        return Msg(N_("the unit found for each case"))
    return None
