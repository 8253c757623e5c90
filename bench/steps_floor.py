"""Workflow steps/s over HTTP beside the bare floor, in one run (issue 13, "workflow steps").

    .venv/bin/python bench/steps_floor.py --url postgresql+psycopg://postgres@127.0.0.1:5432/ykt_bench_10k

The app (gunicorn, 2 workers) creates --steps applications through its API and forwards each once
with --clients threads (bench/scale.py step_rate); then the bare Flask + SQLAlchemy app
(bench/scale_bare.py: row lock, update, history insert) takes as many steps in a database beside it
on the same server (its tables in the app's database would be dropped by the next `model apply`).
--rounds alternates the two so that a busy machine weighs on both alike; the best round of each is
reported with the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.scale import bare_rate, serve, step_rate, stop  # noqa: E402


def _beside(url: str, suffix: str) -> str:
    """A database named after `url`'s with `suffix`, created when missing."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    name = parsed.database + suffix
    engine = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--port", type=int, default=8096)
    p.add_argument("--bare-port", type=int, default=8098)
    p.add_argument("--bare-url", default=None, help="the floor's database (default: --url's name + _bare)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    os.environ["BENCH_URL"] = args.url
    bare_url = args.bare_url or _beside(args.url, "_bare")
    app_runs, bare_runs = [], []
    for _ in range(args.rounds):
        proc = serve("app:create_app()", args.port, {"DATABASE_URL": args.url})
        try:
            app_runs.append(step_rate(f"http://127.0.0.1:{args.port}", args.steps, args.clients))
        finally:
            stop(proc)
        print("app ", app_runs[-1], flush=True)
        bare_runs.append(bare_rate(args.bare_port, bare_url, args.steps, args.clients))
        print("bare", bare_runs[-1], flush=True)
    app_best = max(app_runs, key=lambda r: r.get("steps_s", 0))
    bare_best = max(bare_runs, key=lambda r: r["steps_s"])
    ratio = app_best.get("steps_s", 0) / bare_best["steps_s"]
    print(json.dumps({"app": app_best, "bare": bare_best, "ratio": round(ratio, 2)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
