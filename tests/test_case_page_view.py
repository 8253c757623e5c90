"""The application page as a workplace, as the role who acts sees it (SQLite and PostgreSQL): greyed
steps say why in plain words from the model, the step first, suspend/cancel on demand, the fields of
later stages out of the way, the inspection record printable on site."""
from __future__ import annotations

import dataclasses
import re

import pytest

from conftest import PASSWORDS
from test_forms_print import (
    PLAN, TODAY, core_of, fire, flat, hand_in, new_application, pdf_text, sign_all, through_survey,
)

ZH = {"Accept-Language": "zh"}
# The condition language on a page: a call, a comparison, a keyword test, an and/or between names.
SYNTAX = re.compile(r"\b(count|all|any|documents_complete|timer_overdue)\(|==|!=|\bis (not )?(true|false|null)\b"
                    r"|\b\w+_\w+ (and|or) ")


def page(client, pk: int) -> str:
    response = client.get(f"/application/show/{pk}", headers=ZH)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def workflow_part(body: str) -> str:
    """The workflow panel only (the diagram and the field table name stages and fields too)."""
    start = body.index('id="workflow"')
    return body[start:body.index("</details>", start) if "</details>" in body[start:] else None]


def to_construction(app, pk: int) -> None:
    through_survey(app, pk)
    fire(app, pk, "manager", "submit_plan", PLAN)
    sign_all(app, pk, "approve_plan")
    fire(app, pk, "auditor", "approve_plan", {"approval_opinion": "同意"})
    fire(app, pk, "manager", "reply_with_works", {"reply_date": TODAY.isoformat()})
    fire(app, pk, "manager", "authorise")
    hand_in(app, pk, "design")
    fire(app, pk, "manager", "complete_design", {"design_unit": "某设计院", "budget_amount": "12000"})
    fire(app, pk, "auditor", "pass_design_review", {"design_review_opinion": "同意"})


@pytest.fixture(scope="module")
def building(app):
    """A shop's application at 工程施工 (construction), the intermediate inspection not yet done."""
    pk = new_application(app, name="工地页面测试商店")
    to_construction(app, pk)
    return pk


def english_client(app, username: str):
    client = app.test_client()
    assert client.post("/login/", data={"username": username, "password": PASSWORDS[username]}).status_code == 302
    client.get("/lang/en")
    return client


# ------------------------------------------------------------------ greyed steps say why

def test_greyed_step_at_construction_says_why_in_chinese_and_the_open_step_comes_first(app, login, building):
    body = page(login("manager"), building)
    panel = workflow_part(body)
    assert "中间检查尚未合格：请先申请中间检查" in panel
    assert not SYNTAX.search(body), SYNTAX.search(body)
    assert "inspection_passed" not in body and "条件未满足" not in body
    # 客户申请中间检查 (possible now) before 客户申请竣工验收 (greyed), though the model lists it first
    assert panel.index('data-trigger="request_inspection"') < panel.index('data-trigger="request_acceptance"')


def test_the_english_page_gives_the_english_message(app, building):
    body = english_client(app, "manager").get(f"/application/show/{building}").get_data(as_text=True)
    assert "The intermediate inspection has not passed yet: request it first" in body
    assert "中间检查尚未合格" not in body
    assert not SYNTAX.search(body)


def test_the_inspector_sees_why_the_inspection_cannot_fail_yet(app, login):
    pk = new_application(app, name="检查页面测试商店")
    to_construction(app, pk)
    fire(app, pk, "manager", "request_inspection", {"contractor_name": "某电力安装公司",
                                                    "contractor_qualification": "D3410001"})
    panel = workflow_part(page(login("auditor"), pk))
    assert "没有待整改的检查缺陷：判不合格前请先登记缺陷" in panel
    assert "count(" not in panel and "inspection_defect" not in panel
    assert panel.index('data-trigger="pass_inspection"') < panel.index('data-trigger="fail_inspection"')


def test_missing_documents_are_named_not_the_message(app, login):
    pk = new_application(app, name="缺资料页面测试商店")
    with app.app_context():
        core = core_of(app)
        cls = core.orm["document"]
        for doc in core.db.session.query(cls).filter(cls.application_id == pk, cls.kind == "business_licence"):
            core.db.session.delete(doc)
        core.db.session.commit()
    panel = workflow_part(page(login("clerk"), pk))
    assert "缺少资料：营业执照" in panel
    assert "documents_complete" not in panel


def test_a_condition_without_message_reads_in_words_with_or_as_or(app, login, monkeypatch):
    """The generated fallback: labels and choice labels from the model, 或 for or."""
    pk = new_application(app, customer_type="residential", engineering=False, name="无提示页面测试")
    through_survey(app, pk)
    fire(app, pk, "manager", "submit_plan", {**PLAN, "tariff_category": "residential"})
    sign_all(app, pk, "approve_plan")
    fire(app, pk, "auditor", "approve_plan", {"approval_opinion": "同意"})
    wf = core_of(app).engine.wf
    spec = wf.transition("reply_with_works", "plan_reply")
    bare = dataclasses.replace(spec, messages=((None, None),))
    monkeypatch.setitem(wf._by_key, ("reply_with_works", "plan_reply"), bare)
    monkeypatch.setitem(wf._by_source, "plan_reply",
                        [bare if s is spec else s for s in wf._by_source["plan_reply"]])
    panel = workflow_part(page(login("manager"), pk))
    assert "需满足：需客户工程为“是” 或 客户类别不为“居民”" in panel
    assert "needs_engineering" not in panel and "residential" not in panel


def test_no_page_of_the_demo_cases_shows_the_condition_language(app, login):
    """Every demo application (spread over every stage), as the roles who act on them."""
    with app.app_context():
        core = core_of(app)
        cls = core.orm["application"]
        ids = [pk for (pk,) in core.db.session.query(cls.id).order_by(cls.id).limit(40)]
    assert len(ids) >= 30
    for username in ("manager", "auditor", "clerk", "metering"):
        client = login(username)
        for pk in ids:
            response = client.get(f"/application/show/{pk}", headers=ZH)
            if response.status_code == 404:  # out of this user's scope
                continue
            body = response.get_data(as_text=True)
            assert not SYNTAX.search(body), (username, pk, SYNTAX.search(body))
            assert "条件未满足" not in body


# ------------------------------------------------------------------ suspend and cancel on demand

def test_suspend_and_cancel_open_on_demand_after_the_steps(app, login):
    pk = new_application(app, name="次要操作页面测试")
    body = page(login("clerk"), pk)
    steps_at = body.index('data-trigger="forward"')
    details = body.index('<details id="secondary-actions">')
    assert steps_at < details
    secondary = body[details:body.index("</details>", details)]
    assert "更多操作" in secondary and "流程中止" in secondary and "撤销" in secondary
    assert "trigger=suspend" not in body[:details] and "/step/%d/suspend" % pk in secondary
    assert "/step/%d/cancel" % pk in secondary and "confirm(" in secondary  # cancelling still asks


def test_the_manager_of_a_case_they_cannot_cancel_sees_only_suspend(app, login, building):
    body = page(login("manager"), building)
    secondary = body[body.index('<details id="secondary-actions">'):]
    secondary = secondary[:secondary.index("</details>")]
    assert "/suspend" in secondary and "/cancel" not in secondary


# ------------------------------------------------------------------ fields by stage

def test_a_new_case_hides_the_fields_of_later_stages(app, login):
    pk = new_application(app, name="分组页面测试")
    body = page(login("clerk"), pk)
    assert "业务受理（当前环节）" in body
    assert label(app, "number") in body and label(app, "capacity_kw") in body  # entered on creation
    for later in ("account_no", "contract_no", "survey_date", "meter_no", "archive_no", "acceptance_date"):
        assert label(app, later) not in body, later


def test_stages_reached_are_open_and_the_current_one_is_marked(app, login, building):
    body = page(login("manager"), building)
    assert "工程施工（当前环节）" in body
    assert label(app, "survey_date") in body  # the survey was done: its group shows
    assert "某设计院" in body  # design values
    assert label(app, "account_no") not in body and label(app, "meter_no") not in body  # not reached, empty


def test_a_later_group_with_a_value_is_collapsed_not_lost(app, login):
    pk = new_application(app, name="提前填写页面测试")
    with app.app_context():
        core = core_of(app)
        row = core.db.session.get(core.orm["application"], pk)
        row.account_no = "ZH-提前-1"
        core.db.session.commit()
    body = page(login("clerk"), pk)
    at = body.index("ZH-提前-1")
    before = body[:at]
    assert "建立电费账户" in before[before.rindex("panel-heading"):]  # inside the 建立电费账户 group
    assert 'class="panel-collapse collapse"' in before[before.rindex("panel-heading"):]  # collapsed


def label(app, name: str) -> str:
    """A field's Chinese label as the model spells it."""
    if name == "number":
        return "申请编号"
    return core_of(app).model.entities["application"].fields[name].label_zh


# ------------------------------------------------------------------ the inspection record on site

def test_the_inspection_record_prints_blank_during_the_inspection(app, login):
    pk = new_application(app, name="现场检查打印测试")
    to_construction(app, pk)
    refused = login("auditor").post(f"/api/v1/application/{pk}/print/inspection_record")
    assert refused.status_code == 409 and "中间检查" in refused.get_json()["message"]
    assert 'data-form="inspection_record"' not in page(login("auditor"), pk)
    fire(app, pk, "manager", "request_inspection", {"contractor_name": "某电力安装公司",
                                                    "contractor_qualification": "D3410001"})
    printed = login("auditor").post(f"/api/v1/application/{pk}/print/inspection_record")
    assert printed.status_code == 200 and printed.data.startswith(b"%PDF")
    text = flat(pdf_text(printed.data))
    assert "中间检查记录" in text and "某电力安装公司" in text
    assert "检查未发现缺陷" not in text  # a blank to fill in, not a verdict
    assert 'data-form="inspection_record"' in page(login("auditor"), pk)  # its print button is on the page
    # and after the inspection, as before
    fire(app, pk, "auditor", "pass_inspection", {"hidden_works_qc": "生技 周工"})
    again = login("manager").post(f"/api/v1/application/{pk}/print/inspection_record")
    assert again.status_code == 200
    assert "检查未发现缺陷" in flat(pdf_text(again.data))


def test_a_refused_step_says_why_in_words_on_screen_and_by_api(app, login, building):
    client = login("manager")
    refused = client.post(f"/application/step/{building}/request_acceptance", data={"comment": ""}, headers=ZH)
    assert refused.status_code == 302
    body = page(client, building)
    assert "中间检查尚未合格：请先申请中间检查" in body[:body.index('id="workflow"')]  # the flash, above the panel
    api = client.post(f"/api/v1/application/{building}/workflow/request_acceptance", json={"data": {}}, headers=ZH)
    assert api.status_code == 422
    assert "中间检查尚未合格" in api.get_json()["message"] and "inspection_passed" not in api.get_json()["message"]
    # the machine-readable list stays the condition texts, for API clients
    assert "inspection_passed is true" in api.get_json()["failed_conditions"]
