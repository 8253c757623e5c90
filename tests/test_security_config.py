"""Deployment safety (issue 10, rows 8, 10, 11, 18): no public signing key, demo data only in demo mode,
gunicorn stops without a key, protective headers and cookies, a hashed lock of every dependency."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from security_support import fresh_limits, secure_app, sign_in  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
OLD_PUBLIC_KEY = "dev-only-not-for-production"  # the constant the demo mode signed with before


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "YKT_DEMO", "FLASK_DEBUG")}
    env.update(extra)
    return env


# ------------------------------------------------------------------ row 8: the signing key
def test_demo_key_is_random_per_installation_and_private(tmp_path, monkeypatch):
    from flask.sessions import SecureCookieSessionInterface

    from app import create_app

    monkeypatch.setenv("YKT_DEMO", "1")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    key_file = tmp_path / "instance" / "secret_key"
    config = {"SECRET_KEY": None, "SECRET_KEY_FILE": str(key_file), "SQLALCHEMY_DATABASE_URI": "sqlite://",
              "STORAGE_CHECK": False}
    first = create_app(dict(config))
    key = first.config["SECRET_KEY"]
    assert re.fullmatch(r"[0-9a-f]{64}", key) and key != OLD_PUBLIC_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    from app.security.secret_key import installation_key

    assert installation_key(str(key_file)) == key  # the same installation keeps it
    assert installation_key(str(tmp_path / "other" / "secret_key")) != key  # another has its own
    # A session forged with the old public constant is not accepted.
    from itsdangerous import BadSignature

    interface = SecureCookieSessionInterface()
    old = type("OldApp", (), {"secret_key": OLD_PUBLIC_KEY, "config": first.config})()
    forged = interface.get_signing_serializer(old).dumps({"_user_id": "1", "_fresh": True})
    with pytest.raises(BadSignature):
        interface.get_signing_serializer(first).loads(forged)


def test_demo_load_refuses_outside_demo_mode(tmp_path, monkeypatch):
    from sqlalchemy import func, select

    from app.database.apply import apply_model
    from app.security.user import StaffUser
    from conftest import make_app

    monkeypatch.delenv("YKT_DEMO", raising=False)
    production = make_app(f"sqlite:///{tmp_path / 'prod.db'}", TESTING=False)
    with production.app_context():
        apply_model()
    refused = production.test_cli_runner().invoke(args=["demo", "load"])  # output: stdout and stderr
    assert refused.exit_code == 1
    assert "演示模式" in refused.output and "YKT_DEMO=1" in refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)
    with production.app_context():
        session = production.extensions["yekuotong"].db.session
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 0  # no admin/admin-2026
        session.remove()
        production.extensions["yekuotong"].db.engine.dispose()


# ------------------------------------------------------------------ row 10: gunicorn without a key
def _gunicorn(tmp_path, *args) -> subprocess.CompletedProcess:
    env = _env(DATABASE_URL=f"sqlite:///{tmp_path / 'g.db'}")
    return subprocess.run([str(Path(sys.executable).parent / "gunicorn"), *args, "--bind", "127.0.0.1:8091",
                           "--workers", "1", "app:create_app()"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_gunicorn_without_secret_key_stops_instead_of_respawning(tmp_path):
    # Without our config file: the worker refuses with exit code 3 and the master stops.
    bare = _gunicorn(tmp_path, "--config", os.devnull)
    assert bare.returncode == 3, bare.stderr[-3000:]
    assert "SECRET_KEY is not set" in bare.stderr
    assert bare.stderr.count("Booting worker") == 1  # not respawned
    # With gunicorn.conf.py (read from the working directory): the master refuses before forking.
    configured = _gunicorn(tmp_path)
    assert configured.returncode == 3, configured.stderr[-3000:]
    assert "SECRET_KEY is not set" in configured.stderr and "Booting worker" not in configured.stderr


# ------------------------------------------------------------------ row 11: headers and cookies
def test_pages_and_api_answers_carry_protective_headers(secure_app, fresh_limits):
    anonymous = secure_app.test_client()
    login_page = anonymous.get("/login/")
    cookie = login_page.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    admin = sign_in(secure_app, "admin")
    for response in (login_page, admin.get("/"), admin.get("/application/list/"),
                     admin.get("/api/v1/application/"), anonymous.get("/api/v1/nothing-here")):
        headers = response.headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert "Server" not in headers
    policy = login_page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "http" not in policy  # no remote host allowed


def test_secure_cookie_comes_from_the_environment():
    code = "import config; print(config.SESSION_COOKIE_SECURE, config.SESSION_COOKIE_SAMESITE)"
    on = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(SESSION_COOKIE_SECURE="1"),
                        capture_output=True, text=True, timeout=60)
    off = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=60)
    assert on.stdout.split() == ["True", "Lax"] and off.stdout.split() == ["False", "Lax"]


# ------------------------------------------------------------------ row 18: the lock
def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def test_every_dependency_is_locked_with_hashes_and_make_installs_the_lock():
    runtime, dev = ROOT / "requirements.lock", ROOT / "requirements-dev.lock"
    locked, dev_locked = _pins(runtime), _pins(dev)
    assert len(locked) > 40  # the transitive versions, not only the direct ones
    for path in (runtime, dev):
        text = path.read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 6)[-1])
        for block in blocks:
            if re.match(r"^[A-Za-z0-9]", block):
                assert "--hash=sha256:" in block, block[:80]
    # Every direct pin is in the lock at the same version; the dev lock agrees with the runtime one.
    for name, version in _pins(ROOT / "requirements.txt").items():
        assert locked.get(name) == version, name
    for name, version in _pins(ROOT / "requirements-dev.txt").items():
        assert dev_locked.get(name) == version, name
    assert {n: v for n, v in dev_locked.items() if n in locked} == locked
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock -r requirements-dev.lock" in makefile
    assert "-r requirements-dev.txt" not in makefile.split("lock:")[0]


# ------------------------------------------------------------------ row 11: the pages pass the policy
CHROMIUM = "/usr/bin/chromium"


def test_pages_work_under_the_policy_in_a_browser(secure_app, fresh_limits, backend):
    """Headless Chromium: no page breaks the content security policy, and a delete (FAB's confirm
    dialog posting its hidden form with the CSRF token) still works. The pages and headers do not
    depend on the database: run once."""
    if backend != "sqlite":
        pytest.skip("browser check runs on one backend")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it")
        pytest.skip("chromium not installed")
    import threading

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from test_workflow_api import new_application

    pk = new_application(secure_app, "residential", False)
    with secure_app.app_context():
        core = secure_app.extensions["yekuotong"]
        doomed = core.orm["customer"](name="浏览器删除客户", customer_type="residential", phone="13800000031",
                                      address="潢川县浏览器路1号")
        core.db.session.add(doomed)
        core.db.session.commit()
        doomed_id = doomed.id
    server = make_server("127.0.0.1", 0, secure_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    violations: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(locale="zh-CN").new_page()
            page.on("console", lambda m: violations.append(f"{page.url}: {m.text}")
                    if "Content Security Policy" in m.text or "Refused to" in m.text else None)
            page.on("pageerror", lambda e: violations.append(f"{page.url}: {e}"))
            page.goto(f"{base}/login/")
            page.fill("#username", "admin")
            page.fill("#password", "admin-2026")
            page.click("[type=submit]")
            page.wait_for_load_state()
            for path in ("/", f"/application/show/{pk}", "/application/list/", "/users/list/", "/actionlog/list/",
                         "/calendar/", "/fines/summary/", "/swagger/v1", "/resetmypassword/form"):
                page.goto(base + path)
                page.wait_for_load_state("load")
            page.goto(f"{base}/customer/list/?_flt_0_name=浏览器删除客户")
            page.locator("a.confirm").first.click(timeout=5000)
            page.locator("#modal-confirm-ok").click(timeout=5000)
            page.wait_for_load_state("networkidle")
            browser.close()
    finally:
        server.shutdown()
    assert violations == []
    with secure_app.app_context():
        session = secure_app.extensions["yekuotong"].db.session
        assert session.get(secure_app.extensions["yekuotong"].orm["customer"], doomed_id) is None
        session.rollback()


def test_no_screen_loads_google_charts(app, login):
    """用户统计 drew with Google Charts from the internet (blank offline): it is gone, menu and URL."""
    admin = login("admin")
    page = admin.get("/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "userstatschartview" not in page.lower() and "用户统计" not in page
    assert admin.get("/userstatschartview/chart/").status_code == 404
