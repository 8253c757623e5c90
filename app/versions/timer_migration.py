"""Timers of in-flight applications when a model version is applied (in the apply's transaction).

The rule, as a bureau reads it:
- a timer the new model still has keeps running with its due date (issue 14: "timers already running keep
  their due dates"), also for a case a mapping moved to another stage;
- a timer the new model no longer has, or whose stop event can no longer happen from the stage the case
  now stands in (its stop stage was removed, or lies behind the case), is closed: stopped as "cancelled",
  without a breach or a fine for the time after the apply, and the application's history says so
  ("模型版本迁移：时限 X 已不再适用");
- a breach already recorded stays recorded, and fines already proposed or confirmed keep their amounts
  (nothing here touches fines).
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from app.database.types import UTCDateTime, now_utc
from app.model.diff import _exits, _sources

log = logging.getLogger(__name__)

#: The history comment of a closed timer ({label}: the timer's Chinese label).
NOTE = "模型版本迁移：时限 {label} 已不再适用"
KIND = "migration"
TRIGGER = "migrate"
#: Timer statuses still waiting for their stop event.
OPEN = ("running", "paused", "overdue")
#: Steps every open stage has without a transition in the model (app/workflow/decision.py).
PSEUDO = ("suspend", "resume", "cancel")


def _reach(wf, stage: str) -> set[str]:
    """The stages reachable from ``stage`` in one step or more."""
    out = _exits(wf)
    seen: set[str] = set()
    todo = list(out.get(stage, ()))
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo.extend(out.get(key, ()))
    return seen


def can_stop(wf, stop, stage: str) -> bool:
    """Whether a timer with stop event ``stop`` can still be stopped by a step of a case at ``stage``."""
    ahead = _reach(wf, stage)
    if stop.transition:
        if stop.transition in PSEUDO:
            return True
        return any(src == stage or src in ahead for t in wf.transitions if t.trigger == stop.transition
                   for src in _sources(t, wf))
    if stop.leave:
        return stop.leave == stage or stop.leave in ahead
    if stop.enter:
        # Entering a terminal stage ends every timer anyway (cancelled, as ever).
        return stop.enter in ahead or (stop.enter in wf.stages and wf.stages[stop.enter].terminal)
    return True


def close_timers(session, old_model, new_model, *, who: str, uid: int | None = None, at=None) -> int:
    """Close the open timers of in-flight applications that no longer apply under ``new_model`` (see the
    module's rule); each application gets one history row per timer closed. Returns the timers closed.
    Run after the mapped cases were moved: the stage that counts is the one the case stands in now."""
    wf = new_model.workflow
    if wf is None or old_model is None:
        return 0
    connection = session.connection()
    inspector = sa.inspect(connection)
    if not inspector.has_table("sla_timer") or not inspector.has_table(wf.entity):
        return 0
    at = at or now_utc()
    cases = sa.table(wf.entity, sa.column("id"), sa.column(wf.state_field))
    timers = sa.table("sla_timer", sa.column("application_id"), sa.column("timer"), sa.column("status"),
                      sa.column("stopped_at"))
    state = cases.c[wf.state_field]
    pairs = session.execute(sa.select(state, timers.c.timer).distinct().select_from(
        timers.join(cases, cases.c.id == timers.c.application_id)).where(timers.c.status.in_(OPEN))).all()
    closed = 0
    for stage, key in sorted(pairs):
        spec = new_model.timers.get(key)
        in_flight = stage in wf.stages and not wf.stages[stage].terminal
        if spec is not None and (not in_flight or can_stop(wf, spec.stop, stage)):
            continue
        if spec is None and stage in wf.stages and wf.stages[stage].terminal:
            continue  # an ended case's timers are not this apply's business
        label = (spec or old_model.timers.get(key))
        label = label.label_zh if label is not None else key
        owning = sa.select(timers.c.application_id).where(timers.c.timer == key, timers.c.status.in_(OPEN))
        where = sa.and_(state == stage, cases.c.id.in_(owning))
        _note(session, cases, where, at, uid, who, stage, NOTE.format(label=label))
        closed += session.execute(timers.update().where(
            timers.c.timer == key, timers.c.status.in_(OPEN),
            timers.c.application_id.in_(sa.select(cases.c.id).where(state == stage))).values(
            status="cancelled", stopped_at=sa.literal(at, UTCDateTime()))).rowcount or 0
        log.info("migrate: timer %s closed at stage %s (%s)", key, stage,
                 "removed from the model" if spec is None else "its stop can no longer happen")
    return closed


def _note(session, table, where, at, uid, who, stage, comment) -> None:
    """One history row per application matching ``where``, written by the database in one statement."""
    history = sa.table("workflow_history", sa.column("application_id"), sa.column("at"), sa.column("user_id"),
                       sa.column("user_name"), sa.column("roles"), sa.column("unit_name"), sa.column("kind"),
                       sa.column("trigger"), sa.column("from_stage"), sa.column("to_stage"), sa.column("comment"))
    rows = sa.select(table.c.id, sa.literal(at, UTCDateTime()), sa.literal(uid, sa.Integer), sa.literal(who),
                     sa.literal(""), sa.literal(""), sa.literal(KIND), sa.literal(TRIGGER), sa.literal(stage),
                     sa.literal(stage), sa.literal(comment)).where(where)
    session.execute(history.insert().from_select(
        ["application_id", "at", "user_id", "user_name", "roles", "unit_name", "kind", "trigger", "from_stage",
         "to_stage", "comment"], rows))
