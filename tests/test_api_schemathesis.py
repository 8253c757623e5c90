"""Issue 10, "done when": schemathesis generates calls for every operation of /api/v1/_openapi, as the
administrator (every operation allowed), and no answer is a 5xx. A bounded number of examples per
operation keeps it quick; the app is its own (random writes must not disturb the other tests)."""
from __future__ import annotations

import os
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from conftest import PASSWORDS, database_url, make_app

EXAMPLES = 12


@pytest.fixture(scope="session")
def schema_app(backend, tmp_path_factory):
    """The model applied, the demo staff, one customer with a case and a document."""
    from app.database.apply import apply_model
    from app.demo import DEMO_USERS

    uploads = tmp_path_factory.mktemp("schema-uploads")
    app = make_app(database_url(backend, tmp_path_factory, name="schema"), PROPAGATE_EXCEPTIONS=False,
                   FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000", UPLOAD_FOLDER=str(uploads) + os.sep)
    with app.app_context():
        apply_model()
        core, sm = app.extensions["yekuotong"], app.appbuilder.sm
        for username, role, family, given_name, _unit, password in DEMO_USERS:
            sm.add_user(username, given_name, family, f"{username}@example.cn", sm.find_role(role),
                        password=password)
        customer = core.orm["customer"](name="测试客户", customer_type="residential", phone="13800000003",
                                        address="潢川县测试路3号")
        row = core.orm["application"](customer=customer, business_type="new", customer_type="residential",
                                      address="潢川县测试路3号", capacity_kw=Decimal("8"), needs_engineering=False)
        core.db.session.add(core.orm["document"](application=row, kind="id_card_copy", received=True, pages=1))
        core.db.session.commit()
    yield app
    with app.app_context():
        app.extensions["yekuotong"].db.session.remove()
        app.extensions["yekuotong"].db.engine.dispose()


@pytest.fixture(scope="session")
def bearer(schema_app) -> dict:
    response = schema_app.test_client().post("/api/v1/security/login", json={
        "username": "admin", "password": PASSWORDS["admin"], "provider": "db"})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@pytest.fixture(scope="session")
def api_schema(schema_app, bearer):
    return schemathesis.openapi.from_wsgi("/api/v1/_openapi", schema_app, headers=bearer)


def test_no_generated_call_is_a_server_error(api_schema, bearer):
    """Each operation in turn (schemathesis' own pytest plugin does not run under this pytest)."""
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            response = case.call(headers=bearer)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report each operation's failure
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert operations >= 30, operations
    assert failures == [], "\n\n".join(failures)
