"""Checks of what the public progress lookup (办事公开) shows: stage words, unit phones, the lookup block."""
from __future__ import annotations

from .checker import Checker
from .formats import phone_error
from .problems import N_

# Field types that cannot carry a name, an ID number, a phone, an address or a staff note.
PUBLIC_TYPES = ("choice", "date", "datetime", "boolean", "integer", "decimal")
PHONE_FORMATS = ("mobile", "phone")
PAIRS = (("public_zh", "public_en"), ("customer_action_zh", "customer_action_en"))


def check_public(c: Checker) -> None:
    _check_unit_phones(c)
    if c.model.workflow is None:
        return
    _check_stage_words(c)
    if c.model.workflow.public_lookup is not None:
        _check_lookup(c)


def _check_unit_phones(c: Checker) -> None:
    for i, unit in enumerate(c.model.units):
        if unit.phone is not None and phone_error(unit.phone.strip()):
            c.report(("units", i, "phone"), "M261", N_("the phone '{value}' of unit '{name}' is not a phone number"),
                     N_("write a landline with its area code (0376-3123456) or a mobile number"),
                     value=unit.phone, name=unit.key)


def _check_stage_words(c: Checker) -> None:
    for key, stage in c.model.workflow.stages.items():
        for zh, en in PAIRS:
            if bool(getattr(stage, zh)) != bool(getattr(stage, en)):
                given, missing = (zh, en) if getattr(stage, zh) else (en, zh)
                c.report(("workflow", "stages", key, given), "M260",
                         N_("stage '{name}' has '{given}' but no '{missing}'"),
                         N_("the public lookup is bilingual: give both '{given}' and '{missing}'"),
                         key=True, name=key, given=given, missing=missing)


def _resolve(c: Checker, path: tuple, dotted: str):
    """The field a dotted name points at (`customer.phone`), or None after reporting it unknown."""
    m = c.model
    entity = m.entities.get(m.workflow.entity)
    if entity is None:
        return None  # M201 already says so
    parts = dotted.split(".")
    first = entity.fields.get(parts[0])
    if first is None:
        c.unknown(path, "M262", "field", parts[0], entity.fields)
        return None
    if len(parts) == 1:
        return first
    target = m.entities.get(first.to or "") if first.type == "reference" else None
    if target is None or len(parts) != 2 or parts[1] not in target.fields:
        known = [f"{parts[0]}.{name}" for name in target.fields] if target is not None else []
        c.unknown(path, "M262", "field", dotted, known)
        return None
    return target.fields[parts[1]]


def _check_lookup(c: Checker) -> None:
    m = c.model
    lookup = m.workflow.public_lookup
    base = ("workflow", "public_lookup")
    phone = _resolve(c, base + ("phone_field",), lookup.phone_field)
    if phone is not None and (phone.type != "string" or phone.format not in PHONE_FORMATS):
        c.report(base + ("phone_field",), "M263", N_("'{name}' is not a phone field"),
                 N_("name a string field with 'format: mobile' or 'format: phone', e.g. customer.phone"),
                 name=lookup.phone_field)
    for i, name in enumerate(lookup.fields):
        field = _resolve(c, base + ("fields", i), name)
        if field is not None and (field.type not in PUBLIC_TYPES or field.format is not None):
            c.report(base + ("fields", i), "M264", N_("'{name}' may hold personal data and cannot be shown publicly"),
                     N_("only {types} fields may be shown on the public lookup"),
                     name=name, types=", ".join(PUBLIC_TYPES))
    if lookup.contact_unit is not None:
        units = {u.key: u for u in m.units}
        unit = units.get(lookup.contact_unit)
        if unit is None:
            c.unknown(base + ("contact_unit",), "M262", "unit", lookup.contact_unit, units)
        elif not unit.phone:
            c.report(base + ("contact_unit",), "M265", N_("the contact unit '{name}' has no phone"),
                     N_("add 'phone:' to the unit '{name}' under units"), name=lookup.contact_unit)
