"""Scale benchmark (issue 13): the app under gunicorn (2 workers) on a database filled by
bench/generate.py, beside a stock Flask-AppBuilder app (bench/stock_app.py) over the same rows.

    .venv/bin/python bench/scale.py --url postgresql+psycopg://postgres@127.0.0.1:5432/ykt_bench_100k \
        --port 8096 --stock-port 8097 --json bench/results/scale_100k.json

For each page: p50/p95 over --repeat sequential requests (after --warmup untimed ones; a page slower
than 20 s is timed once) and the body
size; list throughput with 4 client threads for --seconds; workflow steps/s over HTTP (new
applications made through the API, then forwarded) beside a bare Flask + SQLAlchemy floor (lock +
update + history insert per request, same server setup); worker RSS after the warm-up and after all
requests. The step measurement adds applications to the database (clerk-created, at 业务受理).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

#: The rows a generated list pages through (app/generated/views/paging.py).
COUNT_LIMIT = 10_000

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
GUNICORN = os.path.join(ROOT, ".venv", "bin", "gunicorn")
PASSWORDS = {"clerk": "clerk-2026", "manager": "manager-2026", "auditor": "auditor-2026", "admin": "admin-2026",
             "metering": "metering-2026"}


# ---------------------------------------------------------------------------------------- servers
def serve(target: str, port: int, env: dict) -> subprocess.Popen:
    env = {**os.environ, "WEB_CONCURRENCY": "2", "ACCESS_LOG": "/dev/null", "GUNICORN_TIMEOUT": "120",
           "SLA_SWEEP_IN_PROCESS": "0", "SECRET_KEY": "bench-scale-secret", **env}
    proc = subprocess.Popen([GUNICORN, "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "120",
                             "--log-level", "warning", "--access-logfile", "/dev/null", target],
                            cwd=ROOT, env=env)
    for _ in range(120):
        try:
            if requests.get(f"http://127.0.0.1:{port}/login/", timeout=5).status_code in (200, 302):
                return proc
        except requests.RequestException:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"server {target} on {port} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def workers_rss_mb(proc: subprocess.Popen) -> list[float]:
    """Resident memory (MB) of the gunicorn workers (the master's children)."""
    out = []
    try:
        children = open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
    except OSError:
        return out
    for pid in children:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    out.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return out


def login(base: str, username: str) -> requests.Session:
    s = requests.Session()
    html = s.get(f"{base}/login/", timeout=30).text
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    data = {"username": username, "password": PASSWORDS[username], **({"csrf_token": m.group(1)} if m else {})}
    r = s.post(f"{base}/login/", data=data, allow_redirects=False, timeout=30)
    if r.status_code != 302:
        raise SystemExit(f"login as {username} at {base} failed: {r.status_code}")
    return s


def token(base: str, username: str) -> str:
    r = requests.post(f"{base}/api/v1/security/login", json={"username": username, "password": PASSWORDS[username],
                                                              "provider": "db"}, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


# ---------------------------------------------------------------------------------------- measuring
WARMUP = [2]


def measure(session, url: str, repeat: int, headers=None) -> dict:
    times, size, status, rows, errors = [], 0, None, None, 0
    for k in range(repeat + WARMUP[0]):
        t0 = time.perf_counter()
        try:
            r = session.get(url, headers=headers or {}, timeout=180, allow_redirects=False)
        except requests.RequestException:  # a worker killed (timeout, memory): counted, not fatal
            errors += 1
            if errors > 2:
                break
            continue
        dt_ms = (time.perf_counter() - t0) * 1000
        status, size = r.status_code, len(r.content)
        rows = _rows(r)
        if k >= WARMUP[0]:
            times.append(dt_ms)
        if dt_ms > 20000 and k >= WARMUP[0]:  # very slow pages: fewer repeats are enough to tell
            break
    times.sort()
    if not times:
        return {"status": "error", "errors": errors, "p50_ms": None, "p95_ms": None, "kb": None, "n": 0}
    return {"status": status, "rows": rows, "errors": errors, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(round(len(times) * 0.95)) - 1)], 1),
            "kb": round(size / 1024, 1), "n": len(times)}


def _rows(response) -> int | None:
    """Records on the page: items of an API list, else distinct record links (show/<id>) in the HTML."""
    if response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            return len(response.json().get("result", []))
        except ValueError:
            return None
    return len(set(re.findall(r"/show/(\d+)", response.text)))


def throughput(session_factory, url: str, seconds: float, threads: int = 4) -> dict:
    done, errors = [0], [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker():
        s = session_factory()
        while time.perf_counter() < deadline:
            try:
                ok = s.get(url, timeout=60, allow_redirects=False).status_code == 200
            except requests.RequestException:
                ok = False
            with lock:
                done[0] += ok
                errors[0] += not ok

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(threads):
            pool.submit(worker)
    elapsed = time.perf_counter() - t0
    return {"req_s": round(done[0] / elapsed, 1), "errors": errors[0]}


def facts(url: str) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        q = lambda sql: c.exec_driver_sql(sql).scalar()  # noqa: E731
        out = {"applications": q("select count(*) from application"),
               "customers": q("select count(*) from customer"),
               "history": q("select count(*) from workflow_history"),
               "timers_open": q("select count(*) from sla_timer where status in ('running','paused','overdue')"),
               "db_size": q("select pg_size_pretty(pg_database_size(current_database()))"),
               "open_app": q("select min(id) from application where stage not in ('archive','cancelled') "
                             "and owner_id is not null"),
               "manager_id": q("select id from ab_user where username='manager'"),
               "mid_stage": q("select stage from application where stage not in ('archive','cancelled') "
                              "group by stage order by count(*) desc limit 1"),
               "some_number": q("select number from application order by id desc limit 1"),
               "some_customer": q("select id from customer order by id limit 1"),
               "some_customer_name": q("select name from customer order by id limit 1"),
               "some_phone_tail": q("select right(phone, 6) from customer order by id desc limit 1"),
               "manager_unit": q("select unit_id from ab_user where username='manager'")}
    engine.dispose()
    return out


def pages(f: dict, pages_n: int) -> list[tuple[str, str, str | None, str]]:
    """(label, app user, app path, stock path); app paths use the generated screens' URL arguments."""
    # a deep page under the paging cap (10,000 rows: 25 a page, page 399 is the last one shown)
    deep = max(1, min(pages_n // 2, COUNT_LIMIT // 25 - 1))
    v, sv = "ApplicationView", "ApplicationModelView"
    return [
        ("application list, default page", "auditor", "/application/list/", "/applicationmodelview/list/"),
        (f"application list, page {deep}", "auditor", f"/application/list/?page_{v}={deep}",
         f"/applicationmodelview/list/?page_{sv}={deep}"),
        (f"application list, filter stage = {f['mid_stage']}", "auditor",
         f"/application/list/?_flt_0_stage={f['mid_stage']}", f"/applicationmodelview/list/?_flt_0_stage={f['mid_stage']}"),
        ("application list, filter owner = demo manager", "auditor", f"/application/list/?_flt_0_owner={f['manager_id']}",
         f"/applicationmodelview/list/?_flt_0_owner={f['manager_id']}"),
        ("application list, filter unit = demo manager's unit", "auditor",
         f"/application/list/?_flt_0_unit_of_case={f['manager_unit']}", None),
        ("application list, filter overdue", "auditor", "/application/list/?_flt_0_overdue=y", None),
        ("application list, ordered by next due date", "auditor",
         f"/application/list/?_oc_{v}=next_due&_od_{v}=asc", None),
        ("search by customer name (application list)", "auditor",
         f"/application/list/?_flt_0_customer_text={f['some_customer_name']}", None),
        ("search by customer phone ending (application list)", "auditor",
         f"/application/list/?_flt_0_customer_text={f['some_phone_tail']}", None),
        ("application list, ordered by 受理日期 desc", "auditor",
         f"/application/list/?_oc_{v}=accepted_on&_od_{v}=desc",
         f"/applicationmodelview/list/?_oc_{sv}=accepted_on&_od_{sv}=desc"),
        ("search by application number", "auditor", f"/application/list/?_flt_0_number={f['some_number']}",
         f"/applicationmodelview/list/?_flt_0_number={f['some_number']}"),
        ("search by customer (applications of one customer)", "auditor",
         f"/application/list/?_flt_0_customer={f['some_customer']}", None),
        ("customer list, search by name", "auditor", f"/customer/list/?_flt_0_name={f['some_customer_name']}",
         f"/customermodelview/list/?_flt_0_name={f['some_customer_name']}"),
        ("customer list", "auditor", "/customer/list/", "/customermodelview/list/"),
        ("application page", "auditor", f"/application/show/{f['open_app']}",
         f"/applicationmodelview/show/{f['open_app']}"),
        ("add-application form", "clerk", "/application/add", "/applicationmodelview/add"),
        ("我的待办 /todo/ (demo manager)", "manager", "/todo/", None),
        ("landing page /", "manager", "/", None),
        ("deadline dashboard /sla/dashboard/", "auditor", "/sla/dashboard/", None),
        ("monthly summary /fines/summary/", "auditor", "/fines/summary/", None),
        ("API list /api/v1/application/", "auditor", "/api/v1/application/", "/api/v1/application/"),
    ]


# ---------------------------------------------------------------------------------------- steps
def step_rate(base: str, n: int, clients: int) -> dict:
    """Make n applications at the initial stage through the API (clerk), hand in their documents, then
    forward them all with `clients` threads: steps/s, p50, p95 (only the forward requests timed)."""
    from app import create_app

    tok = token(base, "clerk")
    h = {"Authorization": f"Bearer {tok}"}
    url = os.environ["BENCH_URL"]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "SLA_SWEEP_IN_PROCESS": False})
    with app.app_context():
        core = app.extensions["yekuotong"]
        wf = core.engine.wf
        fields = core.model.entities[core.model.workflow.entity].fields
        first = [t for t in wf.transitions_from(wf.initial_stage) if not t.reflexive][0]
        record = {k: (f.choices[0].value if f.type == "choice" else None) for k, f in fields.items()}
        kinds = wf.required_documents(record, wf.initial_stage)
        docs = core.model.workflow.documents
        doc_entity = docs.entity if docs else None
        kind_field = docs.kind_field if docs else None
        cust_cls = core.orm["customer"]
        customer = core.db.session.execute(core.db.session.query(cust_cls.id).order_by(cust_cls.id.desc()).limit(1).statement).scalar()
        core.db.session.remove()
        core.db.engine.dispose()
    body = {"customer": customer, "address": "压测地址 1 号", "capacity_kw": 8}
    for k, f in fields.items():
        if f.type == "choice" and f.required:
            body[k] = f.choices[0].value
    ids = []
    for _ in range(n):
        r = requests.post(f"{base}/api/v1/{core.model.workflow.entity}/", json=body, headers=h, timeout=60)
        if r.status_code not in (200, 201):
            return {"error": f"create: {r.status_code} {r.text[:200]}"}
        pk = r.json()["id"]
        ids.append(pk)
        for kind in kinds:
            requests.post(f"{base}/api/v1/{doc_entity}/", json={"application": pk, kind_field: kind}, headers=h,
                          timeout=60)
    latencies, statuses = [], {}
    lock = threading.Lock()

    def one(pk):
        t0 = time.perf_counter()
        r = requests.post(f"{base}/api/v1/{core.model.workflow.entity}/{pk}/workflow/{first.trigger}",
                          json={"data": {}}, headers=h, timeout=60)
        with lock:
            latencies.append(time.perf_counter() - t0)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, ids))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"steps_s": round(n / elapsed, 1), "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1), "statuses": statuses,
            "trigger": first.trigger}


def bare_rate(port: int, url: str, n: int, clients: int) -> dict:
    """The floor: a bare Flask + SQLAlchemy app doing a row lock, an update and an insert per request
    (bench/scale_bare.py), on the same server setup and database, over the same number of requests."""
    proc = serve("bench.scale_bare:app", port, {"BARE_DATABASE_URL": url})
    try:
        ids = requests.get(f"http://127.0.0.1:{port}/ids/{n}", timeout=60).json()
        latencies = []
        lock = threading.Lock()

        def one(pk):
            t0 = time.perf_counter()
            requests.post(f"http://127.0.0.1:{port}/step/{pk}", timeout=60)
            with lock:
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, ids))
        elapsed = time.perf_counter() - t0
        latencies.sort()
        return {"steps_s": round(len(ids) / elapsed, 1), "p50_ms": round(statistics.median(latencies) * 1000, 1),
                "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1)}
    finally:
        stop(proc)


# ---------------------------------------------------------------------------------------- main
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--port", type=int, default=8096)
    p.add_argument("--stock-port", type=int, default=8097)
    p.add_argument("--bare-port", type=int, default=8098)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--warmup", type=int, default=2, help="untimed requests before each page's timed ones")
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--json", default=None)
    p.add_argument("--skip-stock", action="store_true")
    p.add_argument("--only", default=None, help="measure only the pages whose label matches this regex")
    args = p.parse_args()
    os.environ["BENCH_URL"] = args.url
    WARMUP[0] = args.warmup
    from bench.common import git_commit

    f = facts(args.url)
    pages_n = max(1, f["applications"] // 25)
    result = {"facts": f, "commit": git_commit(), "load_before": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "nproc": os.cpu_count(), "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
              "pages": [], "throughput": {}, "rss_mb": {}}
    print(json.dumps(f, ensure_ascii=False), flush=True)
    plist = [p for p in pages(f, pages_n) if not args.only or re.search(args.only, p[0])]
    app_proc = serve("app:create_app()", args.port, {"DATABASE_URL": args.url})
    stock_proc = None
    try:
        base = f"http://127.0.0.1:{args.port}"
        sessions = {u: login(base, u) for u in {u for _l, u, _a, _s in plist}}
        api_h = {"Authorization": f"Bearer {token(base, 'auditor')}"}
        first_rss = None
        for label, user, path, _stock in plist:
            h = api_h if path.startswith("/api/") else None
            m = measure(sessions[user], base + path, args.repeat, h)
            if first_rss is None:
                first_rss = workers_rss_mb(app_proc)
            result["pages"].append({"label": label, "app": m, "app_path": path})
            print(f"app   {label:<55} {m}", flush=True)
        result["rss_mb"]["app_after_first_page"] = first_rss
        result["throughput"]["app_list"] = throughput(lambda: login(base, "auditor"), base + "/application/list/",
                                                      args.seconds)
        print("app list throughput", result["throughput"]["app_list"], flush=True)
        result["rss_mb"]["app_after_all"] = workers_rss_mb(app_proc)
        print("app rss", result["rss_mb"], flush=True)
        if args.steps:
            result["steps"] = step_rate(base, args.steps, args.clients)
            print("steps", result["steps"], flush=True)
    finally:
        stop(app_proc)
    if not args.skip_stock:
        env = {"STOCK_DATABASE_URL": args.url, "STOCK_UPDATE_PERMS": "0"}
        subprocess.run([sys.executable, "-c", "import os; os.environ['STOCK_UPDATE_PERMS']='1';"
                        "from bench.stock_app import create_app; create_app()"], cwd=ROOT,
                       env={**os.environ, **env}, check=True)
        stock_proc = serve("bench.stock_app:create_app()", args.stock_port, env)
        try:
            sbase = f"http://127.0.0.1:{args.stock_port}"
            s = login(sbase, "admin")
            sh = {"Authorization": f"Bearer {token(sbase, 'admin')}"}
            first_rss = None
            for entry, (label, _u, _a, spath) in zip(result["pages"], plist):
                if spath is None:
                    continue
                m = measure(s, sbase + spath, args.repeat, sh if spath.startswith("/api/") else None)
                if first_rss is None:
                    first_rss = workers_rss_mb(stock_proc)
                entry["stock"], entry["stock_path"] = m, spath
                print(f"stock {label:<55} {m}", flush=True)
            result["rss_mb"]["stock_after_first_page"] = first_rss
            result["throughput"]["stock_list"] = throughput(lambda: login(sbase, "admin"),
                                                            sbase + "/applicationmodelview/list/", args.seconds)
            print("stock list throughput", result["throughput"]["stock_list"], flush=True)
            result["rss_mb"]["stock_after_all"] = workers_rss_mb(stock_proc)
        finally:
            stop(stock_proc)
        if args.steps:
            result["bare_steps"] = bare_rate(args.bare_port, args.url, args.steps, args.clients)
            print("bare", result["bare_steps"], flush=True)
    result["load_after"] = os.getloadavg()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, ensure_ascii=False, indent=1)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
