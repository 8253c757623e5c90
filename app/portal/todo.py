"""我的待办: which applications wait on a user — by the stage's roles, or personally as owner."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import and_, false, func, or_, select

from app import i18n


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
        condition = or_(*clauses) if clauses else false()
        query = select(cls).where(condition, cls.suspended.is_(False))
        return query if where is None else query.where(where)

    def _earliest_due(self):
        """The case's earliest running deadline, as a column to order by (None without timers)."""
        sla = getattr(self.core, "sla", None)
        if sla is None:
            return None
        timer = sla.cls
        return (select(func.min(timer.due_at)).where(timer.application_id == self.core.engine.cls.id,
                                                     timer.status.in_(("running", "paused", "overdue")))
                .correlate(self.core.engine.cls).scalar_subquery())

    def count(self, user, where=None) -> int:
        """How many cases wait on `user` (`where`: an extra condition, e.g. an overdue deadline)."""
        query = self._query(user, where)
        return self.core.db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()

    def rows(self, user, limit: int = 500, where=None) -> list[dict]:
        """The cases waiting on `user`, the earliest deadline first, then the longest waiting."""
        engine = self.core.engine
        session = self.core.db.session
        earliest = self._earliest_due()
        order = [engine.cls.changed_on] if earliest is None else [earliest.is_(None), earliest, engine.cls.changed_on]
        apps = list(session.scalars(self._query(user, where).order_by(*order).limit(limit)))
        due = self.due_lookup(session, [a.id for a in apps]) if self.due_lookup else {}
        rows = [{"id": a.id, "number": a.number, "customer": str(getattr(a, "customer", "") or ""),
                 "stage": engine.stage_label(getattr(a, engine.definition.state_field)),
                 "since": i18n.fmt_datetime(a.changed_on), "due": due.get(a.id),
                 "sort": (due.get(a.id) is None, due.get(a.id) and due[a.id].get("at"), a.changed_on)}
                for a in apps]
        rows.sort(key=lambda r: r["sort"])
        return rows
