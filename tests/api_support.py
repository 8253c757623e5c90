"""Shared by tests/test_api_*.py, test_scope.py and test_matrix.py: one app per backend with the demo
data, plus a second customer manager and unit head in another unit (the supply station) with a case
of their own, a scan on disk and fines of both units; helpers to sign in and to read the database."""
from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from conftest import PASSWORDS, database_url, make_app

OTHER_UNIT = "supply_station"
EXTRA_USERS = [  # username, role, family name, given name, password
    ("manager2", "customer_manager", "孙", "二经理", "manager2-2026"),
    ("head2", "unit_head", "吴", "所长", "head2-2026"),
]
ALL_PASSWORDS = {**PASSWORDS, **{u[0]: u[4] for u in EXTRA_USERS}}
MONTH = "2026-10"
SCAN = "身份证 正面（王某）.pdf"
SCAN_BYTES = b"%PDF-1.4\n% a scan\n"
FORBIDDEN = ("password", "scrypt:", "pbkdf2:")


def core_of(app):
    return app.extensions["yekuotong"]


#: One app per backend for every test module that imports the fixture (a fixture imported into two
#: modules is two fixtures to pytest: without this, each module would load the demo again).
_APPS: dict[str, object] = {}


@pytest.fixture(scope="session")
def api_app(backend, tmp_path_factory):
    """The demo data and the supply station's people; exceptions become 500 answers (not raised)."""
    from app.database.apply import apply_model
    from app.demo import load_demo

    if backend not in _APPS:
        uploads = tmp_path_factory.mktemp("uploads")
        app = make_app(database_url(backend, tmp_path_factory, name="api"), PROPAGATE_EXCEPTIONS=False,
                       FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000", UPLOAD_FOLDER=str(uploads) + os.sep)
        with app.app_context():
            apply_model()
            load_demo()
            _supply_station(app)
        _APPS[backend] = app
    app = _APPS[backend]
    yield app
    with app.app_context():
        core_of(app).db.session.remove()


def _supply_station(app) -> None:
    from app.assessment.entries import FineEntry

    core, sm = core_of(app), app.appbuilder.sm
    session = core.db.session
    unit_cls = core.orm["unit"]
    units = {u.code: u for u in session.scalars(select(unit_cls))}
    for username, role, family, given, password in EXTRA_USERS:
        user = sm.add_user(username, given, family, f"{username}@example.cn", sm.find_role(role), password=password)
        user.unit_id = units[OTHER_UNIT].id
        user.work_phone = "0376-3999999"
        sm.update_user(user)
    manager2 = sm.find_user(username="manager2")
    customer = core.orm["customer"](name="供电所客户", customer_type="residential", phone="13912345678",
                                    id_card="41152619800101888X", address="潢川县供电所路8号")
    row = core.orm["application"](customer=customer, business_type="new", customer_type="residential",
                                  address="潢川县供电所路8号", capacity_kw=Decimal("8"), needs_engineering=False,
                                  inspection_passed=False, owner_id=manager2.id)
    session.add(row)
    session.flush()
    stored = f"{'0' * 32}_sep_{SCAN}"
    with open(os.path.join(app.config["UPLOAD_FOLDER"], stored), "wb") as f:
        f.write(SCAN_BYTES)
    session.add(core.orm["document"](application=row, kind="id_card_copy", received=True, pages=1,
                                     attachment=stored))
    clerk = sm.find_user(username="clerk")
    for i, (user_id, unit_id, rule) in enumerate([(manager2.id, None, "A6"), (None, units[OTHER_UNIT].id, "A13"),
                                                  (clerk.id, None, "A5"),
                                                  (None, units["service_center"].id, "A10")]):
        session.add(FineEntry(trigger_key=f"test:api:{i}", rule_id=rule, rule_label=rule, model_version="t",
                              target_user_id=user_id, target_unit_id=unit_id, amount=Decimal(10 + i),
                              status="confirmed", month=MONTH, evidence="{}",
                              proposed_at=dt.datetime(2026, 10, 9, tzinfo=dt.timezone.utc)))
    session.commit()


_CLIENTS: dict[tuple[int, str], object] = {}


@pytest.fixture(scope="session")
def api_login(api_app):
    """api_login('manager2') -> a test client signed in as that user (one per user and app)."""
    def _login(username: str):
        key = (id(api_app), username)
        if key not in _CLIENTS:
            client = api_app.test_client()
            response = client.post("/login/", data={"username": username, "password": ALL_PASSWORDS[username]})
            assert response.status_code == 302, f"login as {username} failed"
            _CLIENTS[key] = client
        return _CLIENTS[key]
    return _login


def count(app, key: str, **where) -> int:
    with app.app_context():
        cls = core_of(app).orm[key]
        query = select(func.count()).select_from(cls)
        for name, value in where.items():
            query = query.where(getattr(cls, name) == value)
        return core_of(app).db.session.scalar(query)


def ids(app, key: str, **where) -> list[int]:
    with app.app_context():
        cls = core_of(app).orm[key]
        query = select(cls.id).order_by(cls.id)
        for name, value in where.items():
            query = query.where(getattr(cls, name) == value)
        return list(core_of(app).db.session.scalars(query))


def user_id(app, username: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


def case_of(app, username: str) -> int:
    """The first case owned by `username`."""
    return ids(app, "application", owner_id=user_id(app, username))[0]


def private_values(app) -> set[str]:
    """Every stored value of every private field (ID numbers, phones, addresses), as text."""
    found: set[str] = set()
    with app.app_context():
        core = core_of(app)
        for key, entity in core.model.entities.items():
            names = [n for n, f in entity.fields.items() if f.private]
            cls = core.orm[key]
            for name in names:
                found |= {str(v) for v in core.db.session.scalars(select(getattr(cls, name))) if v}
    return found


def leaks(text: str, secrets: set[str], words=FORBIDDEN) -> list[str]:
    """What of the forbidden words and private values a response body holds."""
    lowered = text.lower()
    found = [word for word in words if word in lowered]
    return found + sorted(v for v in secrets if v in text)


def private_names(app, url: str) -> set[str]:
    """The private fields of the entity an /api/v1/<entity>/... URL serves (none for other APIs)."""
    entity = core_of(app).model.entities.get(url.split("/")[3] if url.count("/") >= 3 else "")
    return {n for n, f in entity.fields.items() if f.private} if entity else set()


def private_keys(body, private: set[str]) -> list[str]:
    """Keys named like a private field anywhere in the 'result' of a JSON body."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            found.extend(k for k in node if k in private)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(body.get("result") if isinstance(body, dict) else None)
    return found


def body_text(response) -> str:
    """The body as a person reads it: JSON re-written without \\u escapes (Flask escapes Chinese)."""
    parsed = as_json(response)
    text = response.get_data().decode("utf-8", "replace")
    return text if parsed is None else json.dumps(parsed, ensure_ascii=False)


def as_json(response):
    if not response.is_json:
        return None
    try:
        return json.loads(response.get_data())
    except ValueError:
        return None


# ------------------------------------------------------------------ every rule of the URL map
SKIP_ENDPOINTS = ("static", "appbuilder.static", "progress.static")
#: Endpoints that end the caller's session or change its language: requested with a throw-away client.
SESSION_ENDPOINTS = ("logout", "LocaleView.index", "revoke")
ARGS = {"version": "v1", "form": "application_form", "trigger": "forward", "code": "ABCD2345",
        "name": "none", "locale": "zh", "fine_id": "1", "sanction_id": "1", "year": "2026", "month": "10",
        "group_by": "0", "key": "document", "action": "add"}


def views_by_blueprint(app) -> dict:
    return {v.blueprint.name: v for v in app.appbuilder.baseviews if getattr(v, "blueprint", None) is not None}


def view_of(app, endpoint: str):
    return views_by_blueprint(app).get(endpoint.rsplit(".", 1)[0]) if "." in endpoint else None


def first_id(app, cls) -> int | None:
    with app.app_context():
        return core_of(app).db.session.scalar(select(func.min(cls.id)))


def sample_url(app, rule, case_id: int, scan: str) -> str | None:
    """A concrete URL for `rule` naming rows that exist (the case `case_id`, the scan `scan`)."""
    if rule.endpoint in SKIP_ENDPOINTS:
        return None
    view = view_of(app, rule.endpoint)
    datamodel = getattr(view, "datamodel", None)
    values = {}
    for arg in rule.arguments:
        if arg == "pk":
            workflow = core_of(app).model.workflow.entity
            if datamodel is None or getattr(datamodel.obj, "__entity_key__", None) == workflow:
                values[arg] = case_id
            else:
                values[arg] = first_id(app, datamodel.obj) or 1
        elif arg == "filename":
            values[arg] = scan
        else:
            values[arg] = ARGS.get(arg, "1")
    with app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **values)


def api_rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")), key=lambda r: r.rule)
