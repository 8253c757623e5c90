"""Benchmark of the printed forms: median render time and PDF size per form of one demo application.

    python bench/bench_forms.py [--runs 10]

Builds a throw-away SQLite database with the demo data (`model apply` + `demo load`), takes the
demo application archived through the customer-works path (every form is printable), adds two
intermediate-inspection defects so the inspection record has rows, prints every form once (so the
archive list lists printed forms), then measures for each form:

* render: ``Printing.render_preview`` -- context from the database, Jinja, xhtml2pdf, checks;
* print: ``GET /print/<form>/<pk>`` through the test client -- the above plus permission and
  stage checks, the print record, the history row and the commit.

Medians of ``--runs`` runs after one warm-up. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as `python bench/bench_forms.py` from anywhere
os.chdir(ROOT)

TARGET_MS = 500
TARGET_KB = 300
PASSWORD = {"clerk": "clerk-2026", "manager": "manager-2026", "auditor": "auditor-2026", "admin": "admin-2026"}
PRINTER = {"clerk": "clerk", "customer_manager": "manager", "auditor": "auditor", "admin": "admin"}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "app", "bench"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return out + (" (with uncommitted changes in app/ or bench/)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    started = time.perf_counter()
    from sqlalchemy import select

    from app import create_app
    from app.demo import load_demo
    from app.printing.forms import count_pages
    from app.printing.values import Recorder
    from app.database.apply import apply_model

    tmp = tempfile.mkdtemp(prefix="ykt-bench-forms-")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                      "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench-secret-0123456789",
                      "SLA_SWEEP_IN_PROCESS": False})
    with app.app_context():
        apply_model()
        load_demo()
        core = app.extensions["yekuotong"]
        printing = app.extensions["ykt_printing"]
        session = core.db.session
        cls = core.orm["application"]
        row = session.scalars(select(cls).where(cls.stage == "archive", cls.needs_engineering.is_(True))
                              .order_by(cls.id)).first()
        defect = core.orm["inspection_defect"]
        session.add(defect(application_id=row.id, inspection="intermediate", description="接地电阻偏大（实测12Ω）",
                           rectify_by=dt.date.today(), fixed=True, recheck_note="已重新敷设接地极，复测3.6Ω"))
        session.add(defect(application_id=row.id, inspection="hidden_works", description="电缆埋深不足0.7m",
                           rectify_by=dt.date.today(), fixed=True, recheck_note="已整改"))
        session.commit()
        pk, number = row.id, row.number
        documents = len(printing._collection(session, core.model, row, Recorder(), "document", {}))
    setup_s = time.perf_counter() - started

    clients = {}

    def client(username):
        if username not in clients:
            c = app.test_client()
            c.post("/login/", data={"username": username, "password": PASSWORD[username]})
            clients[username] = c
        return clients[username]

    forms = list(app.extensions["yekuotong"].model.forms)
    printer = {key: PRINTER[next(r for r in app.extensions["yekuotong"].model.forms[key].roles if r in PRINTER)]
               for key in forms}
    for key in forms:  # one print each, so the archive list has printed forms to list
        response = client(printer[key]).get(f"/print/{key}/{pk}")
        assert response.status_code == 200, (key, response.status_code)

    rows = []
    for key in forms:
        with app.test_request_context():
            core = app.extensions["yekuotong"]
            session = core.db.session
            row = session.get(core.orm["application"], pk)
            printing.render_preview(session, row, key, printed_by="王业扩")  # warm-up
            render_ms, size = [], 0
            for _ in range(args.runs):
                t = time.perf_counter()
                pdf = printing.render_preview(session, row, key, printed_by="王业扩",
                                              verify_url="http://localhost/verify/0000000000")
                render_ms.append((time.perf_counter() - t) * 1000)
                size = len(pdf)
            pages = count_pages(pdf)
            session.rollback()
        print_ms = []
        for _ in range(args.runs):
            t = time.perf_counter()
            response = client(printer[key]).get(f"/print/{key}/{pk}")
            print_ms.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200
        rows.append((key, pages, size, statistics.median(render_ms), min(render_ms), statistics.median(print_ms)))

    print(f"# forms benchmark: {platform.platform()}, {platform.machine()}, nproc {os.cpu_count()}, "
          f"Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    print(f"commit {git_commit()}; application {number} (archived, customer works, {documents} documents, "
          f"2 defects); {args.runs} runs per form after one warm-up; set-up {setup_s:.1f} s\n")
    print("| form | pages | size | render median (min) | print request median | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key, pages, size, median, low, request_median in rows:
        ok = "met" if median < TARGET_MS and size < TARGET_KB * 1024 else "**missed**"
        print(f"| {key} | {pages} | {size:,} B = {size / 1024:.1f} KB | {median:.0f} ms ({low:.0f}) | "
              f"{request_median:.0f} ms | {ok} |")


if __name__ == "__main__":
    main()
