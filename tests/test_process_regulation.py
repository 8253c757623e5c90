"""Steps exactly as the regulation words them (work contents 1-9, 3(1), (5)-(8)):

* 装表送电 (7): the meter is installed, THEN the contract signed, THEN the tariff set jointly by
  营销部、电费管理中心、客户服务中心, THEN power switched on; the power-on date is taken at power-on;
* joint decisions (会签): the survey units sign the plan before it is approved, three units set the
  tariff, 营销部 with 生技、安监、管理单位 accepts the works; every sign-off is a history row;
* 组织设计审查 (5): customer works are reviewed after design and budget;
* documents by conditions and stages: 个体户 → 营业执照, special customers → certificates, drawings and
  budget book with the design, the completion report with the acceptance request;
* 临时用电 needs its end date; a defect's 限期整改日期 is a deadline; limits in calendar days.

The first half is the pure core (milliseconds); the second drives cases through the HTTP API on
both backends, as a residential and a non-residential customer would go.
"""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.model.loader import load_file
from app.model.schema import Model
from app.workflow import due
from app.workflow.calendar import WorkCalendar
from app.workflow.machine import Workflow
from test_machine import _model_data
from test_sla import at, create, fire, timers
from test_workflow_api import PLAN, SIGNER_OF, documents_for, manager_id, step

MODEL = load_file("model.yaml").model
WF = Workflow(MODEL)
SH = ZoneInfo("Asia/Shanghai")
TODAY = dt.date.today().isoformat()
PLAN_PARTIES = ("unit:service_center", "unit:billing_center", "unit:metering_center", "unit:supply_station")
TARIFF_PARTIES = ("unit:marketing", "unit:billing_center", "unit:service_center")
ACCEPTANCE_PARTIES = ("unit:marketing", "unit:production", "unit:safety", "unit:supply_station")


# =========================================================================== the pure core

def decide(trigger, stage, roles, record=None, data=None, signed=(), comment=None):
    functions = {"documents_complete": lambda: True, "signed_off": lambda _t: set(signed)}
    return WF.decide(trigger, stage=stage, suspended=False, roles=roles, record={"stage": stage, **(record or {})},
                     functions=functions, data=data or {}, comment=comment)


def test_the_default_model_says_what_the_regulation_says():
    order = list(MODEL.workflow.stages)
    assert order.index("design") < order.index("design_review") < order.index("construction")
    assert (order.index("meter_installation") < order.index("contract_signing") < order.index("tariff_setting")
            < order.index("power_on") < order.index("billing_account"))
    assert WF.transition("complete_design", "design").dest == "design_review"
    assert WF.transition("install_meter", "meter_installation").dest == "contract_signing"
    assert "power_on_date" not in WF.transition("install_meter", "meter_installation").fields
    assert WF.transition("switch_on", "power_on").required == ("power_on_date",)
    assert WF.transition("approve_plan", "plan_approval").signoffs == PLAN_PARTIES
    assert WF.transition("set_tariff", "tariff_setting").signoffs == TARIFF_PARTIES
    assert WF.transition("pass_acceptance", "completion_acceptance").signoffs == ACCEPTANCE_PARTIES
    assert MODEL.timers["forward"].unit == "working_days" and MODEL.timers["forward"].limit == 1  # A5's "1天"


def test_a_joint_step_waits_for_every_party_and_names_the_missing_ones():
    d = decide("set_tariff", "tariff_setting", {"customer_manager"}, data={"tariff_category": "commercial"},
               signed={"unit:marketing"})
    assert d.kinds == ("signoffs_missing",) and d.status == 422
    assert d.missing_signoffs == ("unit:billing_center", "unit:service_center")  # in model order
    assert [WF.signoff_label(k) for k in d.missing_signoffs] == ["电费管理中心", "客户服务中心"]
    assert WF.signoff_label("unit:billing_center", english=True) == "Billing Center"
    assert decide("set_tariff", "tariff_setting", {"customer_manager"}, data={"tariff_category": "commercial"},
                  signed=set(TARIFF_PARTIES)).ok
    # every 422 reason at once: a missing field and the missing sign-offs
    both = decide("set_tariff", "tariff_setting", {"auditor"})
    assert both.kinds == ("missing_fields", "signoffs_missing") and len(both.missing_signoffs) == 3
    # the page greys the button out: available() judges sign-offs too
    (spec, greyed), = WF.available("tariff_setting", False, {"customer_manager"}, {"stage": "tariff_setting"},
                                   {}, {"signed_off": lambda _t: set()})
    assert spec.trigger == "set_tariff" and greyed.kinds == ("signoffs_missing",)
    # a host that says nothing about sign-offs has none
    assert WF.decide("set_tariff", stage="tariff_setting", suspended=False, roles={"auditor"},
                     record={}, data={"tariff_category": "commercial"}).missing_signoffs == TARIFF_PARTIES


def test_who_may_sign_off_and_when():
    sign = WF.can_sign_off
    d = sign("set_tariff", stage="tariff_setting", suspended=False, roles={"auditor"}, unit="marketing")
    assert d.ok and d.signoffs == ("unit:marketing",)
    assert d.missing_signoffs == ("unit:billing_center", "unit:service_center")
    again = sign("set_tariff", stage="tariff_setting", suspended=False, roles={"auditor"}, unit="marketing",
                 signed={"unit:marketing"})
    assert again.kind == "already_signed" and again.status == 409
    stranger = sign("set_tariff", stage="tariff_setting", suspended=False, roles={"metering"}, unit="metering_center")
    assert stranger.kind == "not_a_signer" and stranger.status == 403
    assert sign("set_tariff", stage="power_on", suspended=False, roles={"auditor"}, unit="marketing").kind == \
        "wrong_stage"
    assert sign("switch_on", stage="power_on", suspended=False, roles={"metering"}, unit="metering_center").kind == \
        "no_signoffs"
    assert sign("set_tariff", stage="tariff_setting", suspended=True, roles={"auditor"}, unit="marketing").kind == \
        "suspended"
    assert sign("no_such", stage="tariff_setting", suspended=False, roles=set(), unit=None).kind == "unknown_trigger"


def test_a_party_may_be_a_role_and_one_person_may_stand_for_two_parties():
    data = _model_data()
    approve = next(t for t in data["workflow"]["transitions"] if t["trigger"] == "approve_plan")
    approve["signoffs"] = [{"role": "auditor"}, {"unit": "marketing"}, {"unit": "billing_center"}]
    wf = Workflow(Model.model_validate(data))
    d = wf.can_sign_off("approve_plan", stage="plan_approval", suspended=False, roles={"auditor"}, unit="marketing")
    assert d.signoffs == ("role:auditor", "unit:marketing") and d.missing_signoffs == ("unit:billing_center",)
    assert wf.signoff_label("role:auditor") == "营销审核"


def test_temporary_supply_needs_its_end_date():
    record = {"business_type": "temporary", "customer_type": "residential"}
    d = decide("forward", "acceptance", {"clerk"}, record)
    assert d.kinds == ("missing_fields",) and d.missing_fields == ("temp_end_date",)
    assert decide("forward", "acceptance", {"clerk"}, record, data={"temp_end_date": dt.date(2027, 3, 1)}).ok
    assert decide("forward", "acceptance", {"clerk"}, {**record, "temp_end_date": dt.date(2027, 3, 1)}).ok
    assert decide("forward", "acceptance", {"clerk"}, {**record, "business_type": "new"}).ok
    # the form does not ask for it in advance: available() judges only the conditions
    assert all(d.ok for _, d in WF.available("acceptance", False, {"clerk"}, {"stage": "acceptance", **record},
                                              {}, {"documents_complete": lambda: True}))


@pytest.mark.parametrize("record,stage,kinds", [
    ({"customer_type": "residential"}, "acceptance", ("id_card_copy", "household_register", "building_permit")),
    ({"customer_type": "non_residential"}, "acceptance", ("id_card_copy", "approval_document", "building_permit")),
    ({"customer_type": "non_residential", "individual_business": True}, "acceptance",
     ("id_card_copy", "business_licence", "building_permit")),  # 个体户提供营业执照复印件
    ({"customer_type": "non_residential", "special_customer": True}, "acceptance",
     ("id_card_copy", "approval_document", "building_permit", "special_certificate")),
    ({"customer_type": "residential"}, "design", ("design_drawing", "budget_book")),
    ({"customer_type": "non_residential"}, "construction", ("completion_report",)),
    ({"customer_type": "residential"}, "site_survey", ()),
])
def test_documents_required_by_condition_and_stage(record, stage, kinds):
    assert WF.required_documents(record, stage) == kinds
    assert WF.required_documents({**record, "stage": stage}) == kinds  # default: the record's stage


def test_deadlines_in_calendar_days_and_from_a_date():
    cal = WorkCalendar.from_chinesecalendar(range(2026, 2027))
    event = dt.datetime(2026, 9, 30, 10, 0, tzinfo=SH)  # National Day follows
    assert due.due_at(cal, event, 3, "calendar_days") == dt.datetime(2026, 10, 4, tzinfo=SH)  # end of 10-03
    assert due.due_at(cal, event, 3) == dt.datetime(2026, 10, 11, tzinfo=SH)  # 10-08, 10-09, make-up Sat 10-10
    left = due.days_left(cal, dt.datetime(2026, 10, 1, 9, tzinfo=SH), dt.datetime(2026, 10, 4, tzinfo=SH),
                         "calendar_days")
    assert left == 2  # 10-02 and 10-03 still to come
    assert due.days_left(cal, dt.datetime(2026, 10, 6, 9, tzinfo=SH), dt.datetime(2026, 10, 4, tzinfo=SH),
                         "calendar_days") == -3
    rows = [{"rectify_by": dt.date(2026, 11, 20), "fixed": False, "inspection": "intermediate"},
            {"rectify_by": dt.date(2026, 11, 12), "fixed": True, "inspection": "intermediate"},
            {"rectify_by": dt.date(2026, 11, 15), "fixed": False, "inspection": "completion"}]
    spec = MODEL.timers["rectification"].due_date
    assert due.due_from_data(spec, {}, rows) == dt.datetime(2026, 11, 21, tzinfo=SH)  # end of 11-20
    assert due.due_from_data(spec, {}, rows[1:]) is None  # nothing open: no deadline


def test_a_timer_counted_in_calendar_days():
    data = _model_data()
    data["timers"]["forward"]["unit"] = "calendar_days"
    model = Model.model_validate(data)
    from app.deadlines.timers import Sla

    sla = Sla(SimpleNamespace(model=model, calendar_service=None))
    start = dt.datetime(2026, 9, 30, 10, 0, tzinfo=SH)
    assert sla.deadline("forward", {}, start) == (1, dt.datetime(2026, 10, 2, tzinfo=SH), False)  # end of 10-01
    assert sla.deadline("initial_review", {}, start)[1] == dt.datetime(2026, 10, 9, tzinfo=SH)  # working days
    assert sla.deadline("rectification", {}, start) is None  # no defect, no date


# =========================================================================== cases on both backends

def sign(login, username: str, pk: int, trigger: str, comment: str = "同意"):
    return login(username).post(f"/api/v1/application/{pk}/signoffs/{trigger}", json={"comment": comment})


def sign_parties(login, pk: int, trigger: str, parties) -> None:
    for party in parties:
        response = sign(login, SIGNER_OF[party.split(":")[1]], pk, trigger)
        assert response.status_code == 200, (party, response.get_json())
        assert "已会签" in response.get_json()["message"]


def ok(response, stage: str) -> None:
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["stage"] == stage


def refused(response, status: int = 422) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def new_case(app, customer_type: str, *, engineering: bool = False, documents=None, **fields) -> int:
    from app.cases.records import ACTOR

    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        session.info[ACTOR] = app.appbuilder.sm.find_user(username="clerk")
        customer = core.orm["customer"](name="规定流程客户", customer_type=customer_type, phone="13800000002",
                                        address="潢川县规定路2号")
        row = core.orm["application"](customer=customer, business_type=fields.pop("business_type", "new"),
                                      customer_type=customer_type, address="潢川县规定路2号", capacity_kw=8,
                                      needs_engineering=engineering, inspection_passed=False, **fields)
        session.add(row)
        kinds = documents_for(customer_type, **fields) if documents is None else documents
        for kind in kinds:
            session.add(core.orm["document"](application=row, kind=kind, received=True, pages=1))
        session.commit()
        session.info.pop(ACTOR, None)
        return row.id


def hand_in(app, pk: int, *kinds: str) -> None:
    with app.app_context():
        core = app.extensions["yekuotong"]
        for kind in kinds:
            core.db.session.add(core.orm["document"](application_id=pk, kind=kind, received=True, pages=2))
        core.db.session.commit()


def history(login, pk: int) -> list[dict]:
    return login("admin").get(f"/api/v1/application/{pk}/workflow").get_json()["history"]


def counts(app, pk: int) -> tuple:
    with app.app_context():
        core = app.extensions["yekuotong"]
        h = core.orm["workflow_history"]
        row = core.db.session.get(core.engine.cls, pk)
        core.db.session.refresh(row)
        n = core.db.session.scalar(select(func.count()).select_from(h).where(h.application_id == pk))
        return row.stage, row.lock_version, n


def to_plan_approval(app, login, pk: int) -> None:
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    ok(step(login, "auditor", pk, "approve_review", {"owner": manager_id(app)}), "site_survey")
    ok(step(login, "customer_manager", pk, "complete_survey",
            {"survey_date": TODAY, "survey_participants": "客服中心、电费中心、计量中心、供电所",
             "survey_findings": "具备条件", "plan_tracker": manager_id(app)}), "plan_drafting")
    ok(step(login, "customer_manager", pk, "submit_plan", PLAN), "plan_approval")


def power_on_and_archive(app, login, pk: int, tariff: str) -> None:
    """装表送电 in the regulation's order, then the account and the archive."""
    early = refused(step(login, "metering", pk, "install_meter",
                         {"meter_no": "3410009", "meter_type": "DDZY285", "initial_reading": "0",
                          "power_on_date": TODAY}))
    assert early["errors"] == {"power_on_date": "不属于此步骤的内容。"}  # not taken at meter installation
    ok(step(login, "metering", pk, "install_meter",
            {"meter_no": "3410009", "meter_type": "DDZY285", "initial_reading": "0"}), "contract_signing")
    assert step(login, "metering", pk, "switch_on", {"power_on_date": TODAY}).status_code == 409  # not yet
    ok(step(login, "customer_manager", pk, "sign_contract", {"contract_no": "HT-规-1", "contract_signed_on": TODAY}),
       "tariff_setting")
    before = counts(app, pk)
    body = refused(step(login, "customer_manager", pk, "set_tariff", {"tariff_category": tariff}))
    assert "营销部、电费管理中心、客户服务中心" in body["message"] and "会签" in body["message"]
    assert counts(app, pk) == before  # nothing saved
    stranger = refused(sign(login, "station", pk, "set_tariff"), 403)  # 供电所 does not set the tariff
    assert "营销部" in stranger["message"] and "只有" in stranger["message"]
    sign_parties(login, pk, "set_tariff", TARIFF_PARTIES[:1])
    assert refused(sign(login, "auditor", pk, "set_tariff"), 409)["message"] == "您已会签此步骤。"
    sign_parties(login, pk, "set_tariff", TARIFF_PARTIES[1:])
    ok(step(login, "customer_manager", pk, "set_tariff", {"tariff_category": tariff}), "power_on")
    ok(step(login, "metering", pk, "switch_on", {"power_on_date": TODAY}), "billing_account")
    ok(step(login, "clerk", pk, "open_account", {"account_no": "ZH-规-1"}), "billing_account")
    ok(step(login, "clerk", pk, "archive", {"archive_no": "DA-规-1", "archived_on": TODAY}), "archive")


def test_residential_case_in_the_regulations_order(app, login):
    pk = new_case(app, "residential")
    to_plan_approval(app, login, pk)
    before = counts(app, pk)
    body = refused(step(login, "auditor", pk, "approve_plan", {"approval_opinion": "同意"}))
    assert "尚缺会签：客户服务中心、电费管理中心、计量管理中心、用电管理单位（供电所）" in body["message"], body
    assert counts(app, pk) == before
    listed = login("billing").get(f"/api/v1/application/{pk}/signoffs").get_json()
    (joint,) = listed["steps"]
    assert joint["trigger"] == "approve_plan" and joint["can_sign"] is True
    assert [p["label"] for p in joint["parties"]] == ["客户服务中心", "电费管理中心", "计量管理中心", "用电管理单位（供电所）"]
    sign_parties(login, pk, "approve_plan", PLAN_PARTIES)
    assert all(p["signed"] and p["by"] for p in
               login("billing").get(f"/api/v1/application/{pk}/signoffs").get_json()["steps"][0]["parties"])
    ok(step(login, "auditor", pk, "approve_plan", {"approval_opinion": "同意"}), "plan_reply")
    ok(step(login, "customer_manager", pk, "reply_direct", {"reply_date": TODAY}), "meter_installation")
    power_on_and_archive(app, login, pk, "residential")
    rows = history(login, pk)
    moves = [h["to"] for h in rows if h["kind"] == "transition" and h["from"] != h["to"]]
    assert moves[-7:] == ["plan_reply", "meter_installation", "contract_signing", "tariff_setting", "power_on",
                          "billing_account", "archive"]
    signed = [(h["trigger"], h["changes"]["signoff"][1], h["unit"]) for h in rows if h["kind"] == "signoff"]
    assert [s[:2] for s in signed] == [("approve_plan", p) for p in PLAN_PARTIES] + [
        ("set_tariff", p) for p in TARIFF_PARTIES]
    assert signed[1][2] == "电费管理中心"  # the signer's own unit is recorded with the signature
    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.db.session.get(core.engine.cls, pk)
        assert row.power_on_date.isoformat() == TODAY and row.tariff_category == "residential"


def test_non_residential_case_with_design_review_documents_and_acceptance_team(app, login):
    pk = new_case(app, "non_residential", engineering=True, individual_business=True,
                  documents=["id_card_copy", "approval_document", "building_permit"])
    body = refused(step(login, "clerk", pk, "forward"))  # 个体户: the business licence is missing
    assert body["failed_conditions"] == ["documents_complete()"]
    hand_in(app, pk, "business_licence")
    to_plan_approval(app, login, pk)
    sign_parties(login, pk, "approve_plan", PLAN_PARTIES)
    ok(step(login, "auditor", pk, "approve_plan", {"approval_opinion": "同意"}), "plan_reply")
    ok(step(login, "customer_manager", pk, "reply_with_works", {"reply_date": TODAY}), "customer_authorisation")
    ok(step(login, "customer_manager", pk, "authorise"), "design")
    design = {"design_unit": "客户自选设计院", "budget_amount": "18000"}
    assert refused(step(login, "customer_manager", pk, "complete_design", design))["failed_conditions"] == \
        ["documents_complete()"]  # drawings and budget book first
    hand_in(app, pk, "design_drawing", "budget_book")
    ok(step(login, "customer_manager", pk, "complete_design", design), "design_review")
    assert refused(step(login, "auditor", pk, "fail_design_review"))["errors"] == {"comment": "请在处理意见中说明原因。"}
    ok(step(login, "auditor", pk, "fail_design_review", comment="接地设计不符合规范"), "design")
    ok(step(login, "customer_manager", pk, "complete_design", design), "design_review")
    ok(step(login, "auditor", pk, "pass_design_review", {"design_review_opinion": "符合供电方案"}), "construction")
    ok(step(login, "customer_manager", pk, "request_inspection",
            {"contractor_name": "客户自选施工单位", "contractor_qualification": "D3410"}), "intermediate_inspection")
    ok(step(login, "auditor", pk, "pass_inspection", {"hidden_works_qc": "生技 周工"}), "construction")
    assert refused(step(login, "customer_manager", pk, "request_acceptance"))["failed_conditions"] == \
        ["documents_complete()"]  # 竣工报告书 comes with the request
    hand_in(app, pk, "completion_report")
    ok(step(login, "customer_manager", pk, "request_acceptance"), "completion_acceptance")
    sign_parties(login, pk, "pass_acceptance", ACCEPTANCE_PARTIES[:2])
    body = refused(step(login, "auditor", pk, "pass_acceptance", {"acceptance_date": TODAY}))
    assert "尚缺会签：安全监察部、用电管理单位（供电所）" in body["message"]
    ok(step(login, "auditor", pk, "fail_acceptance", comment="接地电阻不合格"), "acceptance_rectification")
    ok(step(login, "customer_manager", pk, "request_reacceptance"), "completion_acceptance")
    # a new round of acceptance: the signatures of the failed one do not count
    body = refused(step(login, "auditor", pk, "pass_acceptance", {"acceptance_date": TODAY}))
    assert "营销部、生产技术部、安全监察部" in body["message"]
    sign_parties(login, pk, "pass_acceptance", ACCEPTANCE_PARTIES)
    ok(step(login, "auditor", pk, "pass_acceptance", {"acceptance_date": TODAY}), "meter_installation")
    power_on_and_archive(app, login, pk, "commercial")
    moves = [h["to"] for h in history(login, pk) if h["kind"] == "transition" and h["from"] != h["to"]]
    assert moves[moves.index("design"):moves.index("construction") + 1] == [
        "design", "design_review", "design", "design_review", "construction"]


def test_a_plan_sent_back_needs_fresh_signatures(app, login):
    pk = new_case(app, "residential")
    to_plan_approval(app, login, pk)
    sign_parties(login, pk, "approve_plan", PLAN_PARTIES)
    ok(step(login, "auditor", pk, "reject_plan", comment="容量核定有误"), "plan_drafting")
    ok(step(login, "customer_manager", pk, "submit_plan", PLAN), "plan_approval")
    assert "尚缺会签" in refused(step(login, "auditor", pk, "approve_plan"))["message"]
    assert not any(p["signed"] for p in login("auditor").get(f"/api/v1/application/{pk}/signoffs")
                   .get_json()["steps"][0]["parties"])


def test_sign_off_refusals_change_nothing(app, login):
    pk = new_case(app, "residential")
    before = counts(app, pk)
    assert refused(sign(login, "billing", pk, "approve_plan"), 409)["message"].startswith("当前无法执行此步骤")
    assert refused(sign(login, "billing", pk, "forward"), 409)["message"] == "此步骤无需会签。"
    assert refused(sign(login, "billing", pk, "no_such_step"), 409)
    assert login("billing").post(f"/api/v1/application/{pk}/signoffs/forward", json=[1]).status_code == 400
    assert login("billing").post("/api/v1/application/999999/signoffs/approve_plan", json={}).status_code == 404
    assert app.test_client().post(f"/api/v1/application/{pk}/signoffs/approve_plan", json={}).status_code == 401
    assert counts(app, pk) == before


def test_temporary_supply_is_refused_without_its_end_date(app, login):
    pk = new_case(app, "residential", business_type="temporary")
    before = counts(app, pk)
    body = refused(step(login, "clerk", pk, "forward"))
    assert body["errors"] == {"temp_end_date": "此步骤必须填写。"}
    assert counts(app, pk) == before
    ok(step(login, "clerk", pk, "forward", {"temp_end_date": "2027-06-30"}), "initial_review")


def test_case_page_shows_the_sign_off_box_and_the_signatures(app, login):
    pk = new_case(app, "residential")
    to_plan_approval(app, login, pk)
    page = login("station").get(f"/application/show/{pk}").get_data(as_text=True)
    box = page.split('id="signoffs"')[1].split('id="history"')[0]
    assert "会签" in box and "用电管理单位（供电所）" in box and 'class="form-inline signoff-form"' in box
    auditor_page = login("auditor").get(f"/application/show/{pk}").get_data(as_text=True)
    assert "signoff-form" not in auditor_page.split('id="signoffs"')[1].split('id="history"')[0]  # not a party
    assert "尚缺会签" in auditor_page  # why 审批通过 is greyed out
    response = login("station").post(f"/application/signoff/{pk}/approve_plan", data={"comment": "同意方案"})
    assert response.status_code == 302
    page = login("station").get(f"/application/show/{pk}").get_data(as_text=True)
    assert "已会签（用电管理单位（供电所））" in page
    table = page.split('id="history"')[1]
    assert "会签：审批通过" in table and "同意方案" in table and "会签方：用电管理单位（供电所）" in table


def test_a_defects_rectification_date_is_a_deadline(app):
    pk = create(app, at("2026-11-02T09:00"), "non_residential")
    day = "2026-11-02"
    for trigger, user, data in [
            ("forward", "clerk", {}), ("approve_review", "auditor", {"owner": manager_id(app)}),
            ("complete_survey", "manager", {"survey_date": day, "survey_participants": "客服中心",
                                            "survey_findings": "具备条件"}),
            ("submit_plan", "manager", PLAN), ("approve_plan", "auditor", {}),
            ("reply_with_works", "manager", {"reply_date": day}), ("authorise", "manager", {}),
            ("complete_design", "manager", {"design_unit": "设计院", "budget_amount": "9000"}),
            ("pass_design_review", "auditor", {"design_review_opinion": "同意"}),
            ("request_inspection", "manager", {"contractor_name": "安装公司", "contractor_qualification": "D1"})]:
        fire(app, pk, user, trigger, at(f"{day}T10:00"), data)
    with app.app_context():
        core = app.extensions["yekuotong"]
        defect = core.orm["inspection_defect"]
        core.db.session.add_all([
            defect(application_id=pk, inspection="intermediate", description="接地电阻偏大",
                   rectify_by=dt.date(2026, 11, 13), fixed=False),
            defect(application_id=pk, inspection="intermediate", description="标识缺失",
                   rectify_by=dt.date(2026, 11, 10), fixed=False)])
        core.db.session.commit()
    fire(app, pk, "auditor", "fail_inspection", at("2026-11-03T10:00"))
    rect = timers(app, pk)["rectification"]
    assert rect.status == "running" and rect.limit_days == 0 and not rect.provisional
    assert rect.due_at.replace(tzinfo=dt.timezone.utc).astimezone(SH) == dt.datetime(2026, 11, 11, tzinfo=SH)
    with app.app_context():
        core = app.extensions["yekuotong"]
        assert core.sla.sweep(core.db.session, at("2026-11-10T23:00")) >= 0
        assert timers(app, pk)["rectification"].status == "running"  # the customer's side does not pause it
        core.sla.sweep(core.db.session, at("2026-11-11T08:00"))
        info = core.sla.status(timers(app, pk)["rectification"], at("2026-11-11T09:00"))
    late = timers(app, pk)["rectification"]
    assert late.status == "overdue" and late.breach_recorded and info["status"] == "overdue"
    fire(app, pk, "manager", "request_reinspection", at("2026-11-12T10:00"))
    assert timers(app, pk)["rectification"].status == "met_late"


def test_signoff_history_rows_are_append_only_evidence(app, login):
    from app.generated.workflow_tables import AppendOnlyError

    pk = new_case(app, "residential")
    to_plan_approval(app, login, pk)
    sign_parties(login, pk, "approve_plan", PLAN_PARTIES[:1])
    with app.app_context():
        core = app.extensions["yekuotong"]
        h = core.orm["workflow_history"]
        row = core.db.session.scalars(select(h).where(h.application_id == pk, h.kind == "signoff")).one()
        assert json.loads(row.changes) == {"signoff": [None, "unit:service_center"]}
        row.changes = json.dumps({"signoff": [None, "unit:marketing"]})
        with pytest.raises(AppendOnlyError):
            core.db.session.commit()
        core.db.session.rollback()
