"""The workbench's figures (工作台): how much of a user's to-do is overdue or due soon, a unit head's
unit (deadlines and fines), the fines waiting for a decision, the admin's calendar warning.

Count queries only: nothing here loads the rows it counts (the app keeps working with a million
applications). The deadline and fine tables belong to packages above this one, so they are reached
through the core's services and the shared metadata, never imported.
"""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import and_, case, exists, false, func, or_, select

from app import i18n
from app.security import scope
from app.security.user import StaffUser

DUE = ("overdue", "soon")  # the filters of the to-do list: ?due=overdue, ?due=soon
LIVE = ("running", "paused", "overdue")  # timers of a case still in progress


def acts_on_stages(core, roles: set[str]) -> bool:
    """Whether any of these roles takes a step at some stage (only then has the user a to-do)."""
    return any(roles & set(stage.roles) for stage in core.engine.definition.stages.values() if not stage.terminal)


def has_todo(core, user, roles: set[str]) -> bool:
    """Whether the user has a to-do: a role of theirs takes a step somewhere, or they sign steps off."""
    signoffs = getattr(core, "signoffs", None)
    return acts_on_stages(core, roles) or (signoffs is not None and bool(signoffs.duties(user)))


def due_clause(core, which: str, now: dt.datetime):
    """A condition on the workflow entity: the case has a running deadline that is overdue
    (`which` "overdue") or ends within its timer's `due_soon` working days ("soon")."""
    sla = getattr(core, "sla", None)
    if sla is None or not sla.timers:
        return false()
    timer, case = sla.cls, core.engine.cls
    if which == "overdue":
        late = sla.overdue_clause(now)
    elif which == "soon":
        late = sla.soon_clause(now)
    else:
        raise ValueError(f"unknown deadline filter {which!r}; use one of {', '.join(DUE)}")
    return exists().where(timer.application_id == case.id, late)


def due_counts(core, user, now: dt.datetime) -> dict[str, int]:
    """{"all": n, "overdue": n, "soon": n}: the user's to-do and the cases in it with such a
    deadline (one statement)."""
    return core.todo.counts(user, {which: due_clause(core, which, now) for which in DUE})


def unit_due_counts(core, user, now: dt.datetime) -> dict[str, int]:
    """{"open": n, "overdue": n, "soon": n} over the open cases the user's scope (their unit) covers:
    one statement, reading the open stages through the stage index (a NOT IN of the closed ones
    would scan every case ever archived)."""
    cls = core.engine.cls
    definition = core.engine.definition
    open_stages = [k for k, stage in definition.stages.items() if not stage.terminal]
    figures = [func.coalesce(func.sum(case((due_clause(core, which, now), 1), else_=0)), 0) for which in DUE]
    query = select(func.count(), *figures).select_from(cls).where(
        getattr(cls, definition.state_field).in_(open_stages), scope.case_clause(core, user))
    total, *due = core.db.session.execute(query).one()
    return {"open": total, **{which: int(n) for which, n in zip(DUE, due)}}


def _fines():
    return Model.metadata.tables.get("fine_entry")


def pending_fines(session) -> int | None:
    """Fines proposed and waiting for an auditor's decision (None: the model has no fines)."""
    fines = _fines()
    if fines is None:
        return None
    return session.execute(select(func.count()).select_from(fines).where(fines.c.status == "proposed")).scalar_one()


def unit_fines(session, unit_id: int | None, now: dt.datetime) -> dict | None:
    """This month's fines of a unit and of its people: {"month", "proposed", "confirmed", "amount"}."""
    fines = _fines()
    if fines is None or not unit_id:
        return None
    month = now.astimezone(i18n.SHANGHAI).strftime("%Y-%m")
    members = select(StaffUser.id).where(StaffUser.unit_id == unit_id)
    mine = and_(fines.c.month == month,
                or_(fines.c.target_unit_id == unit_id, fines.c.target_user_id.in_(members)))
    rows = session.execute(select(fines.c.status, func.count(), func.coalesce(func.sum(fines.c.amount), 0))
                           .where(mine).group_by(fines.c.status)).all()
    by_status = {status: (count, amount) for status, count, amount in rows}
    return {"month": month, "proposed": by_status.get("proposed", (0, 0))[0],
            "confirmed": by_status.get("confirmed", (0, 0))[0], "amount": by_status.get("confirmed", (0, 0))[1]}


def unloaded_years(core, now: dt.datetime, days: int = 60) -> list[int]:
    """Years touched by the next `days` days whose official holiday schedule is not loaded."""
    if core.calendar_service is not None:
        return core.calendar_service.unloaded_years_within(days=days)
    if getattr(core, "sla", None) is None:
        return []
    today = now.astimezone(i18n.SHANGHAI).date()
    return core.sla.calendar().provisional_years_in(today, today + dt.timedelta(days=days))
