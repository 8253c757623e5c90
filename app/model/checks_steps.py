"""Checks of the steps as the regulation words them: joint sign-offs, fields required on a condition,
document requirements with conditions and stages (M230-M259), timers in calendar days or with a
due date taken from the data (M330-M349)."""
from __future__ import annotations

from . import conditions as cond
from .checker import WORKFLOW_COLUMNS, Checker, check_condition, condition_scope
from .checks_workflow import transition_sources
from .problems import N_

DATE_TYPES = ("date", "datetime")


def check_steps(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    if wf is None or wf.entity not in m.entities:
        return  # M201 / M301 already say so
    _check_transitions(c)
    _check_document_rules(c)
    _check_timers(c)


def _check_transitions(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    entity = m.entities[wf.entity]
    fields = set(entity.fields) | WORKFLOW_COLUMNS
    units = {u.key for u in m.units}
    scope = condition_scope(m)
    for i, t in enumerate(wf.transitions):
        path = ("workflow", "transitions", i)
        seen: list[str] = []
        for j, party in enumerate(t.signoffs):
            where = path + ("signoffs", j)
            if bool(party.unit) == bool(party.role):
                c.report(where, "M230", N_("a sign-off names exactly one of unit or role"),
                         N_("e.g. 'signoffs: [{{unit: billing_center}}, {{role: auditor}}]'"))
                continue
            if party.unit and party.unit not in units:
                c.unknown(where + ("unit",), "M231", "unit", party.unit, units)
            if party.role and party.role not in m.roles:
                c.unknown(where + ("role",), "M203", "role", party.role, m.roles)
            name = f"unit:{party.unit}" if party.unit else f"role:{party.role}"
            if name in seen:
                c.report(where, "M232", N_("'{name}' signs this step off twice"),
                         N_("list each unit or role once"), name=party.unit or party.role)
            seen.append(name)
        for name, text in t.required_when.items():
            where = path + ("required_when", name)
            if name not in fields:
                c.unknown(where, "M204", "field", name, fields, key=True)
            elif name in t.required:
                c.report(where, "M235", N_("'{name}' is always required by this step; its condition never matters"),
                         N_("remove it from 'required' or from 'required_when'"), key=True, name=name)
            check_condition(c, where, text, scope)


def _check_document_rules(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    docs = wf.documents
    doc_entity = m.entities.get(docs.entity) if docs is not None else None
    if doc_entity is None:
        return  # no documents, or M201 already says so
    kind_field = doc_entity.fields.get(docs.kind_field)
    kinds = {ch.value for ch in (kind_field.choices or [])} if kind_field else set()
    fields_only = (condition_scope(m)[0], {}, {})  # judged on the application record alone
    checked = {src for t in wf.transitions if any(_calls(text, "documents_complete") for text in t.condition_texts)
               for src in transition_sources(t, wf.stages)}
    initial = next((k for k, s in wf.stages.items() if s.initial), None)
    seen: list[tuple] = []
    for i, req in enumerate(docs.required):
        path = ("workflow", "documents", "required", i)
        if kinds and req.kind not in kinds:
            c.unknown(path + ("kind",), "M211", "document kind", req.kind, kinds)
        stage = req.stage or initial
        if req.stage is not None and req.stage not in wf.stages:
            c.unknown(path + ("stage",), "M202", "stage", req.stage, wf.stages)
        elif stage is not None and stage not in checked:
            _unenforced(c, path + (("stage",) if req.stage else ()), stage)
        if req.when:
            check_condition(c, path + ("when",), req.when, fields_only)
        if (req.kind, stage, req.when) in seen:
            c.report(path, "M241", N_("document '{name}' is required twice at stage '{stage}'"),
                     N_("merge the two entries (join their conditions with 'or')"), name=req.kind, stage=stage)
        seen.append((req.kind, stage, req.when))


def _calls(text: str, function: str) -> bool:
    try:
        return any(name == function for name, _arg in cond.parse(text).functions())
    except cond.ConditionError:
        return False  # reported by the condition checks


def _unenforced(c: Checker, path: tuple, stage: str) -> None:
    c.report(path, "M240", N_("documents are required at stage '{stage}', but no step leaving it checks them"),
             N_("add the condition \"documents_complete()\" to a transition from '{stage}'"), stage=stage)


def _check_timers(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    entity = m.entities[wf.entity]
    for key, timer in m.timers.items():
        path = ("timers", key)
        due = timer.due_date
        if (timer.limit is None) == (due is None):
            c.report(path, "M330", N_("timer '{name}' needs exactly one of 'limit' or 'due_date'"),
                     N_("a limit in days ('limit: 3') or a date from the data ('due_date: {{field: ...}}')"),
                     key=True, name=key)
        if due is None:
            continue
        given = [k for k in ("unit", "pause_in") if k in timer.model_fields_set]
        if given:
            c.report(path + (given[0],), "M334", N_("'{name}' has no meaning for a timer with a due date"),
                     N_("a date set in the data neither counts days nor pauses: remove '{name}'"),
                     key=True, name=given[0])
        fields = entity.fields
        if due.collection is not None:
            target = m.entities.get(due.collection)
            if target is None or not any(f.type == "reference" and f.to == wf.entity for f in target.fields.values()):
                linked = [k for k, e in m.entities.items()
                          if any(f.type == "reference" and f.to == wf.entity for f in e.fields.values())]
                c.unknown(path + ("due_date", "collection"), "M332", "collection", due.collection, linked)
                continue
            fields = target.fields
        elif due.when is not None:
            c.report(path + ("due_date", "when"), "M333", N_("'when' picks rows of a collection; this due date has none"),
                     N_("add 'collection:' (e.g. inspection_defect) or remove 'when'"), key=True)
        if due.field not in fields:
            c.unknown(path + ("due_date", "field"), "M204", "field", due.field, fields)
        elif fields[due.field].type not in DATE_TYPES:
            c.report(path + ("due_date", "field"), "M331", N_("the due date field '{name}' is not a date"),
                     N_("name a field of type date or datetime"), name=due.field)
        if due.collection is not None and due.when:
            infos = {n: cond.FieldInfo(f.type, tuple(ch.value for ch in f.choices or []) or None)
                     for n, f in fields.items()}
            check_condition(c, path + ("due_date", "when"), due.when, (infos, {}, {}))
