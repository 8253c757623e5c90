"""Benchmark: workflow steps per second through the HTTP API (gunicorn, 2 workers, PostgreSQL),
and the memory the shared state machine holds per application.

Usage: python bench/bench_workflow.py [--apps 2000] [--clients 8]
Needs PostgreSQL at BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/ykt_bench).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ykt_bench")
PORT = 8091


def commit() -> str:
    from bench.common import git_commit

    return git_commit()


def prepare(apps: int) -> list[int]:
    from tests.conftest import make_app, reset_postgres

    url = _ensure_db(URL)
    reset_postgres(url)
    app = make_app(url)
    from app.demo import load_demo
    from app.database.apply import apply_model

    with app.app_context():
        apply_model()
        load_demo()
        core = app.extensions["yekuotong"]
        session = core.db.session
        ids = []
        for i in range(apps):
            row = core.orm["application"](customer_type="residential", business_type="new", address=f"压测{i}",
                                          capacity_kw=4, needs_engineering=False, inspection_passed=False)
            session.add(row)
            for kind in core.engine.wf.required_documents({"customer_type": "residential"}, core.engine.wf.initial_stage):
                session.add(core.orm["document"](application=row, kind=kind, received=True))
            if i % 200 == 199:
                session.commit()
            ids.append(row)
        session.commit()
        return [r.id for r in ids]


def _ensure_db(url: str) -> str:
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    engine = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": parsed.database}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    engine.dispose()
    return url


def request(method: str, path: str, body: dict | None = None, token: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, _json(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())


def _json(raw: bytes) -> dict:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}


WRK_SCRIPT = """
local ids = {%s}
local i = 0
local token = "%s"
request = function()
  i = i + 1
  local pk = ids[((i - 1) %% #ids) + 1]
  return wrk.format("POST", "/api/v1/application/" .. pk .. "/workflow/forward",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, '{"data": {}}')
end
local ok = 0
response = function(status, headers, body)
  if status == 200 then ok = ok + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %%d %%d %%.1f %%.1f\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""


def wrk_bench(ids: list[int], seconds: int) -> dict:
    """A C load generator (wrk, one thread, 8 connections): the Python client's own CPU use
    on this 2-core machine otherwise takes a share of the server's cores."""
    import tempfile

    token = request("POST", "/api/v1/security/login", {"username": "clerk", "password": "clerk-2026",
                                                        "provider": "db"})[1]["access_token"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % (",".join(map(str, ids)), token))
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", f.name, f"http://127.0.0.1:{PORT}"],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRK"))
    _, requests_, micros, p50, p95 = line.split()
    elapsed = int(micros) / 1e6
    return {"steps": int(requests_), "seconds": elapsed, "per_second": int(requests_) / elapsed,
            "median_ms": float(p50), "p95_ms": float(p95), "statuses": "see note"}


def http_bench(ids: list[int], clients: int, use_wrk: bool = False) -> dict:
    env = dict(os.environ, DATABASE_URL=URL, SECRET_KEY="bench-secret", SLA_SWEEP_IN_PROCESS="0")
    server = subprocess.Popen([os.path.join(ROOT, ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{PORT}",
                               "--log-level", "warning", "app:create_app()"], cwd=ROOT, env=env)
    try:
        for _ in range(60):
            try:
                if request("GET", "/login/")[0] in (200, 302):
                    break
            except OSError:
                time.sleep(0.5)
        if use_wrk:
            return wrk_bench(ids, 10)
        token = request("POST", "/api/v1/security/login", {"username": "clerk", "password": "clerk-2026",
                                                            "provider": "db"})[1]["access_token"]
        latencies: list[float] = []
        lock = threading.Lock()
        statuses: dict[int, int] = {}

        def one(pk: int) -> None:
            start = time.perf_counter()
            status, _body = request("POST", f"/api/v1/application/{pk}/workflow/forward", {"data": {}}, token)
            with lock:
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, ids))
        elapsed = time.perf_counter() - start
        return {"steps": len(ids), "seconds": elapsed, "per_second": len(ids) / elapsed,
                "median_ms": statistics.median(latencies) * 1000,
                "p95_ms": sorted(latencies)[int(len(latencies) * 0.95)] * 1000, "statuses": statuses}
    finally:
        server.terminate()
        server.wait(10)


def memory_per_application() -> dict:
    """The engine binds a transient object to the one shared machine per decision and removes it."""
    from app.model.loader import load_file
    from app.workflow.machine import Workflow

    wf = Workflow.from_model(load_file(os.path.join(ROOT, "model.yaml")).model)
    record = {"customer_type": "residential"}
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(1000):
        wf.decide("forward", stage="acceptance", suspended=False, roles={"clerk"}, record=record,
                  functions={"documents_complete": lambda: True})
    after = tracemalloc.take_snapshot()
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    retained = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return {"models_held": len(wf.machine.models), "retained_bytes_per_application": retained / 1000,
            "peak_during_decision_bytes": peak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--wrk", action="store_true", help="drive the load with wrk for 10 s instead")
    args = parser.parse_args()
    memory = memory_per_application()
    ids = prepare(args.apps)
    result = http_bench(ids, args.clients, args.wrk)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, commit {commit()}")
    client = "wrk, 1 thread, 8 connections, 10 s" if args.wrk else f"{args.clients} Python client threads"
    print(f"data: {args.apps} applications in acceptance, 'forward' fired once each ({client}), "
          f"gunicorn 2 sync workers, PostgreSQL on localhost")
    print(f"HTTP steps: {result['per_second']:.0f}/s ({result['steps']} in {result['seconds']:.1f} s), "
          f"median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, statuses {result['statuses']} "
          f"(aim >= 200/s)")
    print(f"machine state: {memory['models_held']} models held after 1000 decisions; "
          f"{memory['retained_bytes_per_application']:.0f} bytes retained per application; "
          f"peak {memory['peak_during_decision_bytes']} bytes during a decision (aim < 1 KB per application)")


if __name__ == "__main__":
    main()
