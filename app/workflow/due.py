"""Deadline arithmetic beyond working days: calendar-day limits and deadlines set by a date in the data.

Both follow the working-day convention (app.workflow.calendar): the day of the event is not
counted, and a deadline ends at 24:00 Asia/Shanghai of its last day (returned as 00:00 of the
next day). Pure: no database, no Flask.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping

from app.model import conditions as cond

from .calendar import SHANGHAI, WorkCalendar

WORKING_DAYS = "working_days"
CALENDAR_DAYS = "calendar_days"
_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)


def _shanghai(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} is a naive datetime ({value.isoformat()}); pass a timezone-aware one")
    return value.astimezone(SHANGHAI)


def end_of(day: date) -> datetime:
    """24:00 Asia/Shanghai of `day`, as 00:00 of the following day (aware)."""
    return datetime.combine(day + _ONE_DAY, time(0), tzinfo=SHANGHAI)


def due_at(calendar: WorkCalendar, event: datetime, n: int, unit: str = WORKING_DAYS) -> datetime:
    """The end of the n-th working (or calendar) day after the event's Shanghai date."""
    if unit == CALENDAR_DAYS:
        return end_of(_shanghai(event, "event").date() + timedelta(days=n))
    return calendar.due_at(event, n)


def days_left(calendar: WorkCalendar, now: datetime, due: datetime, unit: str = WORKING_DAYS) -> int:
    """Days still to come after today before `due` (0 on the last day), or a negative count once
    overdue (always <= -1), in the timer's unit; see WorkCalendar.working_days_left."""
    if unit != CALENDAR_DAYS:
        return calendar.working_days_left(now, due)
    today = _shanghai(now, "now").date()
    last = (_shanghai(due, "due") - _EPSILON).date()
    if _shanghai(now, "now") < _shanghai(due, "due"):
        return (last - today).days
    return -max(1, (today - last).days)


def date_of(value: Any) -> date | None:
    """A date value read from a field: dates as they are, datetimes by their Shanghai date."""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).date() if value.tzinfo else value.date()
    return value if isinstance(value, date) else None


def earliest(rows: Iterable[Mapping[str, Any]], field: str, when: cond.Condition | None = None) -> date | None:
    """The earliest date in `field` among the rows that satisfy `when` (None: no such date)."""
    dates = [d for d in (date_of(row.get(field)) for row in rows
                         if when is None or cond.evaluate(when, row)) if d is not None]
    return min(dates) if dates else None


def due_from_data(spec, record: Mapping[str, Any], rows: Iterable[Mapping[str, Any]] = ()) -> datetime | None:
    """The deadline a timer's `due_date` names: the end of the date in the application's field, or
    of the earliest date among the collection's rows matching `when`; None when there is no date."""
    if spec.collection is None:
        day = date_of(record.get(spec.field))
    else:
        day = earliest(rows, spec.field, cond.parse(spec.when) if spec.when else None)
    return end_of(day) if day is not None else None
