"""English mode is complete where a user reads it (issue 12): the process diagram and its legend, the
app's name, unit names (model.yaml `name_en`), punctuation; and FAB's own dialog buttons in Chinese."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import PASSWORDS

HAN = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
ROOT = Path(__file__).resolve().parent.parent


def visible(html: str) -> str:
    html = re.sub(r"(?s)<script.*?</script>|<style.*?</style>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def english(app, username: str):
    client = app.test_client()
    assert client.post("/login/", data={"username": username, "password": PASSWORDS[username]}).status_code == 302
    client.get("/lang/en")
    return client


def _workflow():
    from app.model.loader import load_file
    from app.workflow.machine import Workflow

    return Workflow.from_model(load_file(ROOT / "model.yaml").model)


def test_the_diagram_and_its_legend_are_english_in_english():
    wf = _workflow()
    svg = wf.diagram_svg("plan_reply", english=True)
    ET.fromstring(svg)
    texts = " ".join(ET.fromstring(svg).itertext())
    assert not HAN.search(texts), sorted(set(HAN.findall(texts)))
    assert "Utility stage" in texts and "Customer stage" in texts and "Current stage" in texts
    assert "YeKuoTong · Application process" in texts and "Acceptance" in texts
    chinese = " ".join(ET.fromstring(wf.diagram_svg("plan_reply")).itertext())
    assert "供电企业环节" in chinese and "业务受理" in chinese and "Utility stage" not in chinese
    # The app's engine draws in the request's language without being told.
    assert wf.diagram_svg() == wf.diagram_svg(english=False)


def test_the_application_page_draws_the_diagram_in_the_users_language(app, login):
    core = app.extensions["yekuotong"]
    with app.app_context():
        pk = core.db.session.query(core.orm["application"].id).order_by(core.orm["application"].id).first()[0]
    page = english(app, "auditor").get(f"/application/show/{pk}").get_data(as_text=True)
    svg = re.search(r"(?s)<svg[^>]*workflow-diagram.*?</svg>", page).group(0)
    assert "Utility stage" in svg and "供电企业环节" not in svg and not HAN.search(" ".join(ET.fromstring(svg).itertext()))
    chinese = login("auditor").get(f"/application/show/{pk}").get_data(as_text=True)
    assert "供电企业环节" in re.search(r"(?s)<svg[^>]*workflow-diagram.*?</svg>", chinese).group(0)


def test_english_pages_show_the_english_app_name_units_and_punctuation(app):
    client = english(app, "admin")
    page = visible(client.get("/users/list/").get_data(as_text=True))
    assert "YeKuoTong" in page and "业扩通" not in page
    assert "Customer Service Center" in page and "Metering Center" in page and "客户服务中心" not in page
    assert "Service clerk" in page and "Enabled" in page
    form = visible(client.get("/users/add").get_data(as_text=True))
    assert "Customer Service Center" in form and "Please choose…" in form and "客户服务中心" not in form
    roles = visible(client.get("/roles/list/").get_data(as_text=True))
    assert "Application: list, view, add, edit" in roles and "：" not in roles and "、" not in roles


def test_fab_dialog_buttons_are_chinese(login):
    html = login("admin").get("/users/list/").get_data(as_text=True)
    footer = re.search(r'(?s)id="modal-confirm".*?</div>\s*</div>\s*</div>', html).group(0)
    assert "取消" in footer and "确定" in footer and ">Cancel<" not in footer and ">OK<" not in footer


def _history_table(page: str) -> str:
    return re.search(r'(?s)<div class="panel panel-default" id="history">.*?</table>', page).group(0)


def test_the_history_reads_in_english_with_english_unit_names(app, login, orm):
    """流转记录 in English: ASCII punctuation, role and unit names in English; a unit name no unit bears
    any more (renamed since the step) shows as it was stored."""
    history, unit = orm["workflow_history"], orm["unit"]
    session = app.extensions["yekuotong"].db.session

    def rename(name):  # in its own app context: requests must not share one (Babel keeps the locale in g)
        with app.app_context():
            session.scalars(select(unit).where(unit.code == "service_center")).one().name = name
            session.commit()

    with app.app_context():
        row = session.scalars(select(history).where(history.unit_name == "客户服务中心", history.roles == "clerk")
                              .order_by(history.id)).first()
        assert row is not None, "the demo has steps taken by a clerk of the customer service center"
        address, user = f"/application/show/{row.application_id}", row.user_name
    table = visible(_history_table(english(app, "auditor").get(address).get_data(as_text=True)))
    assert f"{user} (Service clerk, Customer Service Center)" in table and "客户服务中心" not in table
    assert not re.search(r"[（），：；、]", table), table
    chinese = visible(_history_table(login("auditor").get(address).get_data(as_text=True)))
    assert f"{user}（业扩员，客户服务中心）" in chinese and "Customer Service Center" not in chinese
    rename("客户服务中心（新）")
    try:
        renamed = visible(_history_table(english(app, "auditor").get(address).get_data(as_text=True)))
        assert f"{user} (Service clerk, 客户服务中心)" in renamed
    finally:
        rename("客户服务中心")


def test_a_broken_model_is_refused_in_the_configured_language(tmp_path, capsys):
    """The start-up refusal's closing line: Chinese by default, English with the English locale."""
    from conftest import make_app

    for locale, expected in (("zh", "model.yaml 中有 1 个问题，应用未启动。"),
                             ("en", "1 problem(s) in model.yaml: the application was not started.")):
        with pytest.raises(SystemExit):
            make_app(f"sqlite:///{tmp_path / 'refused.db'}", MODEL_TEXT="app: [", MODEL_SOURCE="model.yaml",
                     MODEL_FROM_DATABASE=False, BABEL_DEFAULT_LOCALE=locale)
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last == expected, last
