"""Fixtures: one app per database backend (SQLite always, PostgreSQL from TEST_DATABASE_URL)."""
from __future__ import annotations

import contextlib
import os

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("TEST_DATABASE_URL")
IN_CI = os.environ.get("CI") == "true"
BACKENDS = ["sqlite", "postgresql"]
PASSWORDS = {"clerk": "clerk-2026", "manager": "manager-2026", "metering": "metering-2026",
             "auditor": "auditor-2026", "admin": "admin-2026", "head": "head-2026",
             # co-signing staff (会签) of 电费管理中心, 供电所, 生技, 安监
             "billing": "billing-2026", "station": "station-2026", "production": "production-2026",
             "safety": "safety-2026"}


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def database_url(backend: str, tmp_path_factory, name: str = "app") -> str:
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp(name) / "test.db")
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests must run in CI")
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    url = PG_URL if name == "app" else create_postgres_database(PG_URL, name)
    try:
        reset_postgres(url)
    except sa.exc.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return url


def create_postgres_database(base_url: str, suffix: str) -> str:
    """A second database beside the main test one, for tests that need a schema of their own."""
    url = sa.engine.make_url(base_url)
    name = f"{url.database}_{suffix}"
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def make_app(url: str, **extra):
    from app import create_app

    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
              "SECRET_KEY": "test-secret-key-for-the-test-suite-only", "SLA_SWEEP_IN_PROCESS": False}
    config.update(extra)
    return create_app(config)


@contextlib.contextmanager
def demo_app(url: str, **extra):
    """An app on `url` with the default model applied and the demo users and applications loaded;
    its connections closed afterwards. Tests that change the demo data take one of their own."""
    from app.database.apply import apply_model
    from app.demo import load_demo

    application = make_app(url, **extra)
    with application.app_context():
        apply_model()
        load_demo()
    try:
        yield application
    finally:
        with application.app_context():
            application.extensions["yekuotong"].db.session.remove()
            application.extensions["yekuotong"].db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    """An app with the default model applied and the demo users and applications loaded."""
    with demo_app(database_url(backend, tmp_path_factory)) as application:
        yield application


def signed_in_clients(app):
    """login('clerk') -> a test client of `app` signed in as that demo user (one per user: hashing is slow)."""
    clients: dict[str, object] = {}

    def _login(username: str):
        if username not in clients:
            client = app.test_client()
            response = client.post("/login/", data={"username": username, "password": PASSWORDS[username]})
            assert response.status_code == 302, f"login as {username} failed"
            clients[username] = client
        return clients[username]
    return _login


@pytest.fixture(scope="session")
def login(app):
    """login('clerk') -> a test client signed in as that demo user."""
    return signed_in_clients(app)


@pytest.fixture()
def db(app):
    """The SQLAlchemy session inside an app context, rolled back of anything left pending."""
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        yield session
        session.rollback()


@pytest.fixture()
def orm(app):
    return app.extensions["yekuotong"].orm
