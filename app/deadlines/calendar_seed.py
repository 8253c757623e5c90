"""Seeding the calendar tables from the `chinesecalendar` package (the years it covers)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database.types import now_utc
from app.deadlines.calendar_tables import NAME_LENGTH, CalendarDay, CalendarYear
from app.workflow.calendar import FIRST_YEAR, LAST_YEAR


def package_days() -> dict[int, dict[dt.date, tuple[str, str]]]:
    """{year: {day: (kind, Chinese name)}} for every year the `chinesecalendar` package covers."""
    import chinese_calendar

    chinese = {h.value: h.chinese for h in chinese_calendar.Holiday}
    years: dict[int, dict[dt.date, tuple[str, str]]] = {}
    for day, name in chinese_calendar.holidays.items():
        years.setdefault(day.year, {})[day] = ("holiday", chinese.get(name, name or ""))
    for day, name in chinese_calendar.workdays.items():
        label = chinese.get(name, name or "")
        years.setdefault(day.year, {})[day] = ("workday", f"{label}调休上班" if label else "调休上班")
    covered = {}
    for year, days in years.items():
        try:  # the package raises for years it does not cover (holiday tables may reach into them)
            chinese_calendar.is_workday(dt.date(year, 1, 1))
            chinese_calendar.is_workday(dt.date(year, 12, 31))
        except NotImplementedError:
            continue
        if FIRST_YEAR <= year <= LAST_YEAR:
            covered[year] = days
    return covered


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chinesecalendar")
    except PackageNotFoundError:
        return "?"


def _insert(session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def seed_from_package(session) -> list[int]:
    """Load every year `chinesecalendar` covers that is not loaded yet; no commit.

    Idempotent: a year already in ``calendar_year`` (from the package, a notice or an admin) is
    left alone, so admin changes survive every later `model apply`. Safe against a concurrent
    seed: rows are inserted with ON CONFLICT DO NOTHING and a year whose row another process
    inserted first is skipped. Returns the years this call loaded.
    """
    loaded = set(session.scalars(select(CalendarYear.year)))
    wanted = {y: days for y, days in package_days().items() if y not in loaded}
    if not wanted:
        return []
    dialect_insert = _insert(session)
    now = now_utc()
    note = f"chinesecalendar {_package_version()}"
    new_years = []
    for year in sorted(wanted):
        got = session.execute(
            dialect_insert(CalendarYear).values(year=year, source="chinesecalendar", loaded_on=now,
                                                note=note)
            .on_conflict_do_nothing().returning(CalendarYear.year)).scalar()
        if got is None:
            continue  # another process loaded it meanwhile
        new_years.append(year)
        rows = [{"day": d, "kind": kind, "name": name[:NAME_LENGTH], "source": "chinesecalendar",
                 "changed_on": now} for d, (kind, name) in sorted(wanted[year].items())]
        session.execute(dialect_insert(CalendarDay).on_conflict_do_nothing(), rows)
    return new_years
