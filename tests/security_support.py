"""Shared by the tests/test_security_*.py files: an app with CSRF protection on (the suite's `app`
fixture turns it off), strict limits, and helpers to sign in through the real login form."""
from __future__ import annotations

import re

import pytest

from conftest import PASSWORDS, database_url, make_app

USERS = [  # username, role, family name, given name
    ("clerk", "clerk", "王", "业扩"), ("manager", "customer_manager", "李", "经理"),
    ("auditor", "auditor", "陈", "审核"), ("admin", "admin", "系统", "管理员"),
]
SECURE_CONFIG = {
    "WTF_CSRF_ENABLED": True, "PROPAGATE_EXCEPTIONS": False,
    "LOGIN_RATE_LIMIT_PER_IP": "12 per minute", "LOGIN_RATE_LIMIT_PER_USER": "8 per minute",
    "LOGIN_LOCKOUT_FAILURES": 3, "LOGIN_LOCKOUT_MINUTES": 15, "VERIFY_RATE_LIMIT": "5 per minute",
    # Cheap hashes: these tests sign in a hundred times (production keeps FAB's scrypt).
    "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
}
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@pytest.fixture(scope="session")
def secure_app(backend, tmp_path_factory):
    """CSRF on, strict limits, the demo staff (no demo applications); one per backend."""
    from app.database.apply import apply_model

    from werkzeug.security import generate_password_hash

    application = make_app(database_url(backend, tmp_path_factory, name="sec"), **SECURE_CONFIG,
                           AUTH_DB_FAKE_PASSWORD_HASH_CHECK=generate_password_hash("x", "pbkdf2:sha256:1000"))
    with application.app_context():
        apply_model()
        core = application.extensions["yekuotong"]
        sm = application.appbuilder.sm
        unit = core.db.session.query(core.orm["unit"]).filter_by(code="service_center").one()
        for username, role, family, given in USERS:
            user = sm.add_user(username, given, family, f"{username}@example.cn", sm.find_role(role),
                               password=PASSWORDS[username])
            user.unit_id = unit.id
            sm.update_user(user)
    yield application
    with application.app_context():
        application.extensions["yekuotong"].db.session.remove()
        application.extensions["yekuotong"].db.engine.dispose()


@pytest.fixture()
def fresh_limits(secure_app):
    """Rate-limit counters start empty for the test (they are per process)."""
    from app.security.limits import limiter

    with secure_app.app_context():
        limiter.reset()
    yield
    with secure_app.app_context():
        limiter.reset()


def csrf_token(client, path: str = "/login/") -> str:
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no csrf_token on {path}"
    return match.group(1) or match.group(2)


def sign_in(app, username: str, password: str | None = None, address: str = "127.0.0.1"):
    """A client signed in through the login form (with its CSRF token) from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = form_login(client, username, password or PASSWORDS[username])
    assert response.status_code == 302 and "/login" not in response.headers["Location"], \
        f"login as {username} failed"
    return client


def form_login(client, username: str, password: str):
    token = csrf_token(client)
    return client.post("/login/", data={"username": username, "password": password, "csrf_token": token})


def api_login(client, username: str, password: str | None = None, refresh: bool = False):
    return client.post("/api/v1/security/login", json={
        "username": username, "password": password or PASSWORDS[username], "provider": "db",
        "refresh": refresh})


def page_token(client) -> str:
    """The CSRF token of a signed-in client's session (from its password page)."""
    return csrf_token(client, "/resetmypassword/form")


def flashed(client) -> str:
    """The text of the page a redirect led to (flash messages included)."""
    return client.get("/login/").get_data(as_text=True)
