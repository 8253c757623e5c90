"""The workflow through its HTTP API: full paths, refusals, suspension, cancellation, history."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.cases.records import ACTOR
from app.model.loader import load_file
from app.workflow.machine import Workflow

MODEL = load_file("model.yaml").model
WF = MODEL.workflow
RULES = Workflow(MODEL)
USER_OF = {"clerk": "clerk", "customer_manager": "manager", "metering": "metering", "auditor": "auditor",
           "admin": "admin", "unit_head": "head", "signer": "billing"}
# Who signs joint decisions off for each unit of the default model (demo users; app/demo.py).
SIGNER_OF = {"service_center": "manager", "marketing": "auditor", "billing_center": "billing",
             "metering_center": "metering", "supply_station": "station", "production": "production",
             "safety": "safety"}


def documents_for(customer_type: str, stage: str = "acceptance", **fields) -> tuple[str, ...]:
    """The document kinds the model requires at `stage` for an application like this."""
    return RULES.required_documents({"customer_type": customer_type, **fields}, stage)
TODAY = dt.date.today().isoformat()


def new_application(app, customer_type: str, engineering: bool) -> int:
    """A fresh application with its required documents, as the clerk would enter it."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        session.info[ACTOR] = app.appbuilder.sm.find_user(username="clerk")  # the clerk accepts it
        customer = core.orm["customer"](name="流程测试客户", customer_type=customer_type, phone="13800000001",
                                        address="潢川县测试路1号")
        row = core.orm["application"](customer=customer, business_type="new", customer_type=customer_type,
                                      address="潢川县测试路1号", capacity_kw=8, needs_engineering=engineering,
                                      inspection_passed=False)
        session.add(row)
        for kind in documents_for(customer_type):
            session.add(core.orm["document"](application=row, kind=kind, received=True, pages=1))
        session.commit()
        session.info.pop(ACTOR, None)
        return row.id


def manager_id(app) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username="manager").id


def step(login, role: str, pk: int, trigger: str, data: dict | None = None, comment: str | None = None):
    return login(USER_OF[role]).post(f"/api/v1/application/{pk}/workflow/{trigger}",
                                     json={"data": data or {}, "comment": comment})


def stage_of(login, pk: int) -> str:
    return login("admin").get(f"/api/v1/application/{pk}/workflow").get_json()["stage"]


def add_defect(app, pk: int) -> None:
    with app.app_context():
        core = app.extensions["yekuotong"]
        core.db.session.add(core.orm["inspection_defect"](application_id=pk, inspection="intermediate",
                                                          description="接地电阻偏大", rectify_by=dt.date.today(),
                                                          fixed=False))
        core.db.session.commit()


def fix_defects(app, pk: int) -> None:
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm["inspection_defect"]
        for d in core.db.session.scalars(select(cls).where(cls.application_id == pk)):
            d.fixed = True
        core.db.session.commit()


def add_documents(app, pk: int, stage: str) -> None:
    """Hand in what the model requires at `stage` (design drawings and budget book, completion report)."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.db.session.get(core.engine.cls, pk)
        for kind in RULES.required_documents(core.engine.record(row), stage):
            core.db.session.add(core.orm["document"](application_id=pk, kind=kind, received=True, pages=1))
        core.db.session.commit()


def sign_all(login, pk: int, trigger: str) -> None:
    """Every party of a joint step signs it off, each as a user of its unit (or holding its role)."""
    spec = RULES.transitions_from(stage_of(login, pk))
    parties = next(t.signoffs for t in spec if t.trigger == trigger)
    for party in parties:
        kind, _sep, key = party.partition(":")
        user = SIGNER_OF[key] if kind == "unit" else USER_OF[key]
        response = login(user).post(f"/api/v1/application/{pk}/signoffs/{trigger}", json={"comment": "同意"})
        assert response.status_code == 200, (party, response.get_json())


def ok(response, stage: str) -> None:
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["stage"] == stage


PLAN = {"supply_voltage": "v220", "approved_capacity_kw": "8", "supply_point": "城关线3号台区",
        "metering_method": "direct", "billing_method": "single_rate", "tariff_category": "residential"}


def through_plan(app, login, pk: int) -> None:
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    ok(step(login, "auditor", pk, "approve_review", {"owner": manager_id(app)}), "site_survey")
    ok(step(login, "customer_manager", pk, "complete_survey",
            {"survey_date": TODAY, "survey_participants": "客服中心、供电所", "survey_findings": "具备条件",
             "plan_tracker": manager_id(app)}), "plan_drafting")
    ok(step(login, "customer_manager", pk, "record_plan_delay", {"plan_delay_reason": "待线路改造"}), "plan_drafting")
    ok(step(login, "customer_manager", pk, "submit_plan", PLAN), "plan_approval")
    sign_all(login, pk, "approve_plan")  # the survey participants sign the plan first
    ok(step(login, "auditor", pk, "approve_plan", {"approval_opinion": "同意"}), "plan_reply")


def to_archive(login, pk: int) -> None:
    """装表送电 (7): meter, then contract, then the tariff set jointly, then power on; account; archive."""
    ok(step(login, "metering", pk, "install_meter", {"meter_no": "3410001", "meter_type": "DDZY285",
                                                     "initial_reading": "0"}), "contract_signing")
    ok(step(login, "customer_manager", pk, "sign_contract", {"contract_no": "HT-1", "contract_signed_on": TODAY}),
       "tariff_setting")
    sign_all(login, pk, "set_tariff")
    ok(step(login, "customer_manager", pk, "set_tariff", {"tariff_category": "residential"}), "power_on")
    ok(step(login, "metering", pk, "switch_on", {"power_on_date": TODAY}), "billing_account")
    refused = step(login, "clerk", pk, "archive", {"archive_no": "DA-1", "archived_on": TODAY})
    assert refused.status_code == 422 and "account_no is not null" in refused.get_json()["failed_conditions"]
    ok(step(login, "customer_manager", pk, "open_account", {"account_no": "ZH-1"}), "billing_account")
    ok(step(login, "clerk", pk, "archive", {"archive_no": "DA-1", "archived_on": TODAY}), "archive")


def test_residential_without_works_skips_stages_7_to_11(app, login):
    pk = new_application(app, "residential", engineering=False)
    through_plan(app, login, pk)
    ok(step(login, "customer_manager", pk, "reply_direct", {"reply_date": TODAY}), "meter_installation")
    to_archive(login, pk)
    history = login("clerk").get(f"/api/v1/application/{pk}/workflow").get_json()["history"]
    stages = [h["to"] for h in history]
    assert not {"customer_authorisation", "design", "construction"} & set(stages)
    assert history[0]["user"] and history[0]["roles"] == "clerk" and history[0]["unit"]
    assert any("owner" in h["changes"] for h in history)


def test_non_residential_with_failed_inspection_and_acceptance(app, login):
    pk = new_application(app, "non_residential", engineering=True)
    through_plan(app, login, pk)
    refused = step(login, "customer_manager", pk, "reply_direct", {"reply_date": TODAY})
    assert refused.status_code == 422
    ok(step(login, "customer_manager", pk, "reply_with_works", {"reply_date": TODAY}), "customer_authorisation")
    ok(step(login, "customer_manager", pk, "authorise"), "design")
    add_documents(app, pk, "design")  # design drawings and budget book
    ok(step(login, "customer_manager", pk, "complete_design", {"design_unit": "某设计院", "budget_amount": "12000"}),
       "design_review")
    ok(step(login, "auditor", pk, "pass_design_review", {"design_review_opinion": "同意"}), "construction")
    assert step(login, "customer_manager", pk, "request_acceptance").status_code == 422  # no inspection yet
    ok(step(login, "customer_manager", pk, "request_inspection",
            {"contractor_name": "某电力安装公司", "contractor_qualification": "D341"}), "intermediate_inspection")
    assert step(login, "auditor", pk, "fail_inspection").status_code == 422  # no defect recorded
    add_defect(app, pk)
    failed = step(login, "auditor", pk, "pass_inspection", {"hidden_works_qc": "周工"})
    assert failed.status_code == 422 and failed.get_json()["failed_conditions"]
    ok(step(login, "auditor", pk, "fail_inspection"), "inspection_rectification")
    ok(step(login, "customer_manager", pk, "request_reinspection"), "intermediate_inspection")
    fix_defects(app, pk)
    ok(step(login, "auditor", pk, "pass_inspection", {"hidden_works_qc": "周工"}), "construction")
    add_documents(app, pk, "construction")  # the completion report comes with the request
    ok(step(login, "customer_manager", pk, "request_acceptance"), "completion_acceptance")
    assert step(login, "auditor", pk, "fail_acceptance").status_code == 422  # reason required
    ok(step(login, "auditor", pk, "fail_acceptance", comment="接地不合格"), "acceptance_rectification")
    ok(step(login, "customer_manager", pk, "request_reacceptance"), "completion_acceptance")
    sign_all(login, pk, "pass_acceptance")  # 营销部 with 生技、安监、管理单位
    ok(step(login, "auditor", pk, "pass_acceptance", {"acceptance_date": TODAY}), "meter_installation")
    to_archive(login, pk)


def test_suspend_resume_and_cancel(app, login):
    pk = new_application(app, "residential", engineering=False)
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    missing = step(login, "clerk", pk, "suspend", {"reason": "incomplete_forms"})
    assert missing.status_code == 422 and "responsible_user" in missing.get_json()["errors"]
    ok(step(login, "clerk", pk, "suspend", {"reason": "incomplete_forms", "responsible_user": manager_id(app)},
            "资料不全"), "initial_review")
    blocked = step(login, "auditor", pk, "approve_review", {"owner": manager_id(app)})
    assert blocked.status_code == 409 and "中止" in blocked.get_json()["message"]
    assert step(login, "metering", pk, "resume").status_code == 403
    ok(step(login, "clerk", pk, "resume"), "initial_review")
    assert step(login, "clerk", pk, "cancel").status_code == 422  # a reason is needed
    ok(step(login, "clerk", pk, "cancel", {"reason": "customer_withdrew"}), "cancelled")
    assert step(login, "clerk", pk, "forward").status_code == 409
    kinds = [h["kind"] for h in login("clerk").get(f"/api/v1/application/{pk}/workflow").get_json()["history"]]
    assert kinds[0] == "create"  # the acceptance step, then its documents, then the steps
    assert [k for k in kinds if k not in ("create", "record")] == ["transition", "suspend", "resume", "cancel"]


SOURCES = [(t.trigger, s) for t in WF.transitions
           for s in ([t.source] if isinstance(t.source, str) else t.source)]


@pytest.mark.parametrize("trigger,source", SOURCES, ids=[f"{t}@{s}" for t, s in SOURCES])
def test_every_wrong_role_is_refused_and_nothing_changes(app, login, trigger, source):
    """Generated from the model: each transition, from its stage, by every role not allowed."""
    spec = next(t for t in WF.transitions if t.trigger == trigger)
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm["application"]
        row = core.db.session.scalars(select(cls).where(cls.stage == source, cls.suspended.is_(False))).first()
        if row is None:
            pk = new_application(app, "residential", False)
            row = core.db.session.get(cls, pk)
            row.stage = source
            core.db.session.commit()
        pk, version = row.id, row.lock_version
        history_cls = core.orm["workflow_history"]
        before = core.db.session.execute(select(func.count()).select_from(history_cls)).scalar_one()
    for role in MODEL.roles:
        if role in spec.roles:
            continue
        response = step(login, role, pk, trigger, {})
        assert response.status_code == 403, (role, response.get_json())
        assert "只有" in response.get_json()["message"]
    with app.app_context():
        core.db.session.expire_all()
        row = core.db.session.get(cls, pk)
        assert (row.stage, row.lock_version) == (source, version)
        assert core.db.session.execute(select(func.count()).select_from(history_cls)).scalar_one() == before


def test_wrong_stage_missing_fields_and_bad_values(app, login):
    pk = new_application(app, "residential", False)
    wrong = step(login, "auditor", pk, "approve_plan")
    assert wrong.status_code == 409 and "业务受理" in wrong.get_json()["message"]
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    missing = step(login, "auditor", pk, "approve_review", {})
    assert missing.status_code == 422 and "owner" in missing.get_json()["errors"]
    not_a_manager = step(login, "auditor", pk, "approve_review", {"owner": 1})
    assert not_a_manager.status_code == 422 and "客户经理" in not_a_manager.get_json()["errors"]["owner"]
    assert step(login, "auditor", pk, "no_such_step").status_code == 409
    assert login("auditor").post(f"/api/v1/application/{pk}/workflow/approve_review", json=[1]).status_code == 400
    assert stage_of(login, pk) == "initial_review"


def test_missing_documents_block_forwarding(app, login):
    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.orm["application"](customer_type="residential", business_type="new", address="x",
                                      capacity_kw=4, needs_engineering=False)
        core.db.session.add(row)
        core.db.session.commit()
        pk = row.id
    refused = step(login, "clerk", pk, "forward")
    assert refused.status_code == 422 and "documents_complete()" in refused.get_json()["failed_conditions"]


def test_history_is_append_only(app, login):
    from app.generated.workflow_tables import AppendOnlyError

    pk = new_application(app, "residential", False)
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm["workflow_history"]
        row = core.db.session.scalars(select(cls).where(cls.application_id == pk)).first()
        row.comment = "篡改"
        with pytest.raises(AppendOnlyError):
            core.db.session.commit()
        core.db.session.rollback()
        core.db.session.delete(core.db.session.get(cls, row.id))
        with pytest.raises(AppendOnlyError):
            core.db.session.commit()
        core.db.session.rollback()
    for user in USER_OF.values():  # no screen or API exposes history for editing
        client = login(user)
        assert client.get("/workflowhistory/list/").status_code == 404
        assert client.delete("/api/v1/workflow_history/1").status_code == 404


def test_jwt_login_and_workflow_get(app):
    client = app.test_client()
    token = client.post("/api/v1/security/login", json={"username": "clerk", "password": "clerk-2026",
                                                         "provider": "db"}).get_json()["access_token"]
    pk = new_application(app, "residential", False)
    response = client.get(f"/api/v1/application/{pk}/workflow", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["stage"] == "acceptance" and [t["trigger"] for t in body["triggers"]] == ["forward"]
    assert client.get(f"/api/v1/application/{pk}/workflow").status_code == 401


def test_application_page_shows_steps_history_and_diagram(app, login):
    pk = new_application(app, "residential", False)
    html = login("clerk").get(f"/application/show/{pk}").get_data(as_text=True)
    assert "报送初审" in html and "业务受理" in html and "<svg" in html
    assert 'aria-current="step"' in html
    other = login("metering").get(f"/application/show/{pk}").get_data(as_text=True)
    assert 'data-trigger="forward"' not in other  # metering gets no form for the clerk's step


def test_step_form_posts_and_flashes_chinese(app, login):
    pk = new_application(app, "residential", False)
    client = login("clerk")
    response = client.post(f"/application/step/{pk}/forward", data={"comment": "资料齐全"})
    assert response.status_code == 302
    html = client.get(f"/application/show/{pk}").get_data(as_text=True)
    assert "登记初审" in html and "资料齐全" in html
    refused = client.post(f"/application/step/{pk}/approve_review", data={})
    html = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "只有" in html


def test_todo_queue_per_role_and_owner(app, login):
    pk = new_application(app, "residential", False)
    html = login("clerk").get("/todo/").get_data(as_text=True)
    assert "我的待办" in html
    with app.app_context():
        number = app.extensions["yekuotong"].db.session.get(app.extensions["yekuotong"].orm["application"], pk).number
    assert number in html
    assert number not in login("metering").get("/todo/").get_data(as_text=True)
    menu = login("clerk").get("/").get_data(as_text=True)
    assert "我的待办 (" in menu
