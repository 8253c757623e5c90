"""Checks of the timers, fine rules, incidents and forms sections."""
from __future__ import annotations

from .checker import WORKFLOW_COLUMNS, Checker, check_condition, check_unique, condition_scope
from .problems import N_
from .fine_stages import expand_range, range_shape_ok
from .checks_workflow import transition_sources
from .schema import AmountRange, StageRange, UnitBySignoff


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
        if trig.incident and trig.incident not in incidents:
            c.unknown(base + ("trigger", "incident"), "M405", "incident", trig.incident, incidents)
        _check_trigger_keys(c, base + ("trigger",), trig, kinds)
        _check_stage_set(c, base + ("trigger", "suspension_stage"), trig.suspension_stage)
        _check_stage_set(c, base + ("trigger", "at_stage"), trig.at_stage)
        if trig.judged_at is not None:
            _check_event(c, base + ("trigger", "judged_at"), trig.judged_at)
        if trig.when and scope:
            check_condition(c, base + ("trigger", "when"), trig.when, scope)
        _check_target(c, base, rule, kinds)
        amount = rule.amount
        if isinstance(amount, AmountRange) and amount.max is not None and amount.min > amount.max:
            c.report(base + ("amount",), "M408", N_("amount range min {min} is above max {max}"),
                     N_("swap the two values"), min=amount.min, max=amount.max)
    known = {rule.id for rule in m.fines}
    for i, rule in enumerate(m.fines):
        for j, other in enumerate(rule.excludes):
            path = ("fines", i, "excludes", j)
            if other == rule.id:
                c.report(path, "M425", N_("rule '{name}' excludes itself"),
                         N_("list the other rules it must never be proposed together with"), name=other)
            elif other not in known:
                c.unknown(path, "M424", "fine rule", other, known)


# Trigger keys that only one kind of trigger reads: written on another kind they would be ignored.
_KEY_KINDS = {"at_stage": "timer", "judged_at": "timer", "suspension_stage": "suspension"}


def _check_trigger_keys(c: Checker, path: tuple, trig, kinds: list[str]) -> None:
    if len(kinds) != 1:
        return
    for key, kind in _KEY_KINDS.items():
        if getattr(trig, key) is not None and kinds[0] != kind:
            c.report(path + (key,), "M422", N_("'{name}' belongs to {kind} triggers, not to this {actual} trigger"),
                     N_("remove it, or make the rule a {kind} rule"), name=key, kind=kind, actual=kinds[0])
    if trig.when and kinds[0] == "incident":
        c.report(path + ("when",), "M422", N_("'{name}' belongs to {kind} triggers, not to this {actual} trigger"),
                 N_("an incident is judged by the auditor who records it"), name="when",
                 kind="timer / suspension", actual="incident")


def _check_stage_set(c: Checker, path: tuple, stage_set) -> None:
    wf = c.model.workflow
    if stage_set is None:
        return
    if isinstance(stage_set, StageRange):
        if not range_shape_ok(stage_set):
            c.report(path, "M420", N_("a stage range needs 'after' or 'from', and/or 'before' or 'until' "
                                      "(at most one of each)"),
                     N_("e.g. '{{after: site_survey}}' or '{{after: site_survey, before: plan_reply}}'"))
            return
        unknown = False
        for key in ("after", "from", "before", "until"):
            name = getattr(stage_set, "from_" if key == "from" else key)
            if name and name not in wf.stages:
                c.unknown(path + (key,), "M202", "stage", name, wf.stages)
                unknown = True
        if not unknown and not expand_range(stage_set, wf):
            bounds = ", ".join(f"{k}: {v}" for k, v in stage_set.model_dump(by_alias=True).items() if v)
            c.report(path, "M421", N_("the stage range {{{range}}} contains no stage"),
                     N_("'after X' counts the stages declared after X under workflow.stages that "
                        "a transition path from X reaches"), range=bounds)
        return
    names = [stage_set] if isinstance(stage_set, str) else stage_set
    for j, stage in enumerate(names):
        if stage not in wf.stages:
            c.unknown(path + (() if isinstance(stage_set, str) else (j,)), "M202", "stage", stage, wf.stages)


def _reference_to(c: Checker, path: tuple, name: str, allowed: tuple[str, ...]) -> None:
    """`name` must be a reference field of the workflow entity to one of `allowed` (user, unit)."""
    m = c.model
    entity = m.entities.get(m.workflow.entity)
    if entity is None:
        return
    spec = entity.fields.get(name)
    if spec is None:
        c.unknown(path, "M204", "field", name, entity.fields)
    elif spec.type != "reference" or spec.to not in allowed:
        c.report(path, "M427", N_("field '{name}' must be a reference to {allowed}"),
                 N_("name a field declared as 'type: reference, to: {first}'"), name=name,
                 allowed=" / ".join(allowed), first=allowed[0])


def _check_unsigned(c: Checker, path: tuple, stage: str, trigger: str) -> None:
    """`{unsigned: approve_plan}` at a stage: a step from that stage that units sign off."""
    wf = c.model.workflow
    triggers = {t.trigger for t in wf.transitions}
    if trigger not in triggers:
        c.unknown(path, "M303", "transition", trigger, triggers)
        return
    specs = [t for t in wf.transitions if t.trigger == trigger and stage in transition_sources(t, wf.stages)]
    if stage in wf.stages and not any(p.unit for t in specs for p in t.signoffs):
        c.report(path, "M430", N_("step '{name}' has no unit sign-offs at stage '{stage}'"),
                 N_("name a step leaving '{stage}' whose 'signoffs:' list units"), name=trigger, stage=stage)


def _check_target(c: Checker, base: tuple, rule, kinds: list[str]) -> None:
    m = c.model
    units = {u.key for u in m.units}
    target = rule.target
    path = base + ("target",)
    if sum(bool(x) for x in (target.role or target.field, target.unit, target.responsible)) != 1:
        c.report(path, "M406", N_("a fine target needs exactly one of role, unit or responsible"),
                 N_("e.g. 'target: {{role: clerk}}'"))
    if target.role and target.role not in m.roles:
        c.unknown(path + ("role",), "M203", "role", target.role, m.roles)
    if target.field:
        _reference_to(c, path + ("field",), target.field, ("user",))
    if target.responsible and kinds and kinds != ["suspension"]:
        c.report(path, "M406", N_("'responsible' targets only suspension rules"),
                 N_("use a role or a unit for timer and incident rules"))
    if kinds == ["incident"] and (target.unit or target.responsible):
        c.report(path, "M429", N_("an incident rule fines the person the auditor names: its target is a role"),
                 N_("e.g. 'target: {{role: clerk}}'"))
    if rule.sanction and target.unit:
        c.report(base + ("sanction",), "M428", N_("sanction '{name}' applies to a person, but this rule fines a unit"),
                 N_("remove the sanction, or target a role"), name=rule.sanction)
    unit = target.unit
    if isinstance(unit, str):
        if unit not in units:
            c.unknown(path + ("unit",), "M407", "unit", unit, units)
        return
    if unit is None:
        return
    upath = path + ("unit",)
    if (unit.by_stage is None) == (unit.field is None):
        c.report(upath, "M426", N_("a unit target needs exactly one of 'by_stage' or 'field'"),
                 N_("e.g. 'unit: {{by_stage: {{plan_drafting: service_center}}}}'"))
    if unit.field:
        _reference_to(c, upath + ("field",), unit.field, ("unit", "user"))
    for stage, value in (unit.by_stage or {}).items():
        if stage not in m.workflow.stages:
            c.unknown(upath + ("by_stage", stage), "M202", "stage", stage, m.workflow.stages, key=True)
        if isinstance(value, str) and value not in units:
            c.unknown(upath + ("by_stage", stage), "M407", "unit", value, units)
        elif isinstance(value, UnitBySignoff):
            _check_unsigned(c, upath + ("by_stage", stage, "unsigned"), stage, value.unsigned)
        elif not isinstance(value, str):
            _reference_to(c, upath + ("by_stage", stage, "field"), value.field, ("unit", "user"))
    for j, key in enumerate(unit.among):
        if key not in units:
            c.unknown(upath + ("among", j), "M407", "unit", key, units)


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
