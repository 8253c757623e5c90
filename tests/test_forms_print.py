"""Printed forms: PDFs with the application's values, refusals, print records, verification, layout."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
import io
import re
import shutil
import subprocess

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from app.printing.forms import count_pages
from app.printing.layout import Layout, layout, placed_fields, reached
from app.printing.values import display
from app.model.loader import load_file
from test_workflow_api import documents_for

MODEL = load_file("model.yaml").model
TODAY = dt.date.today()
USER_OF = {"clerk": "clerk", "customer_manager": "manager", "metering": "metering", "auditor": "auditor",
           "admin": "admin"}
ADDRESS = "潢川县打印测试路8号"
SURVEY = {"survey_date": TODAY.isoformat(), "survey_participants": "客户服务中心、城关供电所",
          "survey_findings": "表箱位置已确认，具备接电条件。"}
PLAN = {"supply_voltage": "v380", "approved_capacity_kw": "16", "supply_point": "10kV城关线 7号台区",
        "metering_method": "ct", "billing_method": "time_of_use", "tariff_category": "commercial"}
DEFECT = "接地电阻偏大（实测12Ω）"
VALUES = {
    "application_form": [ADDRESS, "打印测试商店", "低压非居民", "16.00"],
    "survey_record": [ADDRESS, "表箱位置已确认", "城关供电所", TODAY.isoformat()],
    "plan_reply": [ADDRESS, "10kV城关线", "经互感器接入式", "同意按此方案供电"],
    "inspection_record": [ADDRESS, DEFECT, "复检已整改到位", "某电力安装公司", "¥12,000.00"],
    "acceptance_record": [ADDRESS, "某电力安装公司", TODAY.isoformat()],
    "supply_contract": [ADDRESS, "HT-打印-1", "ZH-打印-1", "一般工商业用电", "3410088"],
    "archive_list": [ADDRESS, "DA-打印-1", "居民身份证复印件", "用电申请表"],
}
LABELS = {
    "application_form": ["用电申请表", "用电地址", "业务类型", "申请容量(kW)", "客户名称", "资料类别"],
    "survey_record": ["现场勘查记录", "勘查日期", "参加勘查单位及人员", "勘查意见", "方案跟踪人"],
    "plan_reply": ["供电方案答复单", "供电电压", "核定容量(kW)", "供电电源点", "计量方式", "审批意见", "书面答复日期"],
    "inspection_record": ["中间检查记录", "缺陷描述", "限期整改日期", "复检已整改", "复检记录", "隐蔽工程生技质检签字"],
    "acceptance_record": ["竣工验收记录", "竣工验收日期", "施工单位（客户自选）"],
    "supply_contract": ["低压供用电合同", "供用电合同编号", "合同签订日期", "电费账户号", "电能表编号"],
    "archive_list": ["归档清单", "档案号", "归档日期", "页数"],
}


# --------------------------------------------------------------------------- helpers


def core_of(app):
    return app.extensions["yekuotong"]


def user(app, username):
    return app.appbuilder.sm.find_user(username=username)


def new_application(app, customer_type="non_residential", engineering=True, name="打印测试商店") -> int:
    from app.cases.records import acting_as

    with app.app_context(), acting_as(core_of(app).db.session, user(app, "clerk")):  # the clerk accepts it
        core = core_of(app)
        session = core.db.session
        customer = core.orm["customer"](name=name, customer_type=customer_type, phone="13800000088",
                                        address=ADDRESS)
        shop = customer_type == "non_residential"  # a shop: an individual business (个体户, 营业执照)
        row = core.orm["application"](customer=customer, business_type="new", customer_type=customer_type,
                                      address=ADDRESS, capacity_kw=16, needs_engineering=engineering,
                                      inspection_passed=False, individual_business=shop,
                                      accepted_by_id=user(app, "clerk").id)  # its unit's managers see it
        session.add(row)
        for kind in documents_for(customer_type, individual_business=shop):
            session.add(core.orm["document"](application=row, kind=kind, received=True, pages=2))
        session.commit()
        return row.id


def fire(app, pk, username, trigger, data=None, comment=None):
    with app.app_context():
        core = core_of(app)
        outcome = core.engine.fire(core.db.session, pk, trigger, user(app, username), data or {}, comment)
        assert outcome.ok, (trigger, outcome.message, outcome.errors, outcome.failed_conditions)


def orm_update(app, key, pk, **values):
    with app.app_context():
        core = core_of(app)
        obj = core.db.session.get(core.orm[key], pk)
        for name, value in values.items():
            setattr(obj, name, value)
        core.db.session.commit()


def hand_in(app, pk, stage):
    """The documents the model requires at `stage` (drawings and budget book, completion report)."""
    with app.app_context():
        core = core_of(app)
        row = core.db.session.get(core.engine.cls, pk)
        for kind in core.engine.wf.required_documents(core.engine.record(row), stage):
            core.db.session.add(core.orm["document"](application_id=pk, kind=kind, received=True, pages=3))
        core.db.session.commit()


def sign_all(app, pk, trigger):
    """Every party of a joint step signs it off (会签), each as a user of its unit."""
    from test_workflow_api import SIGNER_OF

    with app.app_context():
        core = core_of(app)
        row = core.db.session.get(core.engine.cls, pk)
        for party in core.engine.spec_for(trigger, row.stage).signoffs:
            outcome = core.signoffs.sign(core.db.session, pk, trigger, user(app, SIGNER_OF[party.split(":")[1]]))
            assert outcome.ok, (party, outcome.message)


def through_survey(app, pk):
    fire(app, pk, "clerk", "forward")
    with app.app_context():
        manager = user(app, "manager").id
    fire(app, pk, "auditor", "approve_review", {"owner": manager})
    fire(app, pk, "manager", "complete_survey", {**SURVEY, "plan_tracker": manager})


def to_archive(app, pk):
    """The long way: works, a failed intermediate inspection with a defect, re-inspection, archive."""
    through_survey(app, pk)
    fire(app, pk, "manager", "submit_plan", PLAN)
    sign_all(app, pk, "approve_plan")
    fire(app, pk, "auditor", "approve_plan", {"approval_opinion": "同意按此方案供电"})
    fire(app, pk, "manager", "reply_with_works", {"reply_date": TODAY.isoformat()})
    fire(app, pk, "manager", "authorise")
    hand_in(app, pk, "design")
    fire(app, pk, "manager", "complete_design", {"design_unit": "某设计院", "budget_amount": "12000"})
    fire(app, pk, "auditor", "pass_design_review", {"design_review_opinion": "设计符合供电方案"})
    fire(app, pk, "manager", "request_inspection", {"contractor_name": "某电力安装公司",
                                                    "contractor_qualification": "D3410001"})
    with app.app_context():
        core = core_of(app)
        defect = core.orm["inspection_defect"](application_id=pk, inspection="intermediate", description=DEFECT,
                                               rectify_by=TODAY + dt.timedelta(days=7), fixed=False)
        core.db.session.add(defect)
        core.db.session.commit()
        defect_id = defect.id
    fire(app, pk, "auditor", "fail_inspection")
    fire(app, pk, "manager", "request_reinspection")
    orm_update(app, "inspection_defect", defect_id, fixed=True, recheck_note="复检已整改到位")
    fire(app, pk, "auditor", "pass_inspection", {"hidden_works_qc": "生技 周工"})
    hand_in(app, pk, "construction")
    fire(app, pk, "manager", "request_acceptance")
    sign_all(app, pk, "pass_acceptance")
    fire(app, pk, "auditor", "pass_acceptance", {"acceptance_date": TODAY.isoformat()})
    fire(app, pk, "metering", "install_meter", {"meter_no": "3410088", "meter_type": "DTZY341",
                                                "initial_reading": "0"})
    fire(app, pk, "manager", "sign_contract", {"contract_no": "HT-打印-1", "contract_signed_on": TODAY.isoformat()})
    sign_all(app, pk, "set_tariff")
    fire(app, pk, "manager", "set_tariff", {"tariff_category": "commercial"})
    fire(app, pk, "metering", "switch_on", {"power_on_date": TODAY.isoformat()})
    fire(app, pk, "manager", "open_account", {"account_no": "ZH-打印-1"})
    fire(app, pk, "clerk", "archive", {"archive_no": "DA-打印-1", "archived_on": TODAY.isoformat()})


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def counts(app, pk) -> tuple[int, int]:
    with app.app_context():
        core = core_of(app)
        history = core.orm["workflow_history"]
        record = app.extensions["ykt_printing"].record_cls
        session = core.db.session
        return (session.execute(select(func.count()).select_from(record)
                                .where(record.application_id == pk)).scalar_one(),
                session.execute(select(func.count()).select_from(history)
                                .where(history.application_id == pk)).scalar_one())


def printer_of(form: str) -> str:
    """A non-admin demo user whose role may print the form."""
    return next(USER_OF[r] for r in MODEL.forms[form].roles if r != "admin")


@pytest.fixture(scope="module")
def archived(app):
    pk = new_application(app)
    to_archive(app, pk)
    return pk


# --------------------------------------------------------------------------- printing


FORMS = [k for k, f in MODEL.forms.items() if f.scope == "application"]  # the rest print from the ledger


@pytest.mark.parametrize("form", FORMS)
def test_each_form_prints_the_application_values_and_labels(app, login, archived, form):
    before = counts(app, archived)
    response = login(printer_of(form)).post(f"/print/{form}/{archived}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    with app.app_context():
        number = core_of(app).db.session.get(core_of(app).orm["application"], archived).number
    assert response.headers["Content-Disposition"] == f"inline; filename={number}-{form}.pdf"
    text = flat(pdf_text(response.data))
    for expected in [number, MODEL.version] + VALUES[form] + LABELS[form]:
        assert flat(expected) in text, (form, expected)
    with app.app_context():
        assert flat(user(app, printer_of(form)).get_full_name()) in text  # printed by
    assert counts(app, archived) == (before[0] + 1, before[1] + 1)
    assert flat(f"localhost/verify/{latest_code(app, archived, form)}") in text
    # Verified straight away, the data has not changed (the fingerprint is stable on this backend).
    page = app.test_client().get(f"/verify/{latest_code(app, archived, form)}")
    assert 'id="verify-match"' in page.get_data(as_text=True), form


def test_archive_list_lists_documents_and_printed_forms(app, login, archived):
    for form in ("application_form", "survey_record"):
        assert login("admin").post(f"/print/{form}/{archived}").status_code == 200
    text = flat(pdf_text(login("clerk").post(f"/print/archive_list/{archived}").data))
    assert "居民身份证复印件" in text and "营业执照复印件" in text
    assert "现场勘查记录" in text and "打印表单" in text and "客户资料" in text
    with app.app_context():
        record = app.extensions["ykt_printing"].record_cls
        latest = core_of(app).db.session.scalars(
            select(record).where(record.application_id == archived, record.form == "survey_record")
            .order_by(record.id.desc())).first()
        assert latest.code in text


def test_print_record_and_history_row(app, login, archived):
    response = login("manager").post(f"/print/survey_record/{archived}")
    assert response.status_code == 200
    with app.app_context():
        core = core_of(app)
        session = core.db.session
        record_cls = app.extensions["ykt_printing"].record_cls
        record = session.scalars(select(record_cls).where(record_cls.application_id == archived)
                                 .order_by(record_cls.id.desc())).first()
        manager = user(app, "manager")
        assert record.form == "survey_record" and record.printed_by_id == manager.id
        assert re.fullmatch(r"[0-9A-Z]{10}", record.code) and record.code in flat(pdf_text(response.data))
        assert re.fullmatch(r"[0-9a-f]{64}", record.fingerprint)
        assert record.pages == len(PdfReader(io.BytesIO(response.data)).pages) == count_pages(response.data) >= 1
        assert record.printed_at is not None
        last = core.engine.history(session, session.get(core.orm["application"], archived))[-1]
        assert (last.kind, last.trigger, last.from_stage, last.to_stage) == ("print", "print", "archive", "archive")
        assert last.comment == "现场勘查记录" and last.changes is None and last.user_id == manager.id
    history = login("manager").get(f"/api/v1/application/{archived}/workflow").get_json()["history"]
    assert history[-1]["kind"] == "print" and history[-1]["changes"] == {}


def test_form_before_its_stage_is_refused_and_nothing_recorded(app, login):
    pk = new_application(app, name="未到阶段客户")
    before = counts(app, pk)
    api = login("manager").post(f"/api/v1/application/{pk}/print/survey_record")
    assert api.status_code == 409 and "现场勘查记录" in api.get_json()["message"]
    assert "现场勘查" in api.get_json()["message"]  # the stage it waits for
    assert login("manager").post(f"/print/survey_record/{pk}",
                                headers={"Accept": "application/json"}).status_code == 409
    screen = login("manager").post(f"/print/survey_record/{pk}")
    assert screen.status_code == 302 and screen.headers["Location"].endswith(f"/application/show/{pk}")
    assert counts(app, pk) == before
    # At site_survey with no survey data yet: still not reached; the initial form always is.
    fire(app, pk, "clerk", "forward")
    with app.app_context():
        manager = user(app, "manager").id
    fire(app, pk, "auditor", "approve_review", {"owner": manager})
    before = counts(app, pk)
    assert login("manager").post(f"/api/v1/application/{pk}/print/survey_record").status_code == 409
    assert login("auditor").post(f"/api/v1/application/{pk}/print/archive_list").status_code == 409
    assert counts(app, pk) == before
    assert login("clerk").post(f"/print/application_form/{pk}").status_code == 200
    fire(app, pk, "manager", "complete_survey", {**SURVEY, "plan_tracker": manager})
    assert login("manager").post(f"/print/survey_record/{pk}").status_code == 200


def test_role_not_in_form_roles_gets_403(app, login, archived):
    before = counts(app, archived)
    for username, form in (("metering", "application_form"), ("clerk", "survey_record"),
                           ("manager", "archive_list")):
        assert login(username).post(f"/print/{form}/{archived}").status_code == 403, (username, form)
        api = login(username).post(f"/api/v1/application/{archived}/print/{form}")
        assert api.status_code == 403 and MODEL.forms[form].label_zh in api.get_json()["message"]
    assert counts(app, archived) == before


def test_unknown_form_and_application_are_404(app, login, archived):
    assert login("admin").post(f"/print/no_such_form/{archived}").status_code == 404
    assert login("admin").post("/print/application_form/999999").status_code == 404
    assert login("admin").post("/api/v1/application/999999/print/application_form").status_code == 404


def test_signed_out_user_is_sent_to_login(app, archived):
    response = app.test_client().get(f"/print/application_form/{archived}")
    assert response.status_code == 302 and "login" in response.headers["Location"]
    assert app.test_client().post(f"/api/v1/application/{archived}/print/application_form").status_code == 401


def test_render_error_is_logged_409_and_nothing_recorded(app, login, archived, monkeypatch, caplog):
    from app.printing import render
    from app.printing.render import PdfRenderError

    def broken(html, **kwargs):
        raise PdfRenderError("xhtml2pdf reported 1 error(s): boom")

    monkeypatch.setattr(render, "html_to_pdf", broken)
    before = counts(app, archived)
    with caplog.at_level("ERROR"):
        api = login("manager").post(f"/api/v1/application/{archived}/print/survey_record")
        screen = login("manager").post(f"/print/survey_record/{archived}")
    assert api.status_code == 409 and "现场勘查记录" in api.get_json()["message"]
    assert screen.status_code == 302
    assert counts(app, archived) == before
    assert any("could not be rendered" in r.getMessage() for r in caplog.records)


def test_forms_api_lists_what_may_be_printed(app, login):
    pk = new_application(app, name="表单列表客户")
    items = {f["form"]: f for f in login("manager").get(f"/api/v1/application/{pk}/forms").get_json()["forms"]}
    assert list(items) == FORMS
    assert items["application_form"]["printable"] and not items["survey_record"]["reached"]
    assert items["survey_record"]["allowed"] and not items["archive_list"]["allowed"]
    assert items["application_form"]["url"] == f"/print/application_form/{pk}"


def test_application_page_shows_buttons_for_printable_forms(app, login, archived):
    html = login("manager").get(f"/application/show/{archived}").get_data(as_text=True)
    assert 'id="print-forms"' in html
    for form in FORMS:
        shown = f'action="/print/{form}/{archived}"' in html
        assert shown == ("customer_manager" in MODEL.forms[form].roles), form
    pk = new_application(app, name="按钮客户")
    html = login("clerk").get(f"/application/show/{pk}").get_data(as_text=True)
    assert f'action="/print/application_form/{pk}"' in html and "/print/survey_record/" not in html
    assert 'id="print-forms"' not in login("metering").get(f"/application/show/{pk}").get_data(as_text=True)


# --------------------------------------------------------------------------- verification


def latest_code(app, pk, form) -> str:
    with app.app_context():
        record = app.extensions["ykt_printing"].record_cls
        return core_of(app).db.session.scalars(
            select(record).where(record.application_id == pk, record.form == form)
            .order_by(record.id.desc())).first().code


def test_verify_matches_then_reports_a_change(app, login):
    pk = new_application(app, name="核验测试客户")
    through_survey(app, pk)
    assert login("manager").post(f"/print/survey_record/{pk}").status_code == 200
    code = latest_code(app, pk, "survey_record")
    anonymous = app.test_client()
    page = anonymous.get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="verify-match"' in html and 'id="verify-changed"' not in html
    with app.app_context():
        number = core_of(app).db.session.get(core_of(app).orm["application"], pk).number
    assert number in html and "现场勘查记录" in html
    assert "核验测试客户" not in html and ADDRESS not in html and "13800000088" not in html  # no personal data
    # Typed from paper: lower case, a dash, O for 0 -- still found.
    typed = code.lower()[:5] + "-" + code.lower()[5:]
    assert 'id="verify-match"' in anonymous.get(f"/verify/{typed}").get_data(as_text=True)
    # A value the survey record does not show: still matches.
    with app.app_context():
        core = core_of(app)
        core.db.session.get(core.orm["application"], pk).meter_no = "9999"
        core.db.session.commit()
    assert 'id="verify-match"' in anonymous.get(f"/verify/{code}").get_data(as_text=True)
    # A printed value changed: the page says so, with application and print time.
    orm_update(app, "application", pk, address="潢川县已改地址99号")
    page = anonymous.get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="verify-changed"' in html and 'id="verify-match"' not in html
    assert number in html and "潢川县已改地址99号" not in html
    # Back to the printed value: matches again.
    orm_update(app, "application", pk, address=ADDRESS)
    assert 'id="verify-match"' in anonymous.get(f"/verify/{code}").get_data(as_text=True)


def test_verify_unknown_code_is_404(app):
    client = app.test_client()
    page = client.get("/verify/ZZZZZZZZZZ")
    assert page.status_code == 404 and 'id="verify-unknown"' in page.get_data(as_text=True)
    assert client.get("/verify/" + "A" * 40).status_code == 404
    lookup = client.get("/verify/?code=abc")
    assert lookup.status_code == 302 and lookup.headers["Location"].endswith("/verify/abc")
    assert client.get("/verify/").status_code == 200


def test_qr_encodes_the_public_verify_url(app, login, archived):
    import segno

    response = login("manager").post(f"/print/survey_record/{archived}")
    code = latest_code(app, archived, "survey_record")
    image = next(iter(PdfReader(io.BytesIO(response.data)).pages[0].images)).image.convert("L")
    # Module by module against the expected symbol: a content check with no QR decoder.
    matrix = segno.make_qr(f"http://localhost/verify/{code}", error="m").matrix
    module = image.width / (len(matrix) + 4)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            pixel = image.getpixel((int((x + 2.5) * module), int((y + 2.5) * module)))
            assert (pixel < 128) == bool(dark), (x, y)


# --------------------------------------------------------------------------- layout


def with_stage_fields(model, stage: str, extra: list[str]):
    wf = model.workflow
    stages = dict(wf.stages)
    stages[stage] = stages[stage].model_copy(update={"fields": list(stages[stage].fields) + extra})
    return model.model_copy(update={"workflow": wf.model_copy(update={"stages": stages})})


def test_templates_place_every_stage_field_of_the_default_model():
    for form in FORMS:
        lay = layout(MODEL, form)
        assert isinstance(lay, Layout) and lay.other == (), (form, lay.other)
    assert {"survey_date", "survey_participants", "survey_findings", "plan_tracker"} <= placed_fields(
        "forms/survey_record.html")


def test_a_field_added_to_a_stage_goes_to_the_generic_section(app):
    changed = with_stage_fields(MODEL, "site_survey", ["meter_no", "survey_date"])
    assert layout(changed, "survey_record").other == ("meter_no",)
    form_fields = changed.model_copy(update={"forms": {
        **changed.forms, "plan_reply": changed.forms["plan_reply"].model_copy(update={"fields": ["archive_no"]})}})
    assert layout(form_fields, "plan_reply").other == ("archive_no",)
    assert layout(MODEL, "survey_record", placed={"survey_date"}).other == (
        "survey_participants", "survey_findings", "plan_tracker")
    pk = new_application(app, name="通用栏客户")
    through_survey(app, pk)
    orm_update(app, "application", pk, meter_no="MTR-通用-1")
    with app.test_request_context():
        core = core_of(app)
        row = core.db.session.get(core.orm["application"], pk)
        pdf = app.extensions["ykt_printing"].render_preview(core.db.session, row, "survey_record", model=changed)
    text = flat(pdf_text(pdf))
    assert "其他信息" in text and "电能表编号" in text and "MTR-通用-1" in text


def test_reached_rule():
    forms = MODEL.forms

    class H:
        def __init__(self, kind, source, dest):
            self.kind, self.from_stage, self.to_stage = kind, source, dest

    assert reached(MODEL, forms["application_form"], "acceptance", [])
    assert not reached(MODEL, forms["survey_record"], "site_survey",
                       [H("transition", "initial_review", "site_survey"), H("print", "site_survey", "site_survey"),
                        H("suspend", "site_survey", "site_survey"), H("resume", "site_survey", "site_survey")])
    assert reached(MODEL, forms["survey_record"], "plan_drafting", [H("transition", "site_survey", "plan_drafting")])
    assert not reached(MODEL, forms["survey_record"], "cancelled", [H("cancel", "site_survey", "cancelled")])
    assert reached(MODEL, forms["supply_contract"], "billing_account",
                   [H("transition", "billing_account", "billing_account")])
    assert not reached(MODEL, forms["archive_list"], "billing_account", [H("transition", "billing_account", "archive")])
    assert reached(MODEL, forms["archive_list"], "archive", [])


def test_values_are_formatted_for_paper(app):
    entity = MODEL.entities["application"]
    with app.test_request_context():
        assert display(entity.fields["budget_amount"], Decimal("1200")) == "¥1,200.00"
        assert display(entity.fields["capacity_kw"], Decimal("8.00")) == "8.00"
        assert display(entity.fields["survey_date"], dt.date(2026, 11, 28)) == "2026-11-28"
        assert display(entity.fields["needs_engineering"], True) == "是"
        assert display(entity.fields["needs_engineering"], False) == "否"
        assert display(entity.fields["metering_method"], "ct") == "经互感器接入式"
        assert display(entity.fields["survey_date"], None) == ""
        assert str(display(entity.fields["survey_findings"], "第一行\n<b>第二行</b>")) == \
            "第一行<br/>&lt;b&gt;第二行&lt;/b&gt;"


def test_english_labels_when_the_ui_is_english(app, archived):
    client = app.test_client()
    client.post("/login/", data={"username": "manager", "password": "manager-2026"})
    client.get("/lang/en")
    text = flat(pdf_text(client.post(f"/print/plan_reply/{archived}").data))
    assert "Supplyvoltage" in text and "Viacurrenttransformer" in text and "Supplyplanreply" in text
    assert "供电方案" in text  # the paper's own wording stays Chinese
    client.get("/lang/zh")


# --------------------------------------------------------------------------- a page, rasterised

PDFTOPPM = shutil.which("pdftoppm")


@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm missing: apt-get install -y poppler-utils")
def test_printed_page_is_not_blank_without_system_fonts(app, login, archived, tmp_path):
    pdf = login("manager").post(f"/print/plan_reply/{archived}").data
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><dir>{empty}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n",
                    encoding="utf-8")
    (tmp_path / "in.pdf").write_bytes(pdf)
    subprocess.run([PDFTOPPM, "-r", "72", "-png", "-f", "1", "-l", "1", "-singlefile", str(tmp_path / "in.pdf"),
                    str(tmp_path / "out")], env={"PATH": "/usr/bin:/bin", "FONTCONFIG_FILE": str(conf),
                                                 "HOME": str(tmp_path)},
                   check=True, capture_output=True, timeout=60)
    image = Image.open(tmp_path / "out.png").convert("L")

    def ink(box_mm):
        region = image.crop(tuple(round(v / 25.4 * 72) for v in box_mm))
        return sum(1 for value in region.tobytes() if value < 128) / (region.width * region.height)

    assert ink((0, 0, 210, 297)) > 0.01
    assert ink((60, 14, 150, 30)) > 0.03  # the title 供电方案答复单
    assert ink((18, 35, 110, 60)) > 0.02  # the letter's first lines
