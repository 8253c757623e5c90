"""Office hours (08:30–17:30 on working days, Beijing time): when staff take steps.

Pure: the working-day test is handed in (a WorkCalendar's ``is_workday`` or any ``date -> bool``)."""
from __future__ import annotations

import datetime as dt
from typing import Callable
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
OPENS = dt.time(8, 30)
CLOSES = dt.time(17, 30)


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, LOCAL)


def within(moment: dt.datetime, is_workday: Callable[[dt.date], bool]) -> bool:
    local = moment.astimezone(LOCAL)
    return is_workday(local.date()) and OPENS <= local.time() <= CLOSES


def next_open(moment: dt.datetime, is_workday: Callable[[dt.date], bool]) -> dt.datetime:
    """`moment` if it is within office hours, else the next opening (08:30 of the next working day)."""
    local = moment.astimezone(LOCAL)
    day = local.date()
    if is_workday(day) and local.time() <= CLOSES:
        return moment if local.time() >= OPENS else _at(day, OPENS)
    day += dt.timedelta(days=1)
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return _at(day, OPENS)


def last_open(moment: dt.datetime, is_workday: Callable[[dt.date], bool]) -> dt.datetime:
    """`moment` if it is within office hours, else the last closing before it (17:30)."""
    local = moment.astimezone(LOCAL)
    day = local.date()
    if is_workday(day) and local.time() >= OPENS:
        return moment if local.time() <= CLOSES else _at(day, CLOSES)
    day -= dt.timedelta(days=1)
    while not is_workday(day):
        day -= dt.timedelta(days=1)
    return _at(day, CLOSES)
