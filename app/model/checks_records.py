"""Checks of what keeps the case record closed: the accepting clerk's field, per-stage editable fields,
correction steps and the sub-records of a case (M270-M289)."""
from __future__ import annotations

from . import conditions as cond
from .checker import WORKFLOW_COLUMNS, Checker
from .problems import N_

RESERVED_TRIGGERS = {"suspend", "resume", "cancel", "print", "create", "edit", "accept", "state", "trigger"}


def read_by_rules(model) -> set[str]:
    """Fields of the workflow entity that guards, timer limits or fine conditions read: they may
    change only through a correction step (a generic edit would bypass the rules built on them)."""
    texts: list[str] = []
    wf = model.workflow
    for t in wf.transitions:
        texts += list(t.condition_texts) + list(t.required_when.values())
    if wf.documents is not None:
        texts += [req.when for req in wf.documents.required if req.when]
    for timer in model.timers.values():
        if isinstance(timer.limit, list):
            texts += [case.when for case in timer.limit if case.when]
    for rule in model.fines:
        when = getattr(rule.trigger, "when", None)
        if when:
            texts.append(when)
    names: set[str] = set()
    for text in texts:
        try:
            names |= cond.parse(text).fields()
        except cond.ConditionError:
            continue  # reported by the condition checks
    if wf.documents is not None:
        names.add("customer_type")
    return names


def check_records(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    base = ("workflow",)
    entity = m.entities.get(wf.entity)
    if entity is None:
        return
    protected = WORKFLOW_COLUMNS | {wf.state_field}
    if wf.accepted_by_field is not None:
        field = entity.fields.get(wf.accepted_by_field)
        if field is None:
            c.unknown(base + ("accepted_by_field",), "M270", "field", wf.accepted_by_field, entity.fields)
        elif field.type != "reference" or field.to != "user":
            c.report(base + ("accepted_by_field",), "M271",
                     N_("the accepted-by field '{name}' must be a reference to user"),
                     N_("declare it as 'type: reference, to: user' (the clerk who accepted the case)"),
                     name=wf.accepted_by_field)
    ruled = read_by_rules(m)
    for key, stage in wf.stages.items():
        for i, name in enumerate(stage.editable):
            path = base + ("stages", key, "editable", i)
            if name not in entity.fields or name in protected:
                c.unknown(path, "M272", "field", name, set(entity.fields) - protected)
            elif name in ruled:
                c.report(path, "M273", N_("'{name}' is read by guards, timers or fines and cannot be editable"),
                         N_("change it through a correction step (workflow: corrections:) so that the change "
                            "is recorded with a reason and running deadlines are recomputed"), name=name)
            elif stage.terminal:
                c.report(path, "M274", N_("stage '{stage}' is terminal: its cases are read-only"),
                         N_("remove 'editable' from the terminal stage"), stage=key)
    triggers = {t.trigger for t in wf.transitions}
    seen: set[str] = set()
    for i, corr in enumerate(wf.corrections):
        path = base + ("corrections", i)
        if corr.trigger in triggers or corr.trigger in RESERVED_TRIGGERS or corr.trigger in seen:
            c.report(path + ("trigger",), "M275", N_("the correction trigger '{name}' is already used"),
                     N_("give the correction its own trigger name, e.g. 'correct_{name}'"), name=corr.trigger)
        seen.add(corr.trigger)
        for j, role in enumerate(corr.roles):
            if role not in m.roles:
                c.unknown(path + ("roles", j), "M276", "role", role, m.roles)
        for j, name in enumerate(corr.fields):
            if name not in entity.fields or name in protected or entity.fields[name].type == "file":
                c.unknown(path + ("fields", j), "M277", "field", name, set(entity.fields) - protected)
    for key, rule in wf.records.items():
        path = base + ("records", key)
        child = m.entities.get(key)
        if child is None:
            c.unknown(path, "M278", "entity", key, m.entities, key=True)
            continue
        if not any(f.type == "reference" and f.to == wf.entity for f in child.fields.values()):
            c.report(path, "M279", N_("'{name}' has no reference to '{entity}': it cannot be a record of the case"),
                     N_("add a field 'type: reference, to: {entity}'"), key=True, name=key, entity=wf.entity)
        for j, stage in enumerate(rule.stages or []):
            if stage not in wf.stages:
                c.unknown(path + ("stages", j), "M280", "stage", stage, wf.stages)
        for j, role in enumerate(rule.roles or []):
            if role not in m.roles:
                c.unknown(path + ("roles", j), "M276", "role", role, m.roles)
