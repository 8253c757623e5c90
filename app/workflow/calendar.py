"""Working-day calendar for PRC statutory holidays and make-up workdays (调休), with O(1) date arithmetic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["SHANGHAI", "STATUTORY_NAMES", "WorkCalendar"]

# Deadlines are legal obligations in Beijing time; the server's own TZ must never leak in.
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Default precomputed span. Chosen so that deadlines computed years ahead (provisional
# years) still resolve; widen via the first_year/last_year keywords if ever needed.
FIRST_YEAR = 2004
LAST_YEAR = 2040

# English names (language="en_US") that `holidays.China` gives to statutory days off.
# Everything else it returns is ignored for provisional years: "(observed)" shifts,
# "Day off (substituted from ...)" swaps and one-off extensions are decided by the State
# Council notice each year and are unknown until it is loaded, so guessing them would
# make provisional deadlines look more precise than they are.
STATUTORY_NAMES = frozenset(
    {
        "New Year's Day",  # 元旦
        "Chinese New Year's Eve",  # 除夕
        "Chinese New Year (Spring Festival)",  # 春节
        "Tomb-Sweeping Day",  # 清明
        "Labor Day",  # 劳动节
        "Dragon Boat Festival",  # 端午
        "Mid-Autumn Festival",  # 中秋
        "National Day",  # 国庆
    }
)

_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)


def statutory_holidays(years: Iterable[int]) -> set[date]:
    """Statutory days off for `years` per the `holidays` package, observed/substituted days excluded."""
    years = sorted(set(years))
    if not years:
        return set()
    import holidays  # imported lazily: only needed when some year is provisional

    table = holidays.China(years=years, language="en_US")
    wanted = set(years)
    result = set()
    for day, name in table.items():
        # Coinciding holidays are joined with "; " (e.g. "Mid-Autumn Festival; National Day").
        if day.year in wanted and any(part in STATUTORY_NAMES for part in name.split("; ")):
            result.add(day)
    return result


def _require_date(d: object) -> date:
    # datetime is a subclass of date; silently taking its naive date would use the wrong
    # zone for aware values, so datetimes must go through due_at/working_days_left.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a datetime.date (not datetime), got {type(d).__name__}")
    return d


def _to_shanghai(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} is a naive datetime ({value.isoformat()}); pass a timezone-aware one")
    return value.astimezone(SHANGHAI)


class WorkCalendar:
    """Immutable working-day calendar over a fixed span of years.

    A day is a working day when:
      * its year is *loaded*: it is a make-up workday, or it is Mon–Fri and not an official
        holiday of that year;
      * its year is *provisional* (not loaded): it is Mon–Fri and not a statutory holiday
        according to the `holidays` package (observed shifts ignored, no make-up days).

    All lookups are table reads: ``_flags[i]`` is 1 for a workday, ``_cum[i]`` counts the
    workdays in span days ``0..i`` and ``_nth[k]`` is the span index of the (k+1)-th workday.
    """

    __slots__ = ("_first", "_last", "_base", "_flags", "_cum", "_nth", "_loaded")

    def __init__(self, loaded_years: Mapping[int, tuple[Iterable[date], Iterable[date]]],
                 *, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> None:
        if first_year > last_year:
            raise ValueError(f"first_year {first_year} is after last_year {last_year}")
        first, last = date(first_year, 1, 1), date(last_year, 12, 31)
        days_off: set[date] = set()
        makeup: set[date] = set()
        for year, (hols, works) in loaded_years.items():
            h, w = _validated_year(year, hols, works, first_year, last_year)
            days_off |= h
            makeup |= w
        loaded = frozenset(loaded_years)
        days_off |= statutory_holidays(y for y in range(first_year, last_year + 1) if y not in loaded)

        count = last.toordinal() - first.toordinal() + 1
        flags = bytearray(count)
        cum = [0] * count
        nth = []
        running = 0
        d = first
        for i in range(count):
            if d in makeup or (d.weekday() < 5 and d not in days_off):
                flags[i] = 1
                running += 1
                nth.append(i)
            cum[i] = running
            d += _ONE_DAY

        # Bypass our own __setattr__ guard exactly once, here.
        for name, value in (("_first", first), ("_last", last), ("_base", first.toordinal()),
                            ("_flags", bytes(flags)), ("_cum", tuple(cum)), ("_nth", tuple(nth)),
                            ("_loaded", loaded)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("WorkCalendar is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("WorkCalendar is immutable")

    def __repr__(self) -> str:
        return (f"WorkCalendar({self._first}..{self._last}, "
                f"loaded={sorted(self._loaded)!r})")

    # ---- constructors -------------------------------------------------------------------

    @classmethod
    def from_days(cls, loaded_years: Mapping[int, tuple[Iterable[date], Iterable[date]]],
                  *, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> WorkCalendar:
        """Build from ``{year: (holidays, makeup_workdays)}``; other years are provisional."""
        return cls(loaded_years, first_year=first_year, last_year=last_year)

    @classmethod
    def from_chinesecalendar(cls, years: Iterable[int] = range(2004, 2027), *,
                             extra: Mapping[int, tuple[Iterable[date], Iterable[date]]] | None = None,
                             first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> WorkCalendar:
        """Load `years` from the `chinesecalendar` package, plus `extra` years (e.g. admin notices).

        Raises ValueError for a year the package does not cover (it only knows 2004–2026
        in 1.11.0) or a year given both ways.
        """
        import chinese_calendar

        # The package's exported tables: `holidays` = official days off (weekends inside a
        # break included), `workdays` = make-up working days. Reading them instead of asking
        # get_holiday_detail() for each of ~8,400 days cut the whole build from ~260 ms to
        # ~9 ms; the tests cross-check every day against chinese_calendar.is_workday().
        by_year_off: dict[int, set[date]] = {}
        by_year_work: dict[int, set[date]] = {}
        for d in chinese_calendar.holidays:
            by_year_off.setdefault(d.year, set()).add(d)
        for d in chinese_calendar.workdays:
            by_year_work.setdefault(d.year, set()).add(d)
        loaded: dict[int, tuple[set[date], set[date]]] = {}
        for year in years:
            for probe in (date(year, 1, 1), date(year, 12, 31)):
                try:
                    chinese_calendar.is_workday(probe)  # raises for years the package does not cover
                except NotImplementedError as exc:
                    raise ValueError(f"chinesecalendar has no data for {year}; load it from a notice") from exc
            loaded[year] = (by_year_off.get(year, set()), by_year_work.get(year, set()))
        for year, sets in (extra or {}).items():
            if year in loaded:
                raise ValueError(f"year {year} given both from chinesecalendar and in extra")
            loaded[year] = sets
        return cls(loaded, first_year=first_year, last_year=last_year)

    # ---- date queries -------------------------------------------------------------------

    @property
    def loaded_years(self) -> frozenset[int]:
        return self._loaded

    @property
    def span(self) -> tuple[date, date]:
        """First and last day the calendar can answer for (inclusive)."""
        return self._first, self._last

    def _index(self, d: object) -> int:
        i = _require_date(d).toordinal() - self._base
        if i < 0 or i >= len(self._flags):
            raise ValueError(f"{d} is outside the working-day calendar span {self._first}..{self._last}")
        return i

    def is_workday(self, d: date) -> bool:
        return self._flags[self._index(d)] == 1

    def is_provisional(self, d: date) -> bool:
        """True when d's year has no loaded notice, so its holidays are only the statutory guess."""
        self._index(d)
        return d.year not in self._loaded

    def provisional_years_in(self, start: date, end: date) -> list[int]:
        """Sorted years in [start.year, end.year] that are provisional; ValueError if end < start."""
        self._index(start)
        self._index(end)
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        return [y for y in range(start.year, end.year + 1) if y not in self._loaded]

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day strictly after d (d itself not counted); d itself when n == 0."""
        i = self._index(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return d
        k = self._cum[i] + n - 1
        if k >= len(self._nth):
            raise ValueError(f"{n} working days after {d} is beyond the calendar span end {self._last}")
        return date.fromordinal(self._base + self._nth[k])

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; when b < a, minus the working days in (b, a]."""
        return self._cum[self._index(b)] - self._cum[self._index(a)]

    # ---- datetime helpers (always Asia/Shanghai) ----------------------------------------

    def due_at(self, event: datetime, n: int) -> datetime:
        """Deadline "24:00 of the n-th working day after the event's Shanghai date".

        Returned as 00:00 Asia/Shanghai of the following day (aware). Naive datetimes are
        rejected: which calendar day an event fell on depends on its zone.
        """
        event_day = _to_shanghai(event, "event").date()
        last_day = self.add_working_days(event_day, n)
        return datetime.combine(last_day + _ONE_DAY, time(0), tzinfo=SHANGHAI)

    def working_days_left(self, now: datetime, due: datetime) -> int:
        """Working days remaining before `due`, counted on Shanghai dates.

        Convention: let ``today`` be now's Shanghai date and ``last`` the last calendar day
        the deadline still covers (the Shanghai date of ``due`` minus one microsecond, so a
        00:00 due from :meth:`due_at` gives the n-th working day itself).

        * ``now < due``: the working days in (today, last], i.e. full working days still to
          come after today. 0 on the last day (and on any day off just before it whose
          following working days are all after the deadline).
        * ``now >= due`` (overdue): ``-max(1, working days in (last, today])``; the value is
          always <= -1 so the sign alone tells "overdue", and it grows by one per working day
          elapsed (a weekend right after a Friday deadline gives -1, Monday also -1,
          Tuesday -2).
        """
        now_sh = _to_shanghai(now, "now")
        due_sh = _to_shanghai(due, "due")
        today = now_sh.date()
        last = (due_sh - _EPSILON).date()
        if now_sh < due_sh:
            return self.working_days_between(today, last)
        return -max(1, self.working_days_between(last, today))


def _validated_year(year: int, hols: Iterable[date], works: Iterable[date],
                    first_year: int, last_year: int) -> tuple[set[date], set[date]]:
    """Check one loaded year's overrides; bad input is a programming/data error, so raise."""
    if not first_year <= year <= last_year:
        raise ValueError(f"loaded year {year} is outside the calendar span {first_year}..{last_year}")
    h, w = {_require_date(d) for d in hols}, {_require_date(d) for d in works}
    stray = sorted(d for d in h | w if d.year != year)
    if stray:
        raise ValueError(f"dates {stray} are not in loaded year {year}")
    weekday_makeup = sorted(d for d in w if d.weekday() < 5)
    if weekday_makeup:
        raise ValueError(f"make-up workdays {weekday_makeup} of {year} are already weekdays")
    both = sorted(h & w)
    if both:
        raise ValueError(f"dates {both} of {year} are both holidays and make-up workdays")
    return h, w
