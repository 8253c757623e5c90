"""Deadlines after a correction: a running timer whose limit depends on a corrected field (e.g. the
plan reply: 3 working days for residential, 7 otherwise) gets the new limit, recorded in history."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select

from app import i18n
from app.deadlines.timers import ACTIVE, aware
from app.model import conditions
from app.workflow import due as deadline


def dependent_timers(model) -> dict[str, set[str]]:
    """{timer key: fields its limit cases read}."""
    result = {}
    for key, timer in model.timers.items():
        if isinstance(timer.limit, list):
            names: set[str] = set()
            for case in timer.limit:
                if case.when:
                    names |= conditions.parse(case.when).fields()
            result[key] = names
    return result


class Recompute:
    """Receiver of events.case_corrected for one app's timers."""

    def __init__(self, core, sla):
        self.core = core
        self.sla = sla
        self.depends = dependent_timers(core.model)

    def on_corrected(self, _core, *, session, row, changed, user, at) -> None:
        keys = {k for k, names in self.depends.items() if names & set(changed)}
        if not keys:
            return
        engine = self.core.engine
        record = engine.record(row)
        cls = self.sla.cls
        stage = getattr(row, engine.definition.state_field)
        for timer in session.scalars(select(cls).where(cls.application_id == row.id, cls.timer.in_(keys),
                                                       cls.status.in_(ACTIVE))):
            old, new = timer.limit_days, self.sla.limit(timer.timer, record)
            if old == new:
                continue
            self._apply(timer, old, new, at)
            label = i18n.label(self.core.model.timers[timer.timer])
            if self.core.model.timers[timer.timer].unit == deadline.CALENDAR_DAYS:
                text = _("%(timer)s: %(old)d → %(new)d days", timer=label, old=old, new=new)
            else:
                text = _("%(timer)s: %(old)d → %(new)d working days", timer=label, old=old, new=new)
            engine.add_history(session, row, user, engine.roles_of(user), "deadline", "recompute", stage, stage,
                               text, {}, {}, at)

    def _apply(self, timer, old: int, new: int, at) -> None:
        timer.limit_days = new
        if timer.status == "paused":
            timer.remaining_days = max((timer.remaining_days or 0) + new - old, 0)
            return
        unit = getattr(self.core.model.timers[timer.timer], "unit", None) or deadline.WORKING_DAYS
        started = aware(timer.started_at)
        due = aware(timer.due_at)
        if due is not None and self.sla._due(started, old, unit)[0] == due:
            timer.due_at, timer.provisional = self.sla._due(started, new, unit)  # never paused: from the start
        elif unit == deadline.CALENDAR_DAYS and due is not None:
            timer.due_at, timer.provisional = due + dt.timedelta(days=new - old), False
        else:  # resumed after a pause: shift what is left by the difference
            left = self.sla.calendar().working_days_left(at, due) if due is not None else 0
            timer.due_at, timer.provisional = self.sla._due(at, max(left + new - old, 0), unit)
