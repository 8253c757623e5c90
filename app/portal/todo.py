"""我的待办: which applications wait on a user — by the stage's roles, personally as owner, or for the
sign-off (会签) of the co-signing staff's unit (app.cases.signoffs.Signoffs.waiting_clause)."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import and_, case, false, func, or_, select

from app import i18n
from app.generated.workflow_tables import open_timers


class Todo:
    def __init__(self, core):
        self.core = core
        # Filled by the timers module: ids -> earliest running due time, for ordering and display.
        self.due_lookup: Callable | None = None

    def _query(self, user, where=None):
        engine = self.core.engine
        definition = engine.definition
        cls = engine.cls
        roles = engine.roles_of(user)
        state = getattr(cls, definition.state_field)
        owner_col = getattr(cls, f"{definition.owner_field}_id") if definition.owner_field else None
        clauses = []
        for key, stage in definition.stages.items():
            mine = roles & set(stage.roles)
            if not mine or stage.terminal:
                continue
            personal = definition.owner_role in mine and owner_col is not None and mine == {definition.owner_role}
            clauses.append(and_(state == key, owner_col == user.id) if personal else state == key)
        signing = self._signing(user)
        if signing is not None:  # co-signing staff: the cases waiting for their sign-off
            clauses.append(signing)
        condition = or_(*clauses) if clauses else false()
        query = select(cls).where(condition, cls.suspended.is_(False))
        return query if where is None else query.where(where)

    def _signing(self, user):
        signoffs = getattr(self.core, "signoffs", None)
        return signoffs.waiting_clause(user) if signoffs is not None else None

    def _earliest_due(self):
        """The case's earliest running deadline, as a column to order by (None without timers)."""
        sla = getattr(self.core, "sla", None)
        if sla is None:
            return None
        timer = sla.cls
        return (select(func.min(timer.due_at)).where(timer.application_id == self.core.engine.cls.id,
                                                     open_timers(timer.status))
                .correlate(self.core.engine.cls).scalar_subquery())

    def count(self, user, where=None) -> int:
        """How many cases wait on `user` (`where`: an extra condition, e.g. an overdue deadline)."""
        return self.counts(user, {}, where)["all"]

    def counts(self, user, conditions: dict, where=None) -> dict[str, int]:
        """{"all": n, key: n...}: the cases waiting on `user`, and how many of them satisfy each of
        `conditions` (e.g. an overdue deadline) — one statement however many conditions."""
        cls = self.core.engine.cls
        columns = [func.count().label("all")] + [
            func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(key) for key, condition in conditions.items()]
        query = self._query(user, where).with_only_columns(*columns)
        row = self.core.db.session.execute(query.select_from(cls)).one()
        return {key: int(row._mapping[key]) for key in ["all", *conditions]}

    def rows(self, user, limit: int = 500, where=None, offset: int = 0) -> list[dict]:
        """The cases waiting on `user`, the earliest deadline first, then the longest waiting."""
        engine = self.core.engine
        session = self.core.db.session
        earliest = self._earliest_due()
        order = [engine.cls.changed_on] if earliest is None else [earliest.is_(None), earliest, engine.cls.changed_on]
        apps = list(session.scalars(self._query(user, where).order_by(*order, engine.cls.id).offset(offset).limit(limit)))
        due = self.due_lookup(session, [a.id for a in apps]) if self.due_lookup else {}
        signoffs = getattr(self.core, "signoffs", None)
        signs = signoffs.waiting_steps(user) if signoffs is not None else {}
        state = engine.definition.state_field
        rows = [{"id": a.id, "number": a.number, "customer": str(getattr(a, "customer", "") or ""),
                 "stage": engine.stage_label(getattr(a, state)),
                 "signoff": signs.get(getattr(a, state), []),  # the steps the user signs off here
                 "since": i18n.fmt_datetime(a.changed_on), "due": due.get(a.id),
                 "sort": (due.get(a.id) is None, due.get(a.id) and due[a.id].get("at"), a.changed_on)}
                for a in apps]
        rows.sort(key=lambda r: r["sort"])
        return rows
