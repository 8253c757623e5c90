"""Several app hosts, one PostgreSQL (issue 13): two gunicorn processes on two ports, each with an
upload folder of its own, share one database and one Redis. A scan uploaded through one host
downloads through the other (same bytes, same Chinese name); wrong passwords count across both —
the lock-out (in the user's row) and the per-name sign-in limit (in Redis).

Needs TEST_DATABASE_URL (a database beside it is created) and TEST_REDIS_URL; under CI=true a
missing server fails the test instead of skipping it."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

import pytest
import requests
import sqlalchemy as sa

from conftest import IN_CI, PG_URL, create_postgres_database, make_app, reset_postgres

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_URL = os.environ.get("TEST_REDIS_URL")
SCAN_NAME = "用电申请书（两台主机）.pdf"
SCAN_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 3000 + b"\n%%EOF\n"  # 768 KB: two chunks
PASSWORD = "Two-Hosts-2026!"
LOCKOUT = 4
PER_NAME = 5  # failed sign-ins per name in ten minutes (the lock-out comes first)


def _missing(reason: str):
    if IN_CI:
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


def _redis() -> str:
    if not REDIS_URL:
        _missing("TEST_REDIS_URL not set: the two-host test needs Redis")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as exc:
        _missing(f"Redis at TEST_REDIS_URL is unreachable: {exc}")
    return REDIS_URL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _schema() -> tuple[str, str]:
    """A PostgreSQL database beside TEST_DATABASE_URL, emptied, with the schema from `flask model apply`."""
    if not PG_URL:
        _missing("TEST_DATABASE_URL not set: the two-host test needs PostgreSQL")
    redis_url = _redis()
    url = create_postgres_database(PG_URL, "two_hosts")
    try:
        reset_postgres(url)
    except sa.exc.OperationalError as exc:
        _missing(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "two-hosts-test-secret"}
    env.pop("FLASK_DEBUG", None)
    applied = subprocess.run([os.path.join(ROOT, ".venv", "bin", "flask"), "--app", "app", "model", "apply"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert applied.returncode == 0, applied.stderr[-2000:]
    return url, redis_url


def _start(name: str, url: str, redis_url: str, folder: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "SECRET_KEY": "two-hosts-test-secret",
           "SLA_SWEEP_IN_PROCESS": "0", "UPLOAD_FOLDER": folder, "ACCESS_LOG": "/dev/null",
           "LOGIN_LOCKOUT_FAILURES": str(LOCKOUT), "LOGIN_RATE_LIMIT_PER_USER": f"{PER_NAME} per 10 minutes",
           "LOGIN_RATE_LIMIT_PER_IP": "1000 per 10 minutes"}
    for key in ("RATELIMIT_STORAGE_URI", "UPLOAD_STORAGE", "FLASK_DEBUG", "YKT_DEMO"):
        env.pop(key, None)
    proc = subprocess.Popen([os.path.join(ROOT, ".venv", "bin", "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, f"http://127.0.0.1:{port}"


def _people_and_case(url: str, tag: str) -> tuple[dict, int]:
    """Two clerks (one to be locked out) and an application, written while the hosts start."""
    app = make_app(url, FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    with app.app_context():
        core, sm = app.extensions["yekuotong"], app.appbuilder.sm
        users = {}
        for name in ("clerk", "locked"):
            users[name] = f"{name}-{tag}"
            sm.add_user(users[name], "两台", "测试", f"{users[name]}@example.cn", sm.find_role("clerk"),
                        password=PASSWORD)
        row = core.orm["application"](customer_type="residential", business_type="new", address="潢川县两台主机路1号",
                                      capacity_kw=8, needs_engineering=False, inspection_passed=False)
        core.db.session.add(row)
        core.db.session.commit()
        case = row.id
        core.db.session.remove()
        core.db.engine.dispose()
    return users, case


def _wait(proc: subprocess.Popen, base: str) -> None:
    for _ in range(240):
        if proc.poll() is not None:
            pytest.fail(f"host {base} stopped: {proc.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(base + "/login/", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.25)
    pytest.fail(f"host {base} did not answer within 60 s")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Host A and host B (`gunicorn 'app:create_app()'`, one worker each, upload folders of their
    own) on one database and one Redis, with the people and the application the tests use."""
    url, redis_url = _schema()
    procs = []
    try:
        for name in ("a", "b"):
            procs.append(_start(name, url, redis_url, str(tmp_path_factory.mktemp(f"uploads-{name}"))))
        tag = uuid.uuid4().hex[:8]
        users, case = _people_and_case(url, tag)
        for proc, base in procs:
            _wait(proc, base)
        yield {"url": url, "users": users, "case": case, "tag": tag, "bases": [base for _proc, base in procs]}
    finally:
        for proc, _base in procs:
            proc.send_signal(signal.SIGINT)  # quick shutdown: nothing is left to finish
        for proc, _base in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def hosts(shared):
    return shared["bases"]


def _csrf(session: requests.Session, url: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', session.get(url, timeout=10).text)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def _sign_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    answer = session.post(base + "/login/", data={"username": username, "password": PASSWORD,
                                                  "csrf_token": _csrf(session, base + "/login/")}, timeout=10)
    assert answer.status_code == 200 and "/logout" in answer.text, answer.text[-1000:]
    return session


def _api_login(base: str, username: str, password: str) -> requests.Response:
    return requests.post(base + "/api/v1/security/login", timeout=10,
                         json={"username": username, "password": password, "provider": "db"})


def test_a_scan_uploaded_through_one_host_downloads_through_the_other(shared, hosts):
    host_a, host_b = hosts
    clerk = shared["users"]["clerk"]
    on_a = _sign_in(host_a, clerk)
    added = on_a.post(host_a + "/document/add", timeout=20, allow_redirects=False, data={
        "csrf_token": _csrf(on_a, host_a + "/document/add"), "application": str(shared["case"]),
        "kind": "id_card_copy", "received": "y", "pages": "1"},
        files={"attachment": (SCAN_NAME, SCAN_BYTES, "application/pdf")})
    assert added.status_code == 302, added.text[-2000:]
    engine = sa.create_engine(shared["url"])
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT attachment FROM document WHERE application_id = :a"),
                                  {"a": shared["case"]}).scalar_one()
    finally:
        engine.dispose()
    assert stored.endswith("_sep_" + SCAN_NAME)
    on_b = _sign_in(host_b, clerk)
    got = on_b.get(f"{host_b}/document/download/{stored}", timeout=20)
    assert got.status_code == 200 and got.content == SCAN_BYTES
    assert got.headers["Content-Type"] == "application/pdf"
    assert SCAN_NAME in unquote(got.headers["Content-Disposition"])
    assert requests.get(f"{host_b}/document/download/{stored}", timeout=10,
                        allow_redirects=False).status_code == 302  # signed out: to the login page


def test_wrong_passwords_count_across_both_hosts(shared, hosts):
    """Failures made at the same moment on both hosts all count: the account locks after
    LOGIN_LOCKOUT_FAILURES of them, wherever they were made, and the right password is refused."""
    host_a, host_b = hosts
    user = shared["users"]["locked"]
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda base: _api_login(base, user, "wrong-password").status_code,
                                [host_a, host_b, host_a]))
    assert answers == [401] * 3
    engine = sa.create_engine(shared["url"])
    try:
        with engine.connect() as conn:
            failures = conn.execute(sa.text("SELECT fail_login_count FROM ab_user WHERE username = :u"),
                                    {"u": user}).scalar_one()
    finally:
        engine.dispose()
    assert failures == 3  # none lost to a concurrent write
    assert _api_login(host_b, user, "wrong-password").status_code == 401  # the fourth: locked now
    refused = _api_login(host_a, user, PASSWORD)
    assert refused.status_code == 401 and "已被锁定" in refused.json()["message"]


def test_the_sign_in_limit_is_shared_through_redis(shared, hosts):
    """Five failed sign-ins per name in ten minutes, made on both hosts: the sixth is 429 on either."""
    host_a, host_b = hosts
    name = f"nobody-{shared['tag']}"
    for base in (host_a, host_b) * 2 + (host_a,):
        assert _api_login(base, name, "wrong").status_code == 401
    assert _api_login(host_a, name, "wrong").status_code == 429
    assert _api_login(host_b, name, "wrong").status_code == 429
    # Another name is not limited: the limit is per name, not per host or address.
    assert _api_login(host_b, f"somebody-{shared['tag']}", "wrong").status_code == 401
