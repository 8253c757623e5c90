"""Checks of the timers, fine rules, incidents and forms sections."""
from __future__ import annotations

from .checker import WORKFLOW_COLUMNS, Checker, check_condition, check_unique, condition_scope
from .problems import N_
from .schema import AmountRange


def check_rules(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    if (m.timers or m.fines or m.forms) and wf is None:
        c.report(("workflow",), "M301", N_("timers, fines and forms need a 'workflow' section"),
                 N_("declare the workflow first"))
        return
    if wf is None:
        return
    _check_timers(c)
    _check_fines(c)
    _check_forms(c)


def _check_event(c: Checker, path: tuple, event) -> None:
    wf = c.model.workflow
    given = [k for k in ("enter", "leave", "transition") if getattr(event, k)]
    if len(given) != 1:
        c.report(path, "M302", N_("an event needs exactly one of enter, leave or transition"),
                 N_("e.g. 'start: {{enter: survey}}'"))
        return
    kind = given[0]
    value = getattr(event, kind)
    if kind == "transition":
        triggers = {t.trigger for t in wf.transitions}
        if value not in triggers:
            c.unknown(path + (kind,), "M303", "transition", value, triggers)
    elif value not in wf.stages:
        c.unknown(path + (kind,), "M202", "stage", value, wf.stages)


def _check_timers(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    scope = condition_scope(m) if wf.entity in m.entities else None
    fields = set(m.entities[wf.entity].fields) | WORKFLOW_COLUMNS if scope else set()
    for key, timer in m.timers.items():
        base = ("timers", key)
        _check_event(c, base + ("start",), timer.start)
        _check_event(c, base + ("stop",), timer.stop)
        for i, stage in enumerate(timer.pause_in):
            if stage not in wf.stages:
                c.unknown(base + ("pause_in", i), "M202", "stage", stage, wf.stages)
        if isinstance(timer.limit, list):
            if not timer.limit or timer.limit[-1].when is not None:
                c.report(base + ("limit",), "M304", N_("the last limit case must have no 'when'"),
                         N_("end the list with a default, e.g. '- days: 7'"))
            for i, case in enumerate(timer.limit):
                if case.when and scope:
                    check_condition(c, base + ("limit", i, "when"), case.when, scope)
        if timer.reason_field and scope and timer.reason_field not in fields:
            c.unknown(base + ("reason_field",), "M204", "field", timer.reason_field, fields)


def _check_fines(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    scope = condition_scope(m) if wf.entity in m.entities else None
    ids: list[str] = []
    if m.assessment is not None:
        for attr in ("decide", "summary", "unit_view"):
            for i, role in enumerate(getattr(m.assessment, attr)):
                if role not in m.roles:
                    c.unknown(("assessment", attr, i), "M203", "role", role, m.roles)
    check_unique(c, ("incidents",), [i.key for i in m.incidents])
    suspension_reasons = {r.key for r in wf.suspension.reasons} if wf.suspension else set()
    incidents = {i.key for i in m.incidents}
    units = {u.key for u in m.units}
    for i, rule in enumerate(m.fines):
        base = ("fines", i)
        if rule.id in ids:
            c.report(base + ("id",), "M401", N_("duplicate fine rule id '{name}'"),
                     N_("each rule needs its own id"), name=rule.id)
        ids.append(rule.id)
        if rule.stage not in wf.stages:
            c.unknown(base + ("stage",), "M202", "stage", rule.stage, wf.stages)
        trig = rule.trigger
        kinds = [k for k, v in (("timer", trig.timer), ("suspension", trig.suspension_reason),
                                ("incident", trig.incident)) if v]
        if len(kinds) != 1:
            c.report(base + ("trigger",), "M402",
                     N_("a fine trigger needs exactly one of timer, suspension_reason or incident"),
                     N_("e.g. 'trigger: {{timer: survey}}'"))
        if trig.timer and trig.timer not in m.timers:
            c.unknown(base + ("trigger", "timer"), "M403", "timer", trig.timer, m.timers)
        if trig.suspension_reason and trig.suspension_reason not in suspension_reasons:
            c.unknown(base + ("trigger", "suspension_reason"), "M404", "suspension reason",
                      trig.suspension_reason, suspension_reasons)
        stages = trig.suspension_stage
        for j, stage in enumerate([stages] if isinstance(stages, str) else stages or []):
            if stage not in wf.stages:
                path = ("trigger", "suspension_stage") + (() if isinstance(stages, str) else (j,))
                c.unknown(base + path, "M202", "stage", stage, wf.stages)
        if trig.incident and trig.incident not in incidents:
            c.unknown(base + ("trigger", "incident"), "M405", "incident", trig.incident, incidents)
        if trig.when and scope:
            check_condition(c, base + ("trigger", "when"), trig.when, scope)
        target = rule.target
        if sum(bool(x) for x in (target.role, target.unit, target.responsible)) != 1:
            c.report(base + ("target",), "M406", N_("a fine target needs exactly one of role, unit or responsible"),
                     N_("e.g. 'target: {{role: clerk}}'"))
        if target.role and target.role not in m.roles:
            c.unknown(base + ("target", "role"), "M203", "role", target.role, m.roles)
        if target.unit and target.unit not in units:
            c.unknown(base + ("target", "unit"), "M407", "unit", target.unit, units)
        if target.responsible and not trig.suspension_reason:
            c.report(base + ("target",), "M406", N_("'responsible' targets only suspension rules"),
                     N_("use a role or a unit for timer and incident rules"))
        amount = rule.amount
        if isinstance(amount, AmountRange) and amount.min > amount.max:
            c.report(base + ("amount",), "M408", N_("amount range min {min} is above max {max}"),
                     N_("swap the two values"), min=amount.min, max=amount.max)


def _check_forms(c: Checker) -> None:
    m = c.model
    wf = m.workflow
    fields = set(m.entities[wf.entity].fields) | WORKFLOW_COLUMNS if wf.entity in m.entities else set()
    for key, form in m.forms.items():
        base = ("forms", key)
        if form.stage and form.stage not in wf.stages:
            c.unknown(base + ("stage",), "M202", "stage", form.stage, wf.stages)
        for i, role in enumerate(form.roles):
            if role not in m.roles:
                c.unknown(base + ("roles", i), "M203", "role", role, m.roles)
        for i, name in enumerate(form.fields):
            if fields and name not in fields:
                c.unknown(base + ("fields", i), "M204", "field", name, fields)
