"""The deadline dashboard's figures (时限看板) as aggregate SQL: applications, not timers, counted once
each under their most urgent open deadline, per stage, per unit and per customer manager; and the
overdue applications, longest overdue first. Nothing here loads the rows it counts.

The open timers (partial index ix_sla_timer_open) are grouped per case first; each case's stage,
owner and unit are then read by primary key in correlated subqueries that also apply the user's row
scope. Written as a join instead, PostgreSQL prefers scanning the whole application table for a
unit-scoped user (the scope's OR of memberships looks unselective), which grows with every year kept.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from app.generated.workflow_tables import open_timers
from app.security import scope
from app.security.user import StaffUser

#: Columns of the dashboard, least to most urgent; an application counts under its most urgent timer.
STATUSES = ("paused", "running", "due_soon", "overdue")


@dataclass
class Board:
    by_stage: list[tuple[str, dict]] = field(default_factory=list)  # (stage key, {status: n}), process order
    by_unit: list[tuple[int | None, str | None, dict]] = field(default_factory=list)  # (unit id, name, counts)
    by_manager: list[tuple[int | None, str | None, dict]] = field(default_factory=list)  # (user id, name, counts)
    managers_left_out: int = 0


def urgency(sla, now: dt.datetime):
    """SQL: a timer's urgency, the index of its status in STATUSES (as Sla.status() shows it)."""
    return case((sla.overdue_clause(now), 3), (sla.soon_clause(now), 2), (sla.cls.status == "running", 1), else_=0)


def _facts(core, user, now: dt.datetime):
    """Subquery: one row per open case the user may see — urgency, stage, owner id, unit id (the
    owner's unit, or while there is no owner the acceptor's, as row scope reads it)."""
    sla, cls, definition = core.sla, core.engine.cls, core.engine.definition
    timer = sla.cls
    cases = (select(timer.application_id.label("case_id"), func.max(urgency(sla, now)).label("urgency"))
             .where(open_timers(timer.status)).group_by(timer.application_id).subquery("per_case"))
    this = cls.id == cases.c.case_id
    stage = select(getattr(cls, definition.state_field)).where(this, scope.case_clause(core, user))
    accepted = core.model.workflow.accepted_by_field
    acceptor = getattr(cls, f"{accepted}_id") if accepted else cls.created_by_fk
    acceptor_user = aliased(StaffUser)
    columns = [cases.c.urgency, stage.scalar_subquery().label("stage")]
    if definition.owner_field:
        owner = getattr(cls, f"{definition.owner_field}_id")
        owner_user = aliased(StaffUser)
        unit = (select(case((owner.isnot(None), owner_user.unit_id), else_=acceptor_user.unit_id)).select_from(cls)
                .outerjoin(owner_user, owner_user.id == owner))
        columns.append(select(owner).where(this).scalar_subquery().label("owner_id"))
    else:
        unit = select(acceptor_user.unit_id).select_from(cls)
    unit = unit.outerjoin(acceptor_user, acceptor_user.id == acceptor).where(this)
    columns.append(unit.scalar_subquery().label("unit_id"))
    # OFFSET 0 keeps the subquery whole: each correlated read runs once per case, not once per use.
    return select(*columns).offset(0).subquery("facts")


def board(core, user, now: dt.datetime, managers: int = 30) -> Board:
    """One grouped statement; stages in the model's process order, units in the model's order (then
    none), the `managers` customer managers with the most urgent work (the rest counted, not listed)
    and the cases without a manager."""
    facts = _facts(core, user, now)
    unit_cls = core.orm["unit"]
    person = aliased(StaffUser)
    has_owner = "owner_id" in facts.c
    keys = [facts.c.stage, facts.c.unit_id, unit_cls.name]
    if has_owner:
        keys += [facts.c.owner_id, person.last_name, person.first_name]
    query = (select(*keys, facts.c.urgency, func.count()).select_from(facts)
             .outerjoin(unit_cls, unit_cls.id == facts.c.unit_id).where(facts.c.stage.isnot(None)))
    if has_owner:
        query = query.outerjoin(person, person.id == facts.c.owner_id)
    stages: dict = {}
    units: dict = {}
    people: dict = {}
    for row in core.db.session.execute(query.group_by(*keys, facts.c.urgency)):
        status, n = STATUSES[row[-2]], row[-1]
        for table, key in ((stages, row[0]), (units, (row[1], row[2])),
                           (people, (row[3], f"{row[4] or ''}{row[5] or ''}") if has_owner else None)):
            if key is not None:
                table.setdefault(key, dict.fromkeys(STATUSES, 0))[status] += n
    order = {key: i for i, key in enumerate(core.engine.definition.stages)}
    unit_order = {u.name_zh: i for i, u in enumerate(core.model.units)}
    result = Board()
    result.by_stage = sorted(stages.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    result.by_unit = sorted(((pk, name, c) for (pk, name), c in units.items()),
                            key=lambda r: (r[0] is None, unit_order.get(r[1] or "", len(unit_order)), r[1] or ""))
    ranked = sorted(((pk, name, c) for (pk, name), c in people.items() if pk is not None),
                    key=lambda r: (-r[2]["overdue"], -r[2]["due_soon"], -sum(r[2].values()), r[1], r[0]))
    result.by_manager = ranked[:managers] + [(None, None, c) for (pk, _n), c in people.items() if pk is None]
    result.managers_left_out = max(0, len(ranked) - managers)
    return result


def overdue_cases(core, user, now: dt.datetime, limit: int = 100):
    """(the `limit` overdue applications the user may see, longest overdue first, each with its
    overdue timers; how many there are in all). One application is one row however many timers."""
    session, sla, cls = core.db.session, core.sla, core.engine.cls
    timer = sla.cls
    late = and_(open_timers(timer.status), sla.overdue_clause(now))
    first_due = (select(timer.application_id.label("case_id"), func.min(timer.due_at).label("due"))
                 .where(late).group_by(timer.application_id).subquery("late"))
    visible = select(cls.id).where(cls.id == first_due.c.case_id, scope.case_clause(core, user)).exists()
    total = session.execute(select(func.count()).select_from(first_due).where(visible)).scalar_one()
    top = (select(first_due.c.case_id).where(visible)
           .order_by(first_due.c.due, first_due.c.case_id).limit(limit))
    rows = {r.id: r for r in session.scalars(select(cls).where(cls.id.in_(top)))}
    timers: dict[int, list] = {}
    for t in session.scalars(select(timer).where(timer.application_id.in_(top), late).order_by(timer.due_at)):
        timers.setdefault(t.application_id, []).append(t)
    ordered = sorted(rows.values(), key=lambda r: (min(t.due_at for t in timers[r.id]), r.id) if r.id in timers
                     else (dt.datetime.max, r.id))
    return [(r, timers.get(r.id, [])) for r in ordered], total
