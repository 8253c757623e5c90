"""What changes between two models, in plain words: `diff(old, new)` lists Change items, `render` prints them.

Each Change carries an English message template (translated when printed), its parameters (labels in both
languages), the stages whose in-flight cases it touches and whether it would strand cases unless the new
model maps them (`migrate:`). Counting the cases is the database's part (app/versions/impact.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .diff_words import (ACTION_WORDS, FIELD_ATTRIBUTES, TYPE_WORDS, Label, amount_words, days_words,
                         limit_cases, target_words)
from .problems import Msg, N_
from .schema import Model

#: What a count means, per change (app/versions/impact.py fills the number).
IN_FLIGHT = N_("{n} application(s) in flight")
STRANDED = N_("{n} application(s) in flight would be stranded: map them under migrate")
HOLDING = N_("{n} record(s) still hold this value: map it under migrate")


@dataclass(frozen=True)
class Change:
    """One difference between two models, as the administrator reads it."""

    kind: str
    template: str
    params: dict = field(default_factory=dict, compare=False, hash=False)
    stages: tuple[str, ...] = ()  # stages whose in-flight cases it touches
    strands: bool = False  # would strand cases unless mapped (migrate:)
    subject: tuple = ()  # machine-readable: ("stage", key), ("timer", key), ("choice", entity, field, value) ...

    def text(self, gettext: Callable[[str], str], english: bool) -> str:
        return gettext(self.template).format(**{k: _word(v, gettext, english) for k, v in self.params.items()})


def _word(value: Any, gettext, english: bool) -> str:
    if isinstance(value, Label):
        return value.en if english else value.zh
    if isinstance(value, Msg):
        return gettext(value.template).format(**{k: _word(v, gettext, english) for k, v in value.params})
    if isinstance(value, (list, tuple)):
        words = [_word(v, gettext, english) for v in value]
        return (", " if english else "、").join(words) if words else gettext(N_("none"))
    if value is None:
        return "—"
    return str(value)


def is_english(gettext: Callable[[str], str]) -> bool:
    """Whether `gettext` is the English one: it leaves this module's own messages untranslated."""
    return gettext(IN_FLIGHT) == IN_FLIGHT


def render(changes: Iterable[Change], gettext: Callable[[str], str], counts: list[int] | None = None,
           english: bool | None = None) -> list[str]:
    """One line per change; with `counts` (one per change), how many cases each touches when any."""
    english = is_english(gettext) if english is None else english
    lines = []
    for i, change in enumerate(changes):
        text = change.text(gettext, english)
        n = counts[i] if counts is not None and i < len(counts) else 0
        if n:
            template = IN_FLIGHT
            if change.strands:
                template = HOLDING if change.kind == "choice_removed" else STRANDED
            text = gettext(N_("{change}, {count}")).format(change=text, count=gettext(template).format(n=n))
        lines.append(text)
    return lines


# ---------------------------------------------------------------------------------------------- diff

def diff(old: Model, new: Model) -> list[Change]:
    """Every difference an administrator should know of, in model order: roles, entities, workflow,
    timers, fines."""
    d = _Differ(old, new)
    d.roles()
    d.entities()
    d.workflow()
    d.timers()
    d.fines()
    return d.changes


def _label(item) -> Label:
    return Label(item.label_zh, item.label_en)


def _sources(t, wf) -> list[str]:
    sources = [t.source] if isinstance(t.source, str) else list(t.source)
    if "*" in sources:
        return [k for k, s in wf.stages.items() if not s.terminal]
    return sources


def _steps(wf) -> dict[tuple[str, str], Any]:
    """(trigger, source stage) -> transition: one per source, so a step from two stages is two."""
    return {(t.trigger, src): t for t in wf.transitions for src in _sources(t, wf)} if wf else {}


def _exits(wf) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {k: set() for k in wf.stages}
    for t in wf.transitions:
        for src in _sources(t, wf):
            if src in out and t.dest in wf.stages:
                out[src].add(t.dest)
    return out


def can_finish(wf) -> set[str]:
    """The stages from which a terminal stage can still be reached by transitions (pure, for stranding)."""
    if wf is None:
        return set()
    out = _exits(wf)
    done = {k for k, s in wf.stages.items() if s.terminal}
    grew = True
    while grew:
        grew = False
        for key, dests in out.items():
            if key not in done and dests & done:
                done.add(key)
                grew = True
    return done


def in_flight_stages(model: Model) -> tuple[str, ...]:
    wf = model.workflow
    return tuple(k for k, s in wf.stages.items() if not s.terminal) if wf else ()


class _Differ:
    def __init__(self, old: Model, new: Model):
        self.old, self.new = old, new
        self.changes: list[Change] = []
        owf, nwf = old.workflow, new.workflow
        self.case_entity = nwf.entity if nwf else (owf.entity if owf else None)
        self.all_stages = in_flight_stages(old)

    def add(self, kind: str, template: str, stages: Iterable[str] = (), strands: bool = False,
            subject: tuple = (), **params) -> None:
        self.changes.append(Change(kind, template, params, tuple(stages), strands, subject))

    def stage_label(self, key: str, model: Model | None = None) -> Label:
        for m in ((model,) if model else (self.new, self.old)):
            if m.workflow and key in m.workflow.stages:
                return _label(m.workflow.stages[key])
        return Label(key, key)

    # -------------------------------------------------------------- roles and permissions
    def roles(self) -> None:
        for key in self.new.roles.keys() - self.old.roles.keys():
            self.add("role_added", N_("Role added: {role}"), subject=("role", key), role=_label(self.new.roles[key]))
        for key in self.old.roles.keys() - self.new.roles.keys():
            self.add("role_removed", N_("Role removed: {role}"), subject=("role", key),
                     role=_label(self.old.roles[key]))

    def permissions(self, key: str, old, new) -> None:
        for role in sorted(set(old.permissions) | set(new.permissions)):
            before, after = old.permissions.get(role, []), new.permissions.get(role, [])
            if set(before) != set(after):
                roles = self.new.roles if role in self.new.roles else self.old.roles
                who = _label(roles[role]) if role in roles else Label(role, role)
                self.add("permission_changed", N_("Permissions of {role} on {entity}: {old} → {new}"),
                         subject=("permission", key, role), role=who, entity=_label(new),
                         old=[ACTION_WORDS[a] for a in before], new=[ACTION_WORDS[a] for a in after])

    # -------------------------------------------------------------- entities, fields, choices
    def entities(self) -> None:
        old, new = self.old.entities, self.new.entities
        for key, entity in new.items():
            if key not in old:
                self.add("entity_added", N_("Entity added: {entity}"), subject=("entity", key), entity=_label(entity))
        for key, entity in old.items():
            if key not in new:
                self.add("entity_removed", N_("Entity removed: {entity} (its table and data are dropped)"),
                         subject=("entity", key), entity=_label(entity))
        for key in (k for k in new if k in old):
            self.fields(key, old[key], new[key])
            self.permissions(key, old[key], new[key])

    def fields(self, key: str, old, new) -> None:
        case = key == self.case_entity
        for name, f in new.fields.items():
            if name not in old.fields:
                self.add("field_added", N_("Field added: {field} ({type})"), subject=("field", key, name),
                         field=_field_label(new, f), type=TYPE_WORDS[f.type])
        for name, f in old.fields.items():
            if name not in new.fields:
                self.add("field_removed", N_("Field removed: {field} (its data is dropped)"),
                         self.all_stages if case else (), subject=("field", key, name), field=_field_label(old, f))
        for name in (n for n in new.fields if n in old.fields):
            self.field(key, new, old.fields[name], new.fields[name], name)

    def field(self, key: str, entity, before, after, name: str) -> None:
        label = _field_label(entity, after)
        for attribute, word in FIELD_ATTRIBUTES.items():
            a, b = getattr(before, attribute), getattr(after, attribute)
            if a == b:
                continue
            if attribute == "type":
                a, b = TYPE_WORDS[a], TYPE_WORDS[b]
            elif isinstance(a, bool) or isinstance(b, bool):
                a, b = (Msg(N_("yes")) if v else Msg(N_("no")) for v in (a, b))
            self.add("field_changed", N_("Field {field}: {attribute} {old} → {new}"),
                     subject=("field", key, name, attribute), field=label, attribute=word, old=a, new=b)
        olds = {c.value: c for c in before.choices or []}
        news = {c.value: c for c in after.choices or []}
        if before.type != "choice" or after.type != "choice":
            return
        for value, choice in news.items():
            if value not in olds:
                self.add("choice_added", N_("Choice added to {field}: {choice}"),
                         subject=("choice", key, name, value), field=label, choice=_label(choice))
        for value, choice in olds.items():
            if value not in news:
                self.add("choice_removed", N_("Choice removed from {field}: {choice}"), strands=True,
                         subject=("choice", key, name, value), field=label, choice=_label(choice))

    # -------------------------------------------------------------- stages and steps
    def workflow(self) -> None:
        owf, nwf = self.old.workflow, self.new.workflow
        if owf is None or nwf is None:
            return
        for key, stage in nwf.stages.items():
            if key not in owf.stages:
                self.add("stage_added", N_("Stage added: {stage}"), subject=("stage", key), stage=_label(stage))
        for key, stage in owf.stages.items():
            if key not in nwf.stages:
                self.add("stage_removed", N_("Stage removed: {stage}"), () if stage.terminal else (key,),
                         strands=not stage.terminal, subject=("stage", key), stage=_label(stage))
        for key in (k for k in nwf.stages if k in owf.stages):
            before, after = owf.stages[key], nwf.stages[key]
            if set(before.roles) != set(after.roles):
                self.add("stage_changed", N_("Stage {stage}: handled by {old} → {new}"), (key,),
                         subject=("stage", key, "roles"), stage=_label(after),
                         old=self.role_labels(before.roles), new=self.role_labels(after.roles))
            if before.terminal != after.terminal:
                template = N_("Stage {stage} now ends the process") if after.terminal else \
                    N_("Stage {stage} no longer ends the process")
                self.add("stage_changed", template, (key,), subject=("stage", key, "terminal"), stage=_label(after))
        self.steps(owf, nwf)

    def role_labels(self, keys) -> list:
        roles = {**self.old.roles, **self.new.roles}
        return [_label(roles[k]) if k in roles else Label(k, k) for k in keys]

    def steps(self, owf, nwf) -> None:
        old, new = _steps(owf), _steps(nwf)
        finishing = can_finish(nwf)
        for (trigger, src), t in new.items():
            if (trigger, src) not in old:
                self.add("transition_added", N_("Step added: {step} ({source} → {dest})"), (src,),
                         subject=("transition", trigger, src), step=_label(t),
                         source=self.stage_label(src), dest=self.stage_label(t.dest))
        for (trigger, src), t in old.items():
            if (trigger, src) in new:
                continue
            # Cases at a stage that stays (and stays open) but can no longer reach an end are stuck.
            stuck = src in nwf.stages and not nwf.stages[src].terminal and src not in finishing
            self.add("transition_removed", N_("Step removed: {step} ({source} → {dest})"),
                     (src,) if src in nwf.stages else (), strands=stuck, subject=("transition", trigger, src),
                     step=_label(t), source=self.stage_label(src, self.old), dest=self.stage_label(t.dest, self.old))
        for (trigger, src), after in new.items():
            before = old.get((trigger, src))
            if before is None:
                continue
            common = dict(step=_label(after), source=self.stage_label(src))
            if before.dest != after.dest:
                self.add("transition_changed", N_("Step {step} ({source}): goes to {old} → {new}"), (src,),
                         subject=("transition", trigger, src, "dest"), old=self.stage_label(before.dest, self.old),
                         new=self.stage_label(after.dest), **common)
            if set(before.roles) != set(after.roles):
                self.add("transition_changed", N_("Step {step} ({source}): taken by {old} → {new}"), (src,),
                         subject=("transition", trigger, src, "roles"), old=self.role_labels(before.roles),
                         new=self.role_labels(after.roles), **common)
            if _conditions(before) != _conditions(after):
                self.add("transition_changed", N_("Step {step} ({source}): conditions {old} → {new}"), (src,),
                         subject=("transition", trigger, src, "conditions"), old=_conditions(before),
                         new=_conditions(after), **common)
            if set(before.required) != set(after.required):
                self.add("transition_changed", N_("Step {step} ({source}): required fields {old} → {new}"), (src,),
                         subject=("transition", trigger, src, "required"), old=self.field_labels(before.required),
                         new=self.field_labels(after.required), **common)

    def field_labels(self, names) -> list:
        entity = self.new.entities.get(self.case_entity) or self.old.entities.get(self.case_entity)
        return [_label(entity.fields[n]) if entity and n in entity.fields else Label(n, n) for n in names]

    # -------------------------------------------------------------- timers
    def timers(self) -> None:
        old, new = self.old.timers, self.new.timers
        for key, timer in new.items():
            if key not in old:
                self.add("timer_added", N_("Time limit added: {timer}"), subject=("timer", key), timer=_label(timer))
        for key, timer in old.items():
            if key not in new:
                self.add("timer_removed", N_("Time limit removed: {timer}"), subject=("timer", key),
                         timer=_label(timer))
        for key in (k for k in new if k in old):
            self.timer(key, old[key], new[key])

    def timer(self, key: str, before, after) -> None:
        label = _label(after)
        olds = limit_cases(before, self.old)
        news = limit_cases(after, self.new)
        for when in list(news) + [w for w in olds if w not in news]:
            days_a = olds[when][0] if when in olds else None
            days_b = news[when][0] if when in news else None
            if days_a == days_b and before.unit == after.unit:
                continue
            case = (news.get(when) or olds.get(when))[1]
            if before.unit == after.unit and days_a is not None and days_b is not None:
                template = N_("{timer}{case}: {old} → {new} working days") if after.unit == "working_days" \
                    else N_("{timer}{case}: {old} → {new} calendar days")
                self.add("limit_changed", template, subject=("timer", key, when), timer=label, case=case,
                         old=days_a, new=days_b)
            else:
                self.add("limit_changed", N_("{timer}{case}: {old} → {new}"), subject=("timer", key, when),
                         timer=label, case=case, old=days_words(days_a, before.unit),
                         new=days_words(days_b, after.unit))
        if (before.start, before.stop, before.due_date, list(before.pause_in)) != \
                (after.start, after.stop, after.due_date, list(after.pause_in)):
            self.add("timer_changed", N_("Time limit {timer}: when it runs or ends changed"),
                     subject=("timer", key, "events"), timer=label)

    # -------------------------------------------------------------- fines
    def fines(self) -> None:
        old = {f.id: f for f in self.old.fines}
        new = {f.id: f for f in self.new.fines}
        for rid, rule in new.items():
            if rid not in old:
                self.add("fine_added", N_("Fine rule added: {rule} {label}, {amount}"), subject=("fine", rid),
                         rule=rid, label=_label(rule), amount=amount_words(rule.amount))
        for rid, rule in old.items():
            if rid not in new:
                self.add("fine_removed", N_("Fine rule removed: {rule} {label}"), subject=("fine", rid),
                         rule=rid, label=_label(rule))
        for rid in (r for r in new if r in old):
            before, after = old[rid], new[rid]
            common = dict(rule=rid, label=_label(after))
            if before.amount != after.amount:
                self.add("fine_amount_changed", N_("Fine {rule} {label}: {old} → {new}"),
                         subject=("fine", rid, "amount"), old=amount_words(before.amount),
                         new=amount_words(after.amount), **common)
            if before.target != after.target:
                self.add("fine_target_changed", N_("Fine {rule} {label}: fined {old} → {new}"),
                         subject=("fine", rid, "target"), old=target_words(before.target, self.old),
                         new=target_words(after.target, self.new), **common)
            if (before.trigger, before.stage, before.sanction, before.excludes) != \
                    (after.trigger, after.stage, after.sanction, after.excludes):
                self.add("fine_changed", N_("Fine {rule} {label}: when it applies changed"),
                         subject=("fine", rid, "trigger"), **common)


def _conditions(t) -> list[str]:
    return [c if isinstance(c, str) else c.if_ for c in t.conditions]


def _field_label(entity, f) -> Label:
    return Label(f"{entity.label_zh}·{f.label_zh}", f"{entity.label_en} · {f.label_en}")
