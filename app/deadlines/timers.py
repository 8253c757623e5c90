"""SLA timers in working days: started, paused, stopped by workflow steps; breaches swept once."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import and_, false, or_, select, update

from app import events
from app.model import conditions
from app.database.types import id_in, now_utc
from app.workflow import due as deadline
from app.workflow.calendar import WorkCalendar

log = logging.getLogger(__name__)
ACTIVE = ("running", "paused")


class Breach(NamedTuple):
    """A breached timer as the sweep hands it to the breach hooks (a plain row, not an ORM object)."""

    id: int
    application_id: int
    timer: str
    due_at: dt.datetime | None
    breached_at: dt.datetime | None
    stage_at_breach: str | None


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; everything is stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


class Sla:
    """Timers of one model. Hooks run inside the workflow step's transaction."""

    def __init__(self, core):
        self.core = core
        self.model = core.model
        self.timers = core.model.timers
        self._calendar: WorkCalendar | None = None
        self._breach_columns: list[str] | None = None
        self._compiled = {key: [(conditions.parse(c.when) if c.when else None, c.days) for c in t.limit]
                          for key, t in self.timers.items() if isinstance(t.limit, list)}

    # ------------------------------------------------------------------ calendar
    def calendar(self) -> WorkCalendar:
        service = self.core.calendar_service
        if service is not None:
            return service.calendar()
        if self._calendar is None:
            self._calendar = WorkCalendar.from_chinesecalendar()
        return self._calendar

    @property
    def cls(self):
        return self.core.orm["sla_timer"]

    def limit(self, key: str, record: dict) -> int:
        timer = self.timers[key]
        if not isinstance(timer.limit, list):
            return timer.limit or 0  # a due date from the data has no limit in days
        for cond, days in self._compiled[key]:
            if cond is None or conditions.evaluate(cond, record):
                return days
        return self._compiled[key][-1][1]

    def _due(self, start: dt.datetime, days: int, unit: str = deadline.WORKING_DAYS) -> tuple[dt.datetime, bool]:
        cal = self.calendar()
        due = deadline.due_at(cal, start, days, unit)
        if unit == deadline.CALENDAR_DAYS:
            return due, False  # calendar days do not depend on the holiday schedule
        provisional = bool(cal.provisional_years_in(start.astimezone(due.tzinfo).date(), due.date()))
        return due, provisional

    def deadline(self, key: str, record: dict, at: dt.datetime, rows=()) -> tuple[int, dt.datetime, bool] | None:
        """(limit in days, due, provisional) of a timer starting at `at`; None when its due date comes
        from the data and there is none (the timer is then not started)."""
        timer = self.timers[key]
        if timer.due_date is not None:
            due = deadline.due_from_data(timer.due_date, record, rows)
            return None if due is None else (0, due, False)
        days = self.limit(key, record)
        return (days, *self._due(at, days, timer.unit))

    # ------------------------------------------------------------------ hooks from the engine
    def on_insert(self, _mapper, connection, row) -> None:
        """A new application entered its initial stage: start the timers that start there.
        Runs inside the INSERT's flush, so it writes with the same connection."""
        stage = getattr(row, self.core.engine.definition.state_field)
        at = getattr(row, "_created_at", None) or now_utc()  # set when paper records are entered late
        record = self.core.engine.record(row)
        for key, timer in self.timers.items():
            if timer.start.enter == stage:
                found = self.deadline(key, record, at)
                if found is None:
                    continue
                days, due, provisional = found
                connection.execute(self.cls.__table__.insert().values(
                    application_id=row.id, timer=key, status="running", limit_days=days, started_at=at,
                    due_at=due, provisional=provisional, breach_recorded=False,
                    model_version=self.model.version))

    def _concerns(self, trigger, source, dest) -> bool:
        """Whether a step can start, stop, pause or resume any timer (most steps touch one)."""
        if trigger in ("suspend", "resume", "cancel"):
            return True
        stages = self.core.engine.wf.stages
        for stage in (source, dest):
            if stage in stages and (stages[stage].side == "customer" or stages[stage].terminal):
                return True
        for timer in self.timers.values():
            if stage_touch(timer, trigger, source, dest):
                return True
        return False

    def condition_functions(self, session, row) -> dict:
        """The timer functions guards may call: timer_overdue(key), timer_status(key)."""
        return {"timer_overdue": lambda key: self.is_overdue(session, row, key),
                "timer_status": lambda key: self.status_of(session, row, key)}

    def on_step(self, _core, *, session, row, trigger, source, dest, at) -> None:
        """Receiver of events.step_taken: start, stop, pause or resume the timers the step touches."""
        if source != dest and not self._concerns(trigger, source, dest):
            return
        running = {t.timer: t for t in session.scalars(
            select(self.cls).where(self.cls.application_id == row.id, self.cls.status.in_(ACTIVE + ("overdue",))))}
        left = source is not None and source != dest
        entered = dest is not None and source != dest
        for key, timer in self.timers.items():
            stop = timer.stop
            if key in running and ((stop.transition and stop.transition == trigger)
                                   or (stop.leave and left and stop.leave == source)
                                   or (stop.enter and entered and stop.enter == dest)):
                self._stop(session, running.pop(key), row, at, source)
        for key, timer in self.timers.items():
            start = timer.start
            if key not in running and ((start.transition and start.transition == trigger)
                                       or (start.enter and entered and start.enter == dest)
                                       or (start.leave and left and start.leave == source)):
                started = self._start(session, row, key, at)
                if started is not None:
                    running[key] = started
        stage = self.core.engine.wf.stages.get(dest) if dest else None
        if stage is not None and stage.terminal:
            # Archived or cancelled: nothing is waiting any more. A deadline already passed is a
            # breach even if the sweep had not seen it yet; a recorded breach stays recorded.
            for timer in running.values():
                if timer.status == "running" and aware(timer.due_at) <= at:
                    timer.status = "overdue"
                    session.flush()
                    self._record_breach(session, timer, row, at, source)
                timer.status, timer.stopped_at = "cancelled", at
            return
        self._pause_or_resume(session, row, running.values(), at)

    def _start(self, session, row, key: str, at: dt.datetime):
        spec = self.timers[key].due_date
        rows = []
        if spec is not None and spec.collection:
            rows = self.core.engine.collections(session, row, [spec.collection])[spec.collection]
        found = self.deadline(key, self.core.engine.record(row), at, rows)
        if found is None:
            log.info("timer %s not started on application %s: no date in %s", key, row.id, spec.field)
            return None
        days, due, provisional = found
        timer = self.cls(application_id=row.id, timer=key, status="running", limit_days=days, started_at=at,
                         due_at=due, provisional=provisional, model_version=self.model.version)
        session.add(timer)
        return timer

    def _stop(self, session, timer, row, at: dt.datetime, stage: str | None = None) -> None:
        timer.stopped_at = at
        if timer.status == "overdue":
            timer.status = "met_late"
            return
        late = timer.status == "running" and aware(timer.due_at) <= at
        timer.status = "met_late" if late else "met"
        if late:
            session.flush()
            self._record_breach(session, timer, row, at, stage)

    def _pause_or_resume(self, session, row, timers, at: dt.datetime) -> None:
        stage = getattr(row, self.core.engine.definition.state_field)
        customer_side = self.core.engine.wf.stage(stage).side == "customer" if stage in self.core.engine.wf.stages else False
        for timer in timers:
            spec = self.timers[timer.timer]
            if spec.due_date is not None:
                continue  # a date set in the data is a date: it does not pause
            pause = bool(row.suspended) or stage in spec.pause_in or customer_side
            if pause and timer.status == "running" and aware(timer.due_at) > at:
                timer.remaining_days = deadline.days_left(self.calendar(), at, aware(timer.due_at), spec.unit)
                timer.status, timer.paused_at, timer.due_at = "paused", at, None
            elif not pause and timer.status == "paused":
                timer.due_at, timer.provisional = self._due(at, max(timer.remaining_days or 0, 0), spec.unit)
                timer.status, timer.paused_at = "running", None

    # ------------------------------------------------------------------ breaches
    def _record_breach(self, session, timer, row, at: dt.datetime, stage: str | None = None) -> bool:
        """Mark the breach exactly once, even with several sweepers: a conditional update wins once.
        `stage` is where the application stood when the deadline passed (the step's source)."""
        stage = stage or getattr(row, self.core.engine.definition.state_field)
        result = session.execute(update(self.cls).where(self.cls.id == timer.id, self.cls.breach_recorded.is_(False))
                                 .values(breach_recorded=True, breached_at=at, stage_at_breach=stage)
                                 .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return False
        session.refresh(timer)
        events.deadlines_breached.send(self.core, session=session, timers=[timer], apps={row.id: row})
        return True

    def sweep(self, session, now: dt.datetime | None = None, batch: int = 1000) -> int:
        """Mark running timers past due as overdue and hand each new breach on, once. Returns count.

        Reads only due timers (index on status, due_at). Per batch: one UPDATE claims the due rows
        through a locking subquery (SKIP LOCKED on PostgreSQL, so concurrent sweepers split the
        work; the breach_recorded condition makes a second claim impossible) and RETURNING names
        the breaches this sweeper won; then one read of their applications, then the hooks."""
        now = now or now_utc()
        app_cls = self.core.engine.cls
        state = self.core.engine.definition.state_field
        postgres = session.get_bind().dialect.name == "postgresql"
        found = 0
        while True:
            due = (select(self.cls.id).where(self.cls.status == "running", self.cls.due_at <= now)
                   .order_by(self.cls.due_at).limit(batch))
            if postgres:
                due = due.with_for_update(skip_locked=True)
            # One statement claims the batch: only rows still unrecorded are updated and returned.
            # Core rows, not ORM objects: at 10,000 breaches the identity map is most of the cost.
            table = self.cls.__table__
            claim = (table.update().where(table.c.id.in_(due), table.c.status == "running",
                                          table.c.breach_recorded.is_(False))
                     .values(status="overdue", breach_recorded=True, breached_at=now,
                             stage_at_breach=select(getattr(app_cls, state))
                             .where(app_cls.id == table.c.application_id).scalar_subquery())
                     .returning(table.c.id, table.c.application_id, table.c.timer, table.c.due_at,
                                table.c.breached_at, table.c.stage_at_breach))
            app_table = app_cls.__table__
            dialect = session.get_bind().dialect.name
            columns = [app_table.c[name] for name in self.breach_columns()]
            if postgres:
                # Claim and read the applications in one statement (UPDATE ... RETURNING in a CTE).
                claimed = claim.cte("claimed")
                query = select(claimed, *[c.label(f"app_{c.name}") for c in columns]).join(
                    app_table, app_table.c.id == claimed.c.application_id)
                rows = session.execute(query).all()
                timers = [Breach(*r[:6]) for r in rows]
                apps = {r.application_id: SimpleNamespace(**{c.name: v for c, v in zip(columns, r[6:])})
                        for r in rows}
            else:
                timers = [Breach(*r) for r in session.execute(claim)]
                apps = {r.id: SimpleNamespace(**r._mapping) for r in session.execute(
                    select(*columns).where(id_in(app_table.c.id, {t.application_id for t in timers}, dialect)))}
            if not timers:
                session.commit()
                break
            events.deadlines_breached.send(self.core, session=session, timers=timers, apps=apps)
            found += len(timers)
            session.commit()
        return found

    def breach_columns(self) -> list[str]:
        """The application columns breach hooks read: identity, stage, owner, and every field a
        fine rule's condition names (a narrow read: 10,000 wide rows cost more than the rules)."""
        if self._breach_columns is None:
            engine = self.core.engine
            entity = engine.entity
            names = {"id", "number", "created_by_fk", "suspended", engine.definition.state_field}
            if engine.definition.owner_field:
                names.add(f"{engine.definition.owner_field}_id")
            for rule in self.model.fines:
                if rule.trigger.when:
                    for field in conditions.parse(rule.trigger.when).fields():
                        spec = entity.fields.get(field)
                        names.add(f"{field}_id" if spec is not None and spec.type == "reference" else field)
            if engine.wf.documents is not None:  # documents_complete(): what the document rules read
                names |= {f"{f}_id" if entity.fields.get(f) is not None and entity.fields[f].type == "reference"
                          else f for f in engine.wf.documents.fields}
            table = engine.cls.__table__
            self._breach_columns = sorted(n for n in names if n in table.c)
        return self._breach_columns

    # ------------------------------------------------------------------ reading
    def status(self, timer, now: dt.datetime | None = None) -> dict:
        """Display facts: status incl. derived 'due soon', due text, working days left, colour."""
        now = now or now_utc()
        status = timer.status
        due = aware(timer.due_at)
        spec = self.timers.get(timer.timer)
        unit = spec.unit if spec is not None else deadline.WORKING_DAYS
        left = deadline.days_left(self.calendar(), now, due, unit) if due is not None else timer.remaining_days
        if status == "running" and due is not None and due <= now:
            status = "overdue"
        elif status == "running" and spec is not None and left is not None and left < spec.due_soon:
            status = "due_soon"
        colour = {"running": "success", "due_soon": "warning", "overdue": "danger", "paused": "default",
                  "met": "info", "met_late": "danger", "cancelled": "default"}[status]
        return {"key": timer.timer, "status": status, "due": due, "left": left, "colour": colour,
                "provisional": timer.provisional, "at": due, "unit": unit}

    def overdue_clause(self, now: dt.datetime):
        """SQL on sla_timer: overdue at `now` (marked by the sweep, or running past its deadline)."""
        timer = self.cls
        return or_(timer.status == "overdue", and_(timer.status == "running", timer.due_at <= now))

    def soon_clause(self, now: dt.datetime):
        """SQL on sla_timer: running and "due soon" at `now`, as status() says: its deadline falls
        within its last `due_soon` days counted from today (1: on the last day; 0: never)."""
        timer, calendar, parts = self.cls, self.calendar(), []
        for key, spec in self.timers.items():
            if spec.due_soon < 1:
                continue
            try:  # left < due_soon  <=>  the last day comes before the due_soon-th day after today
                cutoff = deadline.due_at(calendar, now, spec.due_soon, spec.unit) - dt.timedelta(days=1)
            except ValueError:  # beyond the calendar's span: every deadline of this timer is "soon"
                cutoff = None
            parts.append(and_(timer.timer == key, timer.due_at <= cutoff) if cutoff else timer.timer == key)
        return and_(timer.status == "running", timer.due_at > now, or_(false(), *parts))

    def prefetch_running(self, _core, *, entity, rows, session, prefetched, **_kw) -> None:
        """A list page of cases is about to show their badges: fetch their timers in one query."""
        if entity == self.core.engine.definition.entity:
            ids = [row.id for row in rows]
            prefetched["running_timers"] = (set(ids), self.running_for(session, ids))

    def running_for(self, session, app_ids: list[int]) -> dict[int, list]:
        result: dict[int, list] = {}
        if not app_ids:
            return result
        known, timers = session.info.get(events.LIST_PREFETCHED, {}).get("running_timers", (set(), {}))
        if set(app_ids) <= known:
            return {i: timers[i] for i in app_ids if i in timers}
        query = select(self.cls).where(self.cls.application_id.in_(app_ids),
                                       self.cls.status.in_(ACTIVE + ("overdue",)))
        for timer in session.scalars(query.order_by(self.cls.due_at)):
            result.setdefault(timer.application_id, []).append(timer)
        return result

    def is_overdue(self, session, row, key: str) -> bool:
        timers = session.scalars(select(self.cls).where(self.cls.application_id == row.id, self.cls.timer == key))
        return any(t.breach_recorded or t.status in ("overdue", "met_late") for t in timers)

    def status_of(self, session, row, key: str) -> str:
        timer = session.scalars(select(self.cls).where(self.cls.application_id == row.id, self.cls.timer == key)
                                .order_by(self.cls.id.desc())).first()
        return "none" if timer is None else self.status(timer)["status"]

    def recompute_provisional(self, session) -> int:
        """After a year is loaded: recompute running deadlines that were computed provisionally."""
        count = 0
        for timer in session.scalars(select(self.cls).where(self.cls.status == "running",
                                                            self.cls.provisional.is_(True))):
            start = aware(timer.started_at)
            timer.due_at, timer.provisional = self._due(start, timer.limit_days)
            count += 1
        session.commit()
        return count


def stage_touch(timer, trigger, source, dest) -> bool:
    for event in (timer.start, timer.stop):
        if (event.transition == trigger or event.enter in (source, dest) or event.leave in (source, dest)
                or source in timer.pause_in or dest in timer.pause_in):
            return True
    return False


class SweepThread(threading.Thread):
    """The embedded default: sweep every minute inside the app process (cron in production)."""

    def __init__(self, app, interval: float = 60.0):
        super().__init__(name="sla-sweep", daemon=True)
        self.app, self.interval, self.stopped = app, interval, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            with self.app.app_context():
                core = self.app.extensions["yekuotong"]
                try:
                    core.sla.sweep(core.db.session)
                except Exception:  # the thread must survive a bad minute; the error is logged
                    log.exception("SLA sweep failed")
                    core.db.session.rollback()
                finally:
                    core.db.session.remove()
