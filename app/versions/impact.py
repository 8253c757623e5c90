"""How a model change meets the cases in the database: how many in-flight applications each change touches,
which applications it would strand unless the new model maps them (`migrate:`), and moving the mapped ones
(in the caller's transaction, each with a history row)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa

from app.database.types import UTCDateTime, now_utc
from app.model.diff import Change, can_finish, in_flight_stages

log = logging.getLogger(__name__)

#: The history comment of a case moved by a model version's mapping.
REASON = "模型版本迁移"
KIND = "migration"
TRIGGER = "migrate"
#: Application numbers kept per stranding (the count says how many in all).
SHOWN = 200
_TIMER_ACTIVE = ("running", "paused", "overdue")


@dataclass(frozen=True)
class Stranding:
    """A change that would leave these applications (or records) with nowhere to go."""

    change: Change
    numbers: tuple[str, ...]  # application numbers (records of other entities: "#id"), at most SHOWN
    count: int = 0  # how many in all


def _mapping(mapping) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(stages, values) of a `migrate:` section given as the pydantic model, a dict or None."""
    if mapping is None:
        return {}, {}
    if hasattr(mapping, "model_dump"):
        mapping = mapping.model_dump()
    return dict(mapping.get("stages") or {}), {k: dict(v) for k, v in (mapping.get("values") or {}).items()}


def _cases(model):
    """(table, state column name) of the model's workflow entity, or None."""
    wf = model.workflow if model is not None else None
    if wf is None:
        return None
    return sa.table(wf.entity, sa.column("id"), sa.column("number"), sa.column(wf.state_field),
                    sa.column("suspended_from"), sa.column("lock_version")), wf.state_field


def _exists(session, table: str) -> bool:
    """Whether the table is there (a database not set up yet holds no cases to count or strand)."""
    return sa.inspect(session.connection()).has_table(table)


def _column_of(model, entity: str, name: str) -> str:
    f = model.entities[entity].fields.get(name) if entity in model.entities else None
    return f"{name}_id" if f is not None and f.type == "reference" else name


# ---------------------------------------------------------------------------------------------- counts

def counts(session, core, changes: list[Change]) -> list[int]:
    """How many in-flight applications each change touches (records still holding a removed choice
    value, for that change); 0 where a change touches no case."""
    model = core.model
    cases = _cases(model)
    if cases is None or not changes or not _exists(session, model.workflow.entity):
        return [0] * len(changes)
    table, state = cases
    open_stages = set(in_flight_stages(model))
    by_stage = dict(session.execute(sa.select(table.c[state], sa.func.count()).group_by(table.c[state])).all())
    by_timer: dict[str, int] | None = None
    result = []
    for change in changes:
        subject = change.subject
        if change.kind == "choice_removed":
            result.append(0 if not _exists(session, subject[1]) else _holding(session, model, subject[1], subject[2], subject[3]))
        elif change.kind == "field_removed" and subject[1] == model.workflow.entity:
            result.append(_with_value(session, model, table, state, open_stages, subject[2]))
        elif change.stages:
            result.append(sum(by_stage.get(s, 0) for s in change.stages if s in open_stages))
        elif subject and subject[0] in ("timer", "fine"):
            key = subject[1] if subject[0] == "timer" else _fine_timer(model, subject[1])
            if key is None:
                result.append(0)
                continue
            if by_timer is None:
                by_timer = _running_timers(session) if _exists(session, "sla_timer") else {}
            result.append(by_timer.get(key, 0))
        else:
            result.append(0)
    return result


def _fine_timer(model, rule_id: str) -> str | None:
    rule = next((f for f in model.fines if f.id == rule_id), None)
    return rule.trigger.timer if rule is not None else None


def _running_timers(session) -> dict[str, int]:
    timers = sa.table("sla_timer", sa.column("timer"), sa.column("status"), sa.column("application_id"))
    rows = session.execute(sa.select(timers.c.timer, sa.func.count(sa.distinct(timers.c.application_id)))
                           .where(timers.c.status.in_(_TIMER_ACTIVE)).group_by(timers.c.timer)).all()
    return dict(rows)


def _holding(session, model, entity: str, field: str, value: str) -> int:
    table = sa.table(entity, sa.column(field))
    return session.execute(sa.select(sa.func.count()).select_from(table).where(table.c[field] == value)).scalar()


def _with_value(session, model, table, state, open_stages, field: str) -> int:
    column = sa.column(_column_of(model, model.workflow.entity, field))
    return session.execute(sa.select(sa.func.count()).select_from(table).where(
        table.c[state].in_(open_stages), column.isnot(None))).scalar()


# ---------------------------------------------------------------------------------------------- stranded

def stranded(session, core, old_model, new_model, changes: list[Change], mapping) -> list[Stranding]:
    """The changes that would strand cases the mapping does not move, with the applications concerned
    (empty: safe to apply). A removed stage holding cases, a stage left with no way to an end, a removed
    choice value still stored."""
    stages, values = _mapping(mapping)
    cases = _cases(old_model)
    if cases is not None and not _exists(session, old_model.workflow.entity):
        return []
    result = []
    for change in changes:
        if not change.strands:
            continue
        if change.kind == "choice_removed":
            _kind, entity, field, value = change.subject
            if value in values.get(f"{entity}.{field}", {}) or not _exists(session, entity):
                continue
            numbers, count = _records_holding(session, old_model, entity, field, value)
        else:
            if cases is None:
                continue
            pending = [s for s in change.stages if s not in stages]
            if not pending:
                continue
            table, state = cases
            where = table.c[state].in_(pending)
            count = session.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar()
            numbers = tuple(session.scalars(sa.select(table.c.number).where(where).order_by(table.c.number)
                                            .limit(SHOWN)))
        if count:
            result.append(Stranding(change, tuple(str(n) for n in numbers), count))
    return result


def _records_holding(session, model, entity: str, field: str, value: str) -> tuple[tuple[str, ...], int]:
    wf = model.workflow
    if wf is not None and entity == wf.entity:
        table = sa.table(entity, sa.column("number"), sa.column(field))
        label = table.c.number
    else:
        table = sa.table(entity, sa.column("id"), sa.column(field))
        label = table.c.id
    where = table.c[field] == value
    count = session.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar()
    shown = session.scalars(sa.select(label).where(where).order_by(label).limit(SHOWN))
    return tuple(str(n) if label.name == "number" else f"#{n}" for n in shown), count


# ---------------------------------------------------------------------------------------------- moving

def move_mapped(session, core, old_model, new_model, mapping, *, user=None) -> int:
    """Move the cases of mapped stages to their new stage and rewrite mapped choice values, in the
    caller's transaction; each application moved or rewritten gets a history row (REASON). Returns the
    number of applications moved to another stage. Only stages the new model no longer has, or from
    which it leads nowhere, are moved (the checker refuses mapping a working stage: M504)."""
    stages, values = _mapping(mapping)
    model = new_model if new_model.workflow is not None else old_model
    cases = _cases(model)
    at, who, uid = now_utc(), _who(user), getattr(user, "id", None)
    moved = 0
    if cases is not None and stages:
        table, state = cases
        finishing = can_finish(new_model.workflow)
        for old, new in stages.items():
            if new_model.workflow is None or new not in new_model.workflow.stages or old in finishing:
                log.warning("migrate: stage %s -> %s not moved (target unknown or source still works)", old, new)
                continue
            setting = _setting(model, mapping, new)
            cases_set = sa.table(table.name, *(sa.column(c.name) for c in table.c),
                                 *(sa.column(n) for n in setting if n not in table.c))
            where = cases_set.c[state] == old
            for rows, changes in _set_changes(session, cases_set, where, setting):
                _history(session, cases_set, rows, at, uid, who, old, new, sa.literal(old), changes)
            moved += session.execute(cases_set.update().where(where).values(
                {state: new, "lock_version": cases_set.c.lock_version + 1, **setting})).rowcount or 0
            session.execute(table.update().where(table.c.suspended_from == old).values(suspended_from=new))
    for name, pairs in values.items():
        entity, _sep, field = name.partition(".")
        case = cases is not None and entity == model.workflow.entity
        cols = [sa.column(field), sa.column("id")] + ([sa.column(cases[1]), sa.column("lock_version")] if case else [])
        target = sa.table(entity, *cols)
        for old, new in pairs.items():
            where = target.c[field] == old
            values_set = {field: new}
            if case:  # the applications rewritten say so in their history
                _history(session, target, where, at, uid, who, None, None, target.c[cases[1]],
                         json.dumps({field: [old, new]}, ensure_ascii=False))
                values_set["lock_version"] = target.c.lock_version + 1
            session.execute(target.update().where(where).values(values_set))
    log.info("migrate: %d application(s) moved to mapped stages", moved)
    return moved


def _setting(model, mapping, stage: str) -> dict:
    """Column -> value the mapping sets on the cases it moves into ``stage`` (`migrate: {set: …}`)."""
    if hasattr(mapping, "model_dump"):
        mapping = mapping.model_dump()
    wanted = ((mapping or {}).get("set") or {}).get(stage) or {}
    return {_column_of(model, model.workflow.entity, name): value for name, value in wanted.items()}


def _set_changes(session, table, where, setting: dict):
    """(where, changes JSON) per group of the cases matching ``where`` that hold the same values of the
    columns ``setting`` changes: their history row says before -> after (None: nothing set)."""
    if not setting:
        return [(where, None)]
    names = sorted(setting)
    groups = session.execute(sa.select(*(table.c[n] for n in names)).where(where).distinct()).all()
    out = []
    for values in groups:
        same = sa.and_(where, *((table.c[n] == v) if v is not None else table.c[n].is_(None)
                                for n, v in zip(names, values)))
        changed = {n: [v, setting[n]] for n, v in zip(names, values) if v != setting[n]}
        out.append((same, json.dumps(changed, ensure_ascii=False, default=str) if changed else None))
    return out


def _who(user) -> str:
    """Whom the history names: the user given, else whoever runs the apply (signed-in admin, CLI account)."""
    if user is None:
        from app.security.audit import _actor  # the action log's notion of "who is acting now"

        return _actor(None)[1][:64]
    return (getattr(user, "username", None) or str(user))[:64]


def _history(session, table, where, at, uid, who, old_stage, new_stage, from_expr, changes) -> None:
    """One history row per application matching `where`, written by the database in one statement."""
    history = sa.table("workflow_history", sa.column("application_id"), sa.column("at"), sa.column("user_id"),
                       sa.column("user_name"), sa.column("roles"), sa.column("unit_name"), sa.column("kind"),
                       sa.column("trigger"), sa.column("from_stage"), sa.column("to_stage"), sa.column("comment"),
                       sa.column("changes"))
    to_expr = sa.literal(new_stage) if new_stage is not None else from_expr
    rows = sa.select(table.c.id, sa.literal(at, UTCDateTime()), sa.literal(uid, sa.Integer),
                     sa.literal(who), sa.literal(""), sa.literal(""), sa.literal(KIND), sa.literal(TRIGGER),
                     from_expr, to_expr, sa.literal(REASON), sa.literal(changes, sa.Text)).where(where)
    session.execute(history.insert().from_select(
        ["application_id", "at", "user_id", "user_name", "roles", "unit_name", "kind", "trigger", "from_stage",
         "to_stage", "comment", "changes"], rows))
