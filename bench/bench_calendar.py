"""Benchmark for WorkCalendar: µs per add_working_days / working_days_between and construction time."""

from __future__ import annotations

import random
import sys
import timeit
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as `python bench/bench_calendar.py` from anywhere
from bench.common import print_header  # noqa: E402

from app.workflow.calendar import WorkCalendar  # noqa: E402

CALLS = 200_000          # random (date, n) pairs per timing run
REPEAT = 5               # best-of, to damp scheduler noise on shared machines
BUILD_REPEAT = 5
SEED = 20260101


def main() -> None:
    print_header()

    # Construction: first call includes importing chinesecalendar/holidays, later ones do not.
    t_first = timeit.timeit(WorkCalendar.from_chinesecalendar, number=1)
    t_build = min(timeit.repeat(WorkCalendar.from_chinesecalendar, number=1, repeat=BUILD_REPEAT))
    t_days = min(timeit.repeat(lambda: WorkCalendar.from_days({}), number=1, repeat=BUILD_REPEAT))
    cal = WorkCalendar.from_chinesecalendar()
    first, last = cal.span
    print(f"span:    {first}..{last} ({(last - first).days + 1} days), loaded {min(cal.loaded_years)}"
          f"..{max(cal.loaded_years)}")
    print(f"build from_chinesecalendar(): first {t_first * 1e3:.1f} ms (with imports), "
          f"best of {BUILD_REPEAT} {t_build * 1e3:.1f} ms")
    print(f"build from_days({{}}) (all provisional): best of {BUILD_REPEAT} {t_days * 1e3:.1f} ms")

    rng = random.Random(SEED)
    start, span_days = date(2020, 1, 1), (date(2027, 12, 31) - date(2020, 1, 1)).days
    pairs = [(start + timedelta(days=rng.randrange(span_days + 1)), rng.randrange(0, 61))
             for _ in range(CALLS)]
    add = cal.add_working_days
    between = cal.working_days_between

    def run_add() -> None:
        for d, n in pairs:
            add(d, n)

    def run_between() -> None:
        for d, n in pairs:
            between(d, d)

    def run_loop() -> None:  # the cost of the loop itself, subtracted below
        for d, n in pairs:
            pass

    t_add = min(timeit.repeat(run_add, number=1, repeat=REPEAT))
    t_bet = min(timeit.repeat(run_between, number=1, repeat=REPEAT))
    t_loop = min(timeit.repeat(run_loop, number=1, repeat=REPEAT))
    us = 1e6 / CALLS
    add_us = (t_add - t_loop) * us
    print(f"data:    {CALLS} random (date in 2020..2027, n in 0..60) pairs, seed {SEED}, best of {REPEAT}")
    print(f"add_working_days:     {add_us:.3f} µs/call (loop overhead {t_loop * us:.3f} µs excluded)")
    print(f"working_days_between: {(t_bet - t_loop) * us:.3f} µs/call")
    print(f"target < 10 µs per add_working_days: {'MET' if add_us < 10 else 'NOT MET'}")


if __name__ == "__main__":
    main()
