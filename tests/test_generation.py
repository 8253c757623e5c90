"""What the generator builds from model.yaml: screens in Chinese, REST resources, OpenAPI offline."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from app.model.loader import load_file

MODEL = load_file("model.yaml").model


def test_every_entity_has_a_rest_resource_in_openapi(app, login):
    spec = login("admin").get("/api/v1/_openapi").get_json()
    for key in MODEL.entities:
        assert f"/api/v1/{key}/" in spec["paths"], f"missing /api/v1/{key}/ in OpenAPI"


def test_swagger_ui_is_served_without_any_cdn(app, login):
    response = login("admin").get("/swagger/v1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(not s.startswith(("http://", "https://", "//")) for s in sources), sources


def test_list_screen_shows_chinese_labels_from_the_model(app, login):
    html = login("clerk").get("/application/list/").get_data(as_text=True)
    for name in ("customer", "business_type", "capacity_kw"):
        assert MODEL.entities["application"].fields[name].label_zh in html
    assert "当前环节" in html and "申请编号" in html
    assert re.search(r"YK\d{10}", html), "application numbers are shown"
    # choice values are shown by their Chinese label, dates as 2026-11-28
    assert "居民" in html and re.search(r"\d{4}-\d{2}-\d{2}", html)


def test_english_can_be_chosen(app):
    client = app.test_client()
    client.post("/login/", data={"username": "clerk", "password": "clerk-2026"})
    client.get("/lang/en")
    html = client.get("/application/list/").get_data(as_text=True)
    assert "Business type" in html and "业务类型" not in html
    client.get("/lang/zh")
    assert "业务类型" in client.get("/application/list/").get_data(as_text=True)


def test_add_form_hides_workflow_fields(app, login):
    html = login("clerk").get("/application/add").get_data(as_text=True)
    assert 'name="capacity_kw"' in html
    for stage_field in ("meter_no", "survey_findings", "archive_no", "stage", "owner"):
        assert f'name="{stage_field}"' not in html, f"{stage_field} is set by the workflow, not the form"


def test_new_application_gets_a_number(app, login):
    from sqlalchemy import select

    client = login("clerk")
    with app.app_context():
        core = app.extensions["yekuotong"]
        customer_id = core.db.session.scalars(select(core.orm["customer"].id)).first()
    response = client.post("/api/v1/application/", json={
        "customer": customer_id, "business_type": "new", "customer_type": "residential",
        "address": "潢川县新华街8号", "capacity_kw": 8})
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        row = core.db.session.get(core.orm["application"], response.get_json()["id"])
        assert re.fullmatch(r"YK\d{6}\d{4}", row.number)
        assert row.stage == "acceptance"


def run_flask(*args, env=None, model=None):
    import os

    environ = dict(os.environ, YKT_DEMO="1", DATABASE_URL="sqlite:///:memory:")
    environ.pop("SECRET_KEY", None)
    if model:
        environ["MODEL_PATH"] = str(model)
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], capture_output=True,
                          text=True, env=environ, timeout=120)


def test_app_refuses_to_start_on_an_invalid_model_without_traceback(tmp_path):
    bad = tmp_path / "model.yaml"
    bad.write_text(open("model.yaml", encoding="utf-8").read().replace("menu: basics", "menu: nowhere"),
                   encoding="utf-8")
    result = run_flask("routes", model=bad)
    assert result.returncode == 1
    assert re.search(r"model\.yaml:\d+:\d+: error M103: ", result.stderr)
    assert "Traceback" not in result.stderr + result.stdout


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    from app import create_app

    monkeypatch.delenv("YKT_DEMO", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(SystemExit):
        create_app({"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_importing_the_package_does_nothing():
    code = "import app, sys; print('flask_appbuilder' in sys.modules, hasattr(app, 'appbuilder'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False False"
