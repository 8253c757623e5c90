"""Working-day calendar held in the database: official years, admin changes, a cached WorkCalendar.

Tables (``calendar_tables.py``, on FAB's ``Model``, so ``flask model apply`` creates them):

* ``calendar_day``: one row per day that is special in a *loaded* year: ``kind`` is ``holiday``
  (an official day off; weekend days inside a break are stored too, for their name) or
  ``workday`` (a make-up working day, always a Saturday or Sunday). Days without a row follow
  the plain rule: Monday to Friday work, Saturday and Sunday off.
* ``calendar_year``: the years whose official schedule is loaded. Days of other years are
  *provisional*: :class:`~app.workflow.calendar.WorkCalendar` guesses them from the statutory
  holidays, and rows of ``calendar_day`` in such years are ignored.

:class:`CalendarService` (``core.calendar_service``) hands out one cached ``WorkCalendar`` per
process. Several processes share the database, so at most every ``check_every`` seconds it
compares a cheap fingerprint of both tables (row counts, holiday count, latest change) and
rebuilds when it moved; the process that writes rebuilds at once.

Writes go through the service (``load_notice``, ``set_day``, ``unload_year``) or the seeding
functions; each commits one transaction and then runs the ``on_year_loaded`` /
``on_day_changed`` callbacks.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.database.types import now_utc
from app.deadlines.calendar_seed import seed_from_package
from app.deadlines.calendar_tables import (ACTIONS, NAME_LENGTH, CalendarDay, CalendarError, CalendarYear,
                                          LoadResult)
from app.workflow.calendar import FIRST_YEAR, LAST_YEAR, SHANGHAI, WorkCalendar
from app.workflow.notice import N_, Notice

log = logging.getLogger(__name__)

def seed_after_apply(session) -> list[int]:
    """Called at the end of `flask model apply`: seed, commit, refresh the cache, run callbacks."""
    try:
        years = seed_from_package(session)
        session.commit()
    except Exception:
        session.rollback()
        raise
    if years:
        log.info("working-day calendar: loaded %d year(s) from chinesecalendar (%s..%s)",
                 len(years), years[0], years[-1])
    service = _current_service()
    if service is not None and years:
        service.changed()
        service.run_year_loaded(years)
    return years


def ensure_seeded(app) -> list[int]:
    """seed_after_apply() with the app's session, inside its app context."""
    with app.app_context():
        return seed_after_apply(app.extensions["yekuotong"].db.session)


def _current_service() -> CalendarService | None:
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    core = current_app.extensions.get("yekuotong")
    return getattr(core, "calendar_service", None)


# ---- the service --------------------------------------------------------------------------

def shanghai_today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def weekday_name(day: dt.date) -> str:
    """'星期三' / 'Wednesday' in the request's language (the default locale outside requests)."""
    from babel.dates import format_date
    from flask import current_app, has_app_context, has_request_context

    if has_request_context():
        from flask_babel import get_locale

        locale = str(get_locale() or "zh")
    elif has_app_context():
        locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    else:
        locale = "zh"
    return format_date(day, "EEEE", locale=locale)


class CalendarService:
    """The process's view of the calendar tables: a cached WorkCalendar and the write operations."""

    def __init__(self, engine, *, check_every: float = 30.0) -> None:
        self.engine = engine  # reads for the cache use their own short connection
        self.check_every = check_every
        self.on_year_loaded: list[Callable[[int], None]] = []
        self.on_day_changed: list[Callable[[dt.date], None]] = []
        self._lock = threading.RLock()
        self._calendar: WorkCalendar | None = None
        self._stamp: tuple | None = None
        self._checked = float("-inf")
        self._fallback_logged = False
        self.builds = 0  # how many times the calendar was (re)built; for tests and diagnostics

    # ---- reading ------------------------------------------------------------------------

    def calendar(self) -> WorkCalendar:
        """The current WorkCalendar; re-checks the database at most every `check_every` seconds."""
        now = time.monotonic()
        cal = self._calendar
        if cal is not None and now - self._checked < self.check_every:
            return cal
        with self._lock:
            if self._calendar is not None and time.monotonic() - self._checked < self.check_every:
                return self._calendar
            with self.engine.connect() as conn:
                stamp = self._read_stamp(conn)
                if self._calendar is None or stamp != self._stamp:
                    self._calendar = self._build(conn, stamp)
                    self._stamp = stamp
                    self.builds += 1
            self._checked = time.monotonic()
            return self._calendar

    def changed(self) -> None:
        """This process changed the tables: rebuild on the next calendar() call."""
        with self._lock:
            self._calendar = None
            self._stamp = None
            self._checked = float("-inf")

    @staticmethod
    def _read_stamp(conn) -> tuple | None:
        """A fingerprint that moves with any insert, delete, kind change or touched row."""
        query = select(
            select(func.count()).select_from(CalendarDay).scalar_subquery(),
            select(func.count()).select_from(CalendarDay).where(CalendarDay.kind == "holiday").scalar_subquery(),
            select(func.max(CalendarDay.changed_on)).scalar_subquery(),
            select(func.count()).select_from(CalendarYear).scalar_subquery(),
            select(func.max(CalendarYear.loaded_on)).scalar_subquery(),
        )
        try:
            return tuple(conn.execute(query).one())
        except DBAPIError:  # tables not created yet (`model apply` not run for this version)
            conn.rollback()
            return None

    def _build(self, conn, stamp) -> WorkCalendar:
        if stamp is None or stamp[3] == 0:
            if not self._fallback_logged:
                log.warning("working-day calendar: no year is loaded in the database (run `flask model "
                            "apply`); using the chinesecalendar package meanwhile")
                self._fallback_logged = True
            return WorkCalendar.from_chinesecalendar()
        years = {y for y in conn.scalars(select(CalendarYear.year)) if FIRST_YEAR <= y <= LAST_YEAR}
        loaded: dict[int, tuple[set[dt.date], set[dt.date]]] = {y: (set(), set()) for y in years}
        for day, kind in conn.execute(select(CalendarDay.day, CalendarDay.kind)):
            entry = loaded.get(day.year)
            if entry is None:
                continue  # a row of a provisional year: ignored
            if kind == "holiday":
                entry[0].add(day)
            elif kind == "workday" and day.weekday() >= 5:
                entry[1].add(day)
            else:
                log.error("working-day calendar: ignoring invalid row %s %s", day, kind)
        return WorkCalendar.from_days(loaded)

    def loaded_years(self) -> frozenset[int]:
        return self.calendar().loaded_years

    def is_workday(self, day: dt.date) -> bool:
        return self.calendar().is_workday(day)

    def is_provisional(self, day: dt.date) -> bool:
        return self.calendar().is_provisional(day)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        return self.calendar().add_working_days(day, n)

    def unloaded_years_within(self, days: int = 60, today: dt.date | None = None) -> list[int]:
        """Years without an official schedule touched by [today, today + days] (Shanghai dates)."""
        cal = self.calendar()
        first, last = cal.span
        start = today or shanghai_today()
        end = start + dt.timedelta(days=days)
        if end < first or start > last:
            return [y for y in range(start.year, end.year + 1)]
        return cal.provisional_years_in(max(start, first), min(end, last))

    def year_rows(self, session) -> list[CalendarYear]:
        return list(session.scalars(select(CalendarYear).order_by(CalendarYear.year)))

    def day_rows(self, session, first: dt.date, last: dt.date) -> dict[dt.date, CalendarDay]:
        rows = session.scalars(select(CalendarDay).where(CalendarDay.day >= first, CalendarDay.day <= last))
        return {row.day: row for row in rows}

    # ---- writing ------------------------------------------------------------------------

    def _check_span(self, day: dt.date) -> None:
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise CalendarError("outside_span", N_("{date} is outside the calendar span {first} to {last}."),
                                date=day.isoformat(), first=FIRST_YEAR, last=LAST_YEAR)

    @staticmethod
    def _ensure_base(session) -> list[int]:
        """A write on a database that was never seeded seeds it first, in the same transaction."""
        if session.execute(select(func.count()).select_from(CalendarYear)).scalar_one() == 0:
            return seed_from_package(session)
        return []

    def load_notice(self, session, notice: Notice, *, source: str = "import", note: str = "") -> LoadResult:
        """Insert one year's days and its calendar_year row in one transaction, then callbacks.

        Raises CalendarError (nothing written) when the year is already loaded or outside the span.
        """
        year = notice.year
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise CalendarError("outside_span", N_(
                "Year {year} is outside the calendar span {first} to {last}; nothing was written."),
                year=year, first=FIRST_YEAR, last=LAST_YEAR)
        try:
            seeded = self._ensure_base(session)
            existing = session.get(CalendarYear, year)
            if existing is not None:
                raise CalendarError("already_loaded", N_(
                    "Year {year} is already loaded (source: {source}); nothing was written."),
                    year=year, source=existing.source)
            now = now_utc()
            # Rows left in a provisional year mean nothing; the notice replaces them.
            session.execute(delete(CalendarDay).where(CalendarDay.day >= dt.date(year, 1, 1),
                                                      CalendarDay.day <= dt.date(year, 12, 31)))
            session.add(CalendarYear(year=year, source=source, loaded_on=now, note=note[:200]))
            rows = [{"day": d, "kind": "holiday", "name": (n or "")[:NAME_LENGTH], "source": source,
                     "changed_on": now} for d, n in sorted(notice.holidays.items())]
            rows += [{"day": d, "kind": "workday", "name": (n or "")[:NAME_LENGTH], "source": source,
                      "changed_on": now} for d, n in sorted(notice.workdays.items())]
            session.flush()
            if rows:
                session.execute(insert(CalendarDay), rows)
            session.commit()
        except IntegrityError:
            session.rollback()
            raise CalendarError("already_loaded", N_(
                "Year {year} is already loaded (source: {source}); nothing was written."),
                year=year, source="?") from None
        except BaseException:
            session.rollback()
            raise
        self.changed()
        self.run_year_loaded(seeded + [year])
        return LoadResult(year, len(notice.holidays), len(notice.workdays),
                          workdays_in_year(self.calendar(), year))

    def set_day(self, session, day: dt.date, action: str, name: str = "") -> bool:
        """An administrator's change of one day of a loaded year; True when something changed.

        ``action``: ``holiday`` (a day off), ``workday`` (a make-up working day: Saturday or
        Sunday only) or ``default`` (remove the day's row: Monday to Friday work, weekend off).
        Raises CalendarError with nothing written when the change is not allowed.
        """
        if action not in ACTIONS:
            raise CalendarError("bad_action", N_("Unknown change '{action}'."), action=action)
        self._check_span(day)
        if action == "workday" and day.weekday() < 5:
            raise CalendarError("weekday_makeup", N_(
                "{date} is a {weekday}: only a Saturday or Sunday can be a make-up workday."),
                date=day.isoformat(), weekday=weekday_name(day))
        name = (name or "").strip()[:NAME_LENGTH]
        try:
            seeded = self._ensure_base(session)
            if session.get(CalendarYear, day.year) is None:
                raise CalendarError("year_not_loaded", N_(
                    "The official holiday schedule of {year} is not loaded yet; import the State "
                    "Council notice for {year} first."), year=day.year)
            row = session.get(CalendarDay, day)
            changed = True
            if action == "default":
                if row is None:
                    changed = False
                else:
                    session.delete(row)
            elif row is None:
                session.add(CalendarDay(day=day, kind=action, name=name, source="admin", changed_on=now_utc()))
            else:
                new_name = name or (row.name if row.kind == action else "")
                if row.kind == action and row.name == new_name:
                    changed = False
                else:
                    row.kind, row.name, row.source, row.changed_on = action, new_name, "admin", now_utc()
            session.commit()
        except IntegrityError:
            session.rollback()
            raise CalendarError("conflict", N_(
                "Someone else changed the calendar at the same time; please try again.")) from None
        except BaseException:
            session.rollback()
            raise
        if seeded:
            self.changed()
            self.run_year_loaded(seeded)
        if changed:
            self.changed()
            for callback in list(self.on_day_changed):
                _run(callback, day)
        return changed

    def unload_year(self, session, year: int) -> bool:
        """Forget a loaded year (its days become provisional again); True when it was loaded."""
        try:
            found = session.get(CalendarYear, year) is not None
            session.execute(delete(CalendarDay).where(CalendarDay.day >= dt.date(year, 1, 1),
                                                      CalendarDay.day <= dt.date(year, 12, 31)))
            session.execute(delete(CalendarYear).where(CalendarYear.year == year))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        self.changed()
        return found

    def run_year_loaded(self, years: Iterable[int]) -> None:
        """Run the on_year_loaded callbacks (after commit) once per year, errors logged."""
        for year in years:
            for callback in list(self.on_year_loaded):
                _run(callback, year)


def workdays_in_year(cal: WorkCalendar, year: int) -> int:
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return cal.working_days_between(first, last) + cal.is_workday(first)


def _run(callback: Callable, arg) -> None:
    try:
        callback(arg)
    except Exception:  # the calendar change is committed; a failing listener must not undo it
        log.exception("working-day calendar: callback %r failed for %s", callback, arg)
