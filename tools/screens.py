"""`make screens`: PNG screenshots of each role's key pages into docs/screens/.

Builds the app on a temporary SQLite database with the demo data, serves it on 127.0.0.1 (a free
port), signs in as each demo user in headless Chromium (/usr/bin/chromium) and saves, per role, the
workbench (工作台), the to-do (我的待办) and the first application waiting on the role (or, for roles
with nothing waiting, the page they work on: the deadline dashboard, the calendar).

Usage: .venv/bin/python tools/screens.py [--out docs/screens] [--users clerk,manager]
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CHROMIUM = "/usr/bin/chromium"
ROLES = ["clerk", "manager", "metering", "auditor", "head", "admin"]
FALLBACK = {"head": ("deadlines", "/sla/dashboard/"), "admin": ("calendar", "/calendar/")}


def build_app(folder: str):
    """The app on a fresh SQLite file in `folder`, with the model applied and the demo data loaded."""
    from app import create_app
    from app.database.apply import apply_model
    from app.demo import load_demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(folder, "screens.db"),
                      "SECRET_KEY": secrets.token_hex(32), "SLA_SWEEP_IN_PROCESS": False,
                      "RATELIMIT_STORAGE_URI": "memory://", "UPLOAD_FOLDER": os.path.join(folder, "uploads", "")})
    with app.app_context():
        apply_model()
        load_demo()
    return app


def serve(app):
    """(base url, server) of `app` served in a background thread on a free local port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def sign_in(browser, base: str, username: str, password: str):
    """A new zh-CN page signed in as `username`."""
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("[type=submit]")
    page.wait_for_load_state()
    return page


def first_case_url(page) -> str | None:
    """The link of the first application in the to-do on the page (its 处理 button), if any."""
    link = page.locator("table a.btn-primary").first
    return link.get_attribute("href") if link.count() else None


def shoot(base: str, out: str, users: list[str]) -> list[str]:
    from playwright.sync_api import sync_playwright

    from app.demo import DEMO_USERS

    passwords = {row[0]: row[-1] for row in DEMO_USERS}
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for user in users:
            page = sign_in(browser, base, user, passwords[user])
            pages = [("workbench", "/"), ("todo", "/todo/")]
            for name, path in pages:
                page.goto(base + path)
                saved.append(_save(page, out, user, name))
            case = first_case_url(page)
            name, path = ("application", case) if case else FALLBACK.get(user, (None, None))
            if path:
                page.goto(path if path.startswith("http") else base + path)
                saved.append(_save(page, out, user, name))
            page.context.close()
        browser.close()
    return saved


def _save(page, out: str, user: str, name: str) -> str:
    """The whole page; an application page (several screens long) as its first screen."""
    page.wait_for_load_state("networkidle")
    path = os.path.join(out, f"{user}-{name}.png")
    page.screenshot(path=path, full_page=name != "application")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "screens"))
    parser.add_argument("--users", default=",".join(ROLES), help="comma-separated demo user names")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print(f"error: {CHROMIUM} is missing; install Debian's chromium (apt-get install chromium).", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with tempfile.TemporaryDirectory(prefix="ykt-screens-") as folder:
        app = build_app(folder)
        base, server = serve(app)
        try:
            saved = shoot(base, args.out, [u for u in args.users.split(",") if u])
        finally:
            server.shutdown()
            with app.app_context():
                app.extensions["yekuotong"].db.engine.dispose()
    for path in saved:
        print(os.path.relpath(path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
