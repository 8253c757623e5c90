"""Benchmark on PostgreSQL: SLA sweep time at 1,000,000 open timers with 0 / 1,000 / 10,000 due,
and the monthly assessment summary for one unit holding 100,000 fines.

Usage: python bench/bench_sla_fines.py [--timers 1000000] [--fines 100000]
Uses BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/ykt_bench2), wiped first.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ykt_bench2")


def main() -> None:
    import sqlalchemy as sa

    from bench.bench_workflow import _ensure_db, commit
    from tests.conftest import make_app, reset_postgres

    parser = argparse.ArgumentParser()
    parser.add_argument("--timers", type=int, default=1_000_000)
    parser.add_argument("--fines", type=int, default=100_000)
    args = parser.parse_args()
    url = _ensure_db(URL)
    reset_postgres(url)
    app = make_app(url)
    from app.database.apply import apply_model
    from app.assessment.views import monthly_summary

    with app.app_context():
        apply_model()
        core = app.extensions["yekuotong"]
        session = core.db.session
        now = dt.datetime(2026, 11, 28, 12, tzinfo=dt.timezone.utc)
        future = now + dt.timedelta(days=30)
        start = time.perf_counter()
        # Open applications hold about three running timers each: 1,000,000 timers ~ 333,334 cases,
        # all written by the database itself.
        apps = args.timers // 3 + 1
        session.execute(sa.text(
            "INSERT INTO application (number, stage, suspended, lock_version, customer_type, business_type,"
            " address, capacity_kw, needs_engineering) SELECT 'B' || g, 'site_survey', false, 1, 'residential',"
            " 'new', '压测', 4, false FROM generate_series(1, :n) g"), {"n": apps})
        first = session.execute(sa.text("SELECT min(id) FROM application")).scalar_one()
        session.execute(sa.text(
            "INSERT INTO sla_timer (application_id, timer, status, limit_days, started_at, due_at, provisional,"
            " breach_recorded, model_version) SELECT :first + g / 3, (ARRAY['survey','plan_reply','forward'])[1 + g % 3],"
            " 'running', 3, :now, :future + (g % 1000) * interval '1 minute', false, false, 'bench'"
            " FROM generate_series(0, :n - 1) g"), {"first": first, "now": now, "future": future, "n": args.timers})
        session.commit()
        session.execute(sa.text("ANALYZE sla_timer"))
        session.commit()
        load = time.perf_counter() - start
        results = {}
        start = time.perf_counter()
        core.sla.sweep(session, now)  # cold: first statement of the process (connect, compile)
        cold = time.perf_counter() - start
        for due in (0, 1000, 10000):
            if due:
                session.execute(sa.text(
                    "UPDATE sla_timer SET due_at = :past WHERE id IN (SELECT id FROM sla_timer "
                    "WHERE status = 'running' ORDER BY random() LIMIT :n)"), {"past": now - dt.timedelta(hours=1), "n": due})
                session.commit()
            start = time.perf_counter()
            found = core.sla.sweep(session, now)
            results[due] = (time.perf_counter() - start, found)

        # 100,000 fines for one unit in one month (plus 10% in other months and units).
        unit_id = session.scalars(sa.select(core.orm["unit"].id).where(core.orm["unit"].code == "service_center")).one()
        other = session.scalars(sa.select(core.orm["unit"].id).where(core.orm["unit"].code == "marketing")).one()
        session.execute(sa.text(
            "INSERT INTO fine_entry (trigger_key, rule_id, rule_label, model_version, target_unit_id, amount,"
            " evidence, status, proposed_at, month) SELECT 'bench:' || g, 'A' || (1 + g % 14), '压测', 'bench',"
            " CASE WHEN g % 11 = 0 THEN :other ELSE :unit END, 50, '{}',"
            " (ARRAY['proposed','confirmed','waived'])[1 + g % 3], :now,"
            " CASE WHEN g % 13 = 0 THEN '2026-10' ELSE '2026-11' END FROM generate_series(1, :n) g"),
            {"unit": unit_id, "other": other, "now": now, "n": int(args.fines * 1.12)})
        session.commit()
        session.execute(sa.text("ANALYZE fine_entry"))
        session.commit()
        count = session.execute(sa.text("SELECT count(*) FROM fine_entry WHERE target_unit_id=:u AND month='2026-11'"),
                                {"u": unit_id}).scalar_one()
        times = []
        for _ in range(7):
            start = time.perf_counter()
            monthly_summary(session, "2026-11", unit_id=unit_id)
            times.append(time.perf_counter() - start)

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, commit {commit()}")
    print(f"data: {args.timers} running timers (loaded in {load:.1f} s); PostgreSQL on localhost")
    print(f"first sweep of the process (cold, none due): {cold * 1000:.0f} ms")
    for due, (seconds, found) in results.items():
        aim = "aim < 50 ms" if due == 0 else "aim < 2 s"
        print(f"sweep with {due} due: {seconds * 1000:.0f} ms, {found} breaches recorded ({aim})")
    print(f"monthly summary for one unit with {count} fines that month: median {statistics.median(times) * 1000:.0f} ms "
          f"(aim < 500 ms)")


if __name__ == "__main__":
    main()
