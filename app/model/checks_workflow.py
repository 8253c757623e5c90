"""Checks of the workflow section: stages, transitions, guards, reachability."""
from __future__ import annotations

from collections import deque

from .checker import WORKFLOW_COLUMNS, Checker, check_condition, check_unique, condition_scope
from .problems import N_


def transition_sources(transition, stages) -> list[str]:
    sources = [transition.source] if isinstance(transition.source, str) else list(transition.source)
    if "*" in sources:  # every non-terminal stage, also when "*" stands inside a list
        return [key for key, stage in stages.items() if not stage.terminal]
    return sources


def check_guard(c: Checker, path: tuple, entry, scope) -> None:
    """A transition condition: plain text, or `{if, message_zh, message_en}` with both messages (M290)."""
    if isinstance(entry, str):
        check_condition(c, path, entry, scope)
        return
    check_condition(c, path + ("if",), entry.if_, scope)
    if (entry.message_zh is None) != (entry.message_en is None):
        given, missing = ("message_zh", "message_en") if entry.message_en is None else ("message_en", "message_zh")
        c.report(path + (given,), "M290", N_("the condition '{text}' has '{given}' but no '{missing}'"),
                 N_("give the message in both languages, or neither (a readable one is then generated)"),
                 text=entry.if_, given=given, missing=missing)


def check_workflow(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    base = ("workflow",)
    entity = m.entities.get(wf.entity)
    if entity is None:
        c.unknown(base + ("entity",), "M201", "entity", wf.entity, m.entities)
    fields = set(entity.fields) | WORKFLOW_COLUMNS if entity else set()
    if entity and wf.owner_field and wf.owner_field not in entity.fields:
        c.unknown(base + ("owner_field",), "M204", "field", wf.owner_field, entity.fields)
    elif entity and wf.owner_field and entity.fields[wf.owner_field].to != "user":
        c.report(base + ("owner_field",), "M213", N_("the owner field '{name}' must be a reference to user"),
                 N_("declare it as 'type: reference, to: user'"), name=wf.owner_field)
    if wf.owner_role and wf.owner_role not in m.roles:
        c.unknown(base + ("owner_role",), "M203", "role", wf.owner_role, m.roles)
    initial = [k for k, s in wf.stages.items() if s.initial]
    if len(initial) != 1:
        c.report(base + ("stages",), "M209", N_("exactly one stage must be 'initial: true', found {count}"),
                 N_("mark the stage where applications start"), count=len(initial))
    for key, stage in wf.stages.items():
        for i, role in enumerate(stage.roles):
            if role not in m.roles:
                c.unknown(base + ("stages", key, "roles", i), "M203", "role", role, m.roles)
        for i, name in enumerate(stage.fields):
            if entity and name not in fields:
                c.unknown(base + ("stages", key, "fields", i), "M204", "field", name, fields)
    scope = condition_scope(m) if entity else None
    out: dict[str, set[str]] = {k: set() for k in wf.stages}
    declared: set[tuple[str, str]] = set()
    # Names the state machine (or suspend/resume/cancel) already uses on the application.
    reserved = {"state", "trigger", "may_trigger", "suspend", "resume", "cancel"} | {f"is_{k}" for k in wf.stages}
    for i, t in enumerate(wf.transitions):
        path = base + ("transitions", i)
        if t.trigger in reserved or t.trigger.startswith(("may_", "to_")):
            c.report(path + ("trigger",), "M215", N_("'{name}' cannot be a trigger name"),
                     N_("the workflow engine uses it; choose another, e.g. '{name}_step'"), name=t.trigger)
        for src in transition_sources(t, wf.stages):
            if (t.trigger, src) in declared:
                c.report(path + ("trigger",), "M214", N_("trigger '{name}' is declared twice from stage '{stage}'"),
                         N_("give the second transition another trigger, or merge their conditions"),
                         name=t.trigger, stage=src)
            declared.add((t.trigger, src))
        protected = WORKFLOW_COLUMNS | {wf.state_field}
        for j, name in enumerate(list(t.fields) + list(t.set)):
            if name in protected:
                c.report(path + ("fields",), "M216", N_("'{name}' is kept by the workflow engine"),
                         N_("remove it from the transition's fields and set values"), name=name)
        sources = [t.source] if isinstance(t.source, str) else t.source
        for j, src in enumerate(sources):
            if src != "*" and src not in wf.stages:
                c.unknown(path + (("source", j) if isinstance(t.source, list) else ("source",)),
                          "M202", "stage", src, wf.stages)
        if t.dest not in wf.stages:
            c.unknown(path + ("dest",), "M202", "stage", t.dest, wf.stages)
        for j, role in enumerate(t.roles):
            if role not in m.roles:
                c.unknown(path + ("roles", j), "M203", "role", role, m.roles)
        for name in t.set:
            if entity and name not in fields:
                c.unknown(path + ("set", name), "M204", "field", name, fields, key=True)
        for attr in ("fields", "required"):
            for j, name in enumerate(getattr(t, attr)):
                if entity and name not in fields:
                    c.unknown(path + (attr, j), "M204", "field", name, fields)
        if scope:
            for j, entry in enumerate(t.conditions):
                check_guard(c, path + ("conditions", j), entry, scope)
        for src in transition_sources(t, wf.stages):
            if src in out and t.dest in wf.stages:
                out[src].add(t.dest)
    for block in ("suspension", "cancellation"):
        section = getattr(wf, block)
        if section is None:
            continue
        for j, role in enumerate(section.roles):
            if role not in m.roles:
                c.unknown(base + (block, "roles", j), "M203", "role", role, m.roles)
        check_unique(c, base + (block, "reasons"), [r.key for r in section.reasons])
    if wf.cancellation is not None:
        if wf.cancellation.stage not in wf.stages:
            c.unknown(base + ("cancellation", "stage"), "M202", "stage", wf.cancellation.stage, wf.stages)
        elif not wf.stages[wf.cancellation.stage].terminal:
            c.report(base + ("cancellation", "stage"), "M206", N_("the cancellation stage '{name}' must be terminal"),
                     N_("add 'terminal: true' to it"), name=wf.cancellation.stage)
        else:
            for src, stage in wf.stages.items():
                if not stage.terminal:
                    out[src].add(wf.cancellation.stage)
    _check_documents(c, entity)
    _check_reachability(c, initial, out)


def _check_documents(c: Checker, entity) -> None:
    m = c.model
    docs = m.workflow.documents
    if docs is None:
        return
    base = ("workflow", "documents")
    doc_entity = m.entities.get(docs.entity)
    if doc_entity is None:
        c.unknown(base + ("entity",), "M201", "entity", docs.entity, m.entities)
        return
    kinds: set[str] = set()
    for attr in ("kind_field", "received_field"):
        name = getattr(docs, attr)
        if name not in doc_entity.fields:
            c.unknown(base + (attr,), "M204", "field", name, doc_entity.fields)
        elif attr == "kind_field":
            kinds = {ch.value for ch in doc_entity.fields[name].choices or []}
    type_field = entity.fields.get("customer_type") if entity else None
    allowed = {ch.value for ch in (type_field.choices or [])} if type_field else set()
    for ctype, required in docs.by_customer_type.items():
        if ctype not in allowed:
            c.unknown(base + ("by_customer_type", ctype), "M211", "customer type", ctype, allowed, key=True)
        for j, kind in enumerate(required):
            if kinds and kind not in kinds:
                c.unknown(base + ("by_customer_type", ctype, j), "M211", "document kind", kind, kinds)


def _check_reachability(c: Checker, initial: list[str], out: dict[str, set[str]]) -> None:
    wf = c.model.workflow
    if len(initial) == 1:
        seen = {initial[0]}
        queue = deque(initial)
        while queue:
            for nxt in out[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        for key in wf.stages:
            if key not in seen:
                c.report(("workflow", "stages", key), "M205", N_("no transition leads to stage '{name}'"),
                         N_("add a transition with 'dest: {name}' or remove the stage"), key=True, name=key)
    for key, stage in wf.stages.items():
        if not stage.terminal and not out[key]:
            c.report(("workflow", "stages", key), "M206", N_("stage '{name}' is not terminal and has no way out"),
                     N_("add a transition from it or mark it 'terminal: true'"), key=True, name=key)
        if stage.terminal and out[key]:
            c.report(("workflow", "stages", key), "M206", N_("terminal stage '{name}' has transitions out"),
                     N_("remove 'terminal: true' or the transitions leaving it"), key=True, name=key)
