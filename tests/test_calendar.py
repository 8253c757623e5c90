"""Tests for app.workflow.calendar.WorkCalendar: 2026 official days, provisional 2027, deadlines."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings, strategies as st

from app.workflow.calendar import SHANGHAI, WorkCalendar

D = date


# Built once at import: hypothesis tests use it directly (function-scoped fixtures and
# @given do not mix), the table-driven tests through the fixture.
CAL = WorkCalendar.from_chinesecalendar()


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return CAL


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# ---- is_workday -------------------------------------------------------------------------

@pytest.mark.parametrize("day, expected", [
    (D(2026, 1, 1), False), (D(2026, 1, 2), False), (D(2026, 1, 4), True),   # 元旦 + Sun make-up
    (D(2026, 2, 13), True), (D(2026, 2, 14), True),                            # Sat make-up
    (D(2026, 2, 15), False), (D(2026, 2, 16), False), (D(2026, 2, 23), False),  # 春节 incl. 除夕
    (D(2026, 2, 24), True), (D(2026, 2, 28), True), (D(2026, 3, 1), False),     # Sat make-up
    (D(2026, 4, 6), False), (D(2026, 5, 5), False), (D(2026, 5, 9), True),
    (D(2026, 6, 19), False), (D(2026, 9, 25), False),
    (D(2026, 9, 20), True), (D(2026, 10, 7), False), (D(2026, 10, 10), True),   # 国庆
    (D(2026, 10, 11), False), (D(2026, 11, 28), False), (D(2026, 11, 30), True),
])
def test_is_workday_2026(cal, day, expected):
    assert cal.is_workday(day) is expected


def test_2026_matches_chinesecalendar_every_day(cal):
    day, workdays = D(2026, 1, 1), 0
    while day.year == 2026:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        workdays += cal.is_workday(day)
        day += timedelta(days=1)
    assert workdays == 248
    assert cal.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 248


def test_all_loaded_years_match_chinesecalendar(cal):
    day = D(2004, 1, 1)
    while day.year <= 2026:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


# ---- add_working_days -------------------------------------------------------------------

@pytest.mark.parametrize("start, n, expected", [
    (D(2026, 9, 30), 1, D(2026, 10, 8)),    # straight over 国庆
    (D(2026, 9, 18), 1, D(2026, 9, 20)),    # Fri -> Sun make-up
    (D(2026, 10, 8), 2, D(2026, 10, 10)),   # Thu, Fri, then Sat make-up
    (D(2026, 10, 9), 2, D(2026, 10, 12)),
    (D(2026, 2, 13), 1, D(2026, 2, 14)),    # Fri -> Sat make-up
    (D(2026, 2, 14), 1, D(2026, 2, 24)),    # whole 春节 break skipped
    (D(2026, 2, 27), 1, D(2026, 2, 28)),    # Fri -> Sat make-up
    (D(2026, 2, 27), 2, D(2026, 3, 2)),
    (D(2026, 12, 31), 1, D(2027, 1, 4)),    # 2027-01-01 provisional holiday, then weekend
    (D(2026, 11, 28), 1, D(2026, 11, 30)),  # Saturday start -> Monday
    (D(2026, 11, 29), 1, D(2026, 11, 30)),  # Sunday start -> Monday
    (D(2026, 11, 28), 0, D(2026, 11, 28)),  # n == 0 returns the day itself, even a day off
    (D(2026, 11, 30), 5, D(2026, 12, 7)),
])
def test_add_working_days(cal, start, n, expected):
    assert cal.add_working_days(start, n) == expected


@pytest.mark.parametrize("a, b, expected", [
    (D(2026, 9, 30), D(2026, 10, 8), 1),
    (D(2026, 10, 8), D(2026, 9, 30), -1),
    (D(2026, 11, 27), D(2026, 11, 30), 1),
    (D(2026, 11, 28), D(2026, 11, 28), 0),
    (D(2026, 2, 13), D(2026, 2, 28), 6),    # 02-14, 02-24..27, 02-28
    (D(2026, 2, 14), D(2026, 2, 23), 0),    # the whole 春节 break
])
def test_working_days_between(cal, a, b, expected):
    assert cal.working_days_between(a, b) == expected


# ---- provisional years ------------------------------------------------------------------

@pytest.mark.parametrize("day, expected", [
    (D(2027, 1, 1), False),
    (D(2027, 2, 5), False), (D(2027, 2, 6), False), (D(2027, 2, 7), False), (D(2027, 2, 8), False),
    (D(2027, 2, 9), True),    # holidays' "(observed)" shift, ignored
    (D(2027, 2, 10), True),   # ditto
    (D(2027, 5, 3), True),    # Labor Day (observed), ignored
    (D(2027, 10, 1), False), (D(2027, 10, 4), True),
])
def test_provisional_2027(cal, day, expected):
    assert cal.is_provisional(day)
    assert cal.is_workday(day) is expected


def test_provisional_flags(cal):
    assert not cal.is_provisional(D(2026, 12, 31))
    assert cal.provisional_years_in(D(2026, 12, 1), D(2028, 1, 3)) == [2027, 2028]
    assert cal.provisional_years_in(D(2026, 1, 1), D(2026, 12, 31)) == []
    with pytest.raises(ValueError):
        cal.provisional_years_in(D(2027, 1, 1), D(2026, 1, 1))


def test_from_days_loads_a_notice_year_over_the_provisional_rule():
    # Hypothetical 2027 notice: 春节 02-05..02-11 with make-up Sat 02-20.
    hols = {D(2027, 1, 1)} | {D(2027, 2, d) for d in range(5, 12)}
    cal = WorkCalendar.from_days({2027: (hols, {D(2027, 2, 20)})})
    assert not cal.is_provisional(D(2027, 2, 9))
    assert not cal.is_workday(D(2027, 2, 9))
    assert cal.is_workday(D(2027, 2, 20))
    assert cal.is_provisional(D(2026, 10, 10))   # 2026 not loaded here: no make-up Saturday
    assert not cal.is_workday(D(2026, 10, 10))


@pytest.mark.parametrize("loaded", [
    {2027: (set(), {D(2027, 2, 22)})},                   # make-up on a Monday
    {2027: ({D(2026, 1, 1)}, set())},                    # date outside its year
    {2027: ({D(2027, 2, 20)}, {D(2027, 2, 20)})},        # both holiday and workday
    {2050: (set(), set())},                              # year outside the span
])
def test_from_days_rejects_inconsistent_input(loaded):
    with pytest.raises(ValueError):
        WorkCalendar.from_days(loaded)


def test_from_chinesecalendar_rejects_uncovered_year():
    with pytest.raises(ValueError, match="2027"):
        WorkCalendar.from_chinesecalendar(years=[2027])


# ---- errors and immutability ------------------------------------------------------------

def test_outside_span_raises(cal):
    with pytest.raises(ValueError, match="outside"):
        cal.is_workday(D(2003, 12, 31))
    with pytest.raises(ValueError, match="outside"):
        cal.add_working_days(D(2041, 1, 1), 1)
    with pytest.raises(ValueError, match="beyond"):
        cal.add_working_days(D(2040, 12, 28), 10)


def test_bad_arguments(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(D(2026, 1, 5), -1)
    with pytest.raises(TypeError):
        cal.is_workday(sh(2026, 1, 5, 12))  # datetimes must go through due_at


def test_immutable(cal):
    with pytest.raises(AttributeError):
        cal._flags = b""
    with pytest.raises(AttributeError):
        cal.extra = 1


# ---- due_at / working_days_left ---------------------------------------------------------

@pytest.mark.parametrize("event, n, expected", [
    (sh(2026, 11, 28, 10), 1, sh(2026, 12, 1)),                            # Sat -> end of Mon
    (datetime(2026, 11, 27, 20, tzinfo=timezone.utc), 1, sh(2026, 12, 1)),  # already Sat 04:00 in Shanghai
    (datetime(2026, 11, 26, 15, 59, tzinfo=timezone.utc), 1, sh(2026, 11, 28)),  # Thu 23:59 -> end of Fri
    (datetime(2026, 11, 26, 16, 0, tzinfo=timezone.utc), 1, sh(2026, 12, 1)),    # Fri 00:00 -> end of Mon
    (datetime(2026, 11, 27, 9, tzinfo=ZoneInfo("America/New_York")), 1, sh(2026, 12, 1)),  # Fri 22:00 NY = Sat
    (sh(2026, 9, 30, 23, 59), 1, sh(2026, 10, 9)),
    (sh(2026, 11, 30, 0, 0), 0, sh(2026, 12, 1)),
    (sh(2026, 12, 31, 9), 1, sh(2027, 1, 5)),                               # provisional 2027
])
def test_due_at(cal, event, n, expected):
    due = cal.due_at(event, n)
    assert due == expected
    assert due.tzinfo == SHANGHAI and (due.hour, due.minute) == (0, 0)


def test_due_at_rejects_naive(cal):
    with pytest.raises(ValueError, match="naive"):
        cal.due_at(datetime(2026, 11, 28, 10), 1)
    with pytest.raises(ValueError, match="naive"):
        cal.working_days_left(datetime(2026, 11, 28, 10), sh(2026, 12, 1))


@pytest.mark.parametrize("now, expected", [
    (sh(2026, 11, 25, 9), 3),    # Wed: Thu, Fri, Mon to come
    (sh(2026, 11, 27, 9), 1),    # Fri
    (sh(2026, 11, 28, 9), 1),    # Sat
    (sh(2026, 11, 30, 9), 0),    # Mon = the due day
    (sh(2026, 11, 30, 23, 59), 0),
    (sh(2026, 12, 1, 0, 0), -1),  # overdue at midnight exactly
    (sh(2026, 12, 2, 9), -2),
    (datetime(2026, 11, 30, 15, 59, tzinfo=timezone.utc), 0),   # 23:59 in Shanghai
    (datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc), -1),   # 00:00 Tue in Shanghai
])
def test_working_days_left(cal, now, expected):
    due = cal.due_at(sh(2026, 11, 28, 10), 1)   # 2026-12-01 00:00
    assert cal.working_days_left(now, due) == expected


def test_working_days_left_overdue_over_weekend_is_negative(cal):
    due = sh(2026, 11, 28)          # end of Friday 11-27
    assert cal.working_days_left(sh(2026, 11, 28, 9), due) == -1   # Saturday
    assert cal.working_days_left(sh(2026, 11, 29, 9), due) == -1   # Sunday
    assert cal.working_days_left(sh(2026, 11, 30, 9), due) == -1   # Monday
    assert cal.working_days_left(sh(2026, 12, 1, 9), due) == -2


# ---- properties -------------------------------------------------------------------------

days_2020_2027 = st.dates(min_value=D(2020, 1, 1), max_value=D(2027, 12, 31))
counts = st.integers(min_value=1, max_value=400)


@settings(max_examples=300, deadline=None)
@given(days_2020_2027, counts)
def test_result_is_workday(d, n):
    assert CAL.is_workday(CAL.add_working_days(d, n))


@settings(max_examples=300, deadline=None)
@given(days_2020_2027, counts)
def test_strictly_increasing_in_n(d, n):
    assert d < CAL.add_working_days(d, n) < CAL.add_working_days(d, n + 1)


@settings(max_examples=300, deadline=None)
@given(days_2020_2027, st.integers(min_value=0, max_value=400))
def test_between_inverts_add(d, n):
    assert CAL.working_days_between(d, CAL.add_working_days(d, n)) == n


@settings(max_examples=200, deadline=None)
@given(days_2020_2027, st.integers(min_value=1, max_value=30))
def test_add_matches_naive_loop(d, n):
    day, left = d, n
    while left:
        day += timedelta(days=1)
        left -= CAL.is_workday(day)
    assert CAL.add_working_days(d, n) == day
