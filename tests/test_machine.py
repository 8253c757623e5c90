"""Tests for the pure workflow core app.workflow.machine, against the real model.yaml."""
from __future__ import annotations

import ast
import copy
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from app.model.checks_workflow import transition_sources
from app.model.loader import load_file
from app.model.schema import Model
from app.workflow import machine as wm
from app.workflow.machine import Decision, Workflow, WorkflowError

ROOT = Path(__file__).resolve().parent.parent
MODEL = load_file(ROOT / "model.yaml").model
WF = Workflow.from_model(MODEL)
ROLES = sorted(MODEL.roles)
STAGES = list(MODEL.workflow.stages)
SVG = "{http://www.w3.org/2000/svg}"


ALL_PARTIES = {p for t in WF.transitions for p in t.signoffs}


def functions(docs: bool = True, overdue: bool = False, signed=ALL_PARTIES) -> dict:
    return {
        "signed_off": lambda trigger: signed,  # joint decisions: every party has signed (unless told)
        "documents_complete": lambda: docs,
        "has_role": lambda role: False,
        "timer_overdue": lambda timer: overdue,
        "timer_status": lambda timer: "overdue" if overdue else "running",
    }


def new_application(customer_type: str = "residential", needs_engineering: bool = False) -> dict:
    return {"stage": WF.initial_stage, "number": "YK202611000001", "customer": 1, "business_type": "new",
            "customer_type": customer_type, "address": "杭州市西湖区文三路 1 号",
            "capacity_kw": Decimal("8.00"), "needs_engineering": needs_engineering, "inspection_passed": False}


def decide(app: dict, trigger: str, role: str | set, *, data=None, comment=None, collections=None,
           suspended=False, docs=True) -> Decision:
    return WF.decide(trigger, stage=app["stage"], suspended=suspended,
                     roles={role} if isinstance(role, str) else role, record=app,
                     collections=collections or {}, functions=functions(docs), data=data or {}, comment=comment)


def fire(app: dict, trigger: str, role: str, **kwargs) -> Decision:
    """What the DB layer does: decide, then save changes and the destination stage."""
    d = decide(app, trigger, role, **kwargs)
    assert d.ok, d
    assert bool(d) and d.kind is None and d.kinds == () and d.status == 200
    assert d.dest == WF.transition(trigger, app["stage"]).dest
    app.update(d.changes)
    app["stage"] = d.dest
    assert len(WF.machine.models) == 0
    return d


SURVEY = {"survey_date": date(2026, 11, 3), "survey_participants": "客户服务中心 张三", "survey_findings": "具备接入条件"}
PLAN = {"supply_voltage": "v220", "approved_capacity_kw": Decimal("8"), "supply_point": "10kV 文三线 3 号变",
        "metering_method": "direct", "billing_method": "single_rate", "tariff_category": "residential"}
METER = {"meter_no": "3300001234", "meter_type": "DDZY71", "initial_reading": Decimal("0")}
CONTRACT = {"contract_no": "HT-2026-001", "contract_signed_on": date(2026, 11, 12)}
TARIFF = {"tariff_category": "residential"}
POWER_ON = {"power_on_date": date(2026, 11, 13)}
ACCOUNT = {"account_no": "0123456789"}
ARCHIVE = {"archive_no": "DA-2026-001", "archived_on": date(2026, 11, 13)}


def to_plan_reply(app: dict) -> None:
    fire(app, "forward", "clerk")
    fire(app, "approve_review", "auditor", data={"owner": 7})
    fire(app, "complete_survey", "customer_manager", data=SURVEY)
    fire(app, "submit_plan", "customer_manager", data=PLAN)
    fire(app, "approve_plan", "auditor", data={"approval_opinion": "同意"})
    assert app["stage"] == "plan_reply"


# ------------------------------------------------------------ whole flows

def test_residential_flow_without_engineering():
    app = new_application()
    assert decide(app, "forward", "clerk", docs=False).failed_conditions == ("documents_complete()",)
    assert fire(app, "forward", "clerk").dest == "initial_review"
    d = fire(app, "approve_review", "auditor", data={"owner": 7})
    assert d.dest == "site_survey" and dict(d.changes) == {"owner": 7} and app["owner"] == 7
    fire(app, "complete_survey", "customer_manager", data=SURVEY)
    assert app["stage"] == "plan_drafting"
    d = fire(app, "record_plan_delay", "customer_manager", data={"plan_delay_reason": "待电网改造"})
    assert d.dest == "plan_drafting"
    fire(app, "submit_plan", "customer_manager", data=PLAN)
    assert app["stage"] == "plan_approval"
    fire(app, "approve_plan", "auditor", data={"approval_opinion": "同意"})
    assert app["stage"] == "plan_reply"

    works = decide(app, "reply_with_works", "customer_manager", data={"reply_date": date(2026, 11, 10)})
    assert works.kinds == ("guard_failed",)
    assert works.failed_conditions == ("needs_engineering is true", "customer_type != residential")
    fire(app, "reply_direct", "customer_manager", data={"reply_date": date(2026, 11, 10)})
    assert app["stage"] == "meter_installation"
    # 装表送电 (7): the meter, then the contract, then the tariff set jointly, then power on
    fire(app, "install_meter", "metering", data=METER)
    assert app["stage"] == "contract_signing"
    d = fire(app, "sign_contract", "customer_manager", data=CONTRACT)
    assert d.dest == "tariff_setting" and dict(d.changes) == CONTRACT
    fire(app, "set_tariff", "customer_manager", data=TARIFF)
    assert app["stage"] == "power_on" and app.get("power_on_date") is None
    fire(app, "switch_on", "metering", data=POWER_ON)
    assert app["stage"] == "billing_account" and app["power_on_date"] == date(2026, 11, 13)

    early = decide(app, "archive", "clerk", data=ARCHIVE)
    assert early.kinds == ("guard_failed",)
    assert early.failed_conditions == ("account_no is not null",)
    d = fire(app, "open_account", "customer_manager", data=ACCOUNT)
    assert d.dest == "billing_account" == app["stage"]
    assert dict(d.changes) == ACCOUNT
    d = fire(app, "archive", "clerk", data=ARCHIVE)
    assert app["stage"] == "archive" and "archive" in WF.terminal_stages
    assert app["archive_no"] == "DA-2026-001"
    for role in ROLES:
        assert WF.available("archive", False, {role}, app, {}, functions()) == []


def test_non_residential_flow_with_inspection_and_acceptance_loops():
    app = new_application("non_residential")
    to_plan_reply(app)
    direct = decide(app, "reply_direct", "customer_manager", data={"reply_date": date(2026, 11, 10)})
    assert direct.kinds == ("guard_failed",) and direct.failed_conditions == ("customer_type == residential",)
    fire(app, "reply_with_works", "customer_manager", data={"reply_date": date(2026, 11, 10)})
    assert app["stage"] == "customer_authorisation"
    fire(app, "authorise", "customer_manager")
    assert app["stage"] == "design"
    fire(app, "complete_design", "customer_manager", data={"design_unit": "某设计院", "budget_amount": Decimal("12000")})
    assert app["stage"] == "design_review"
    fire(app, "pass_design_review", "auditor", data={"design_review_opinion": "符合供电方案"})
    assert app["stage"] == "construction"

    early = decide(app, "request_acceptance", "customer_manager")
    assert early.failed_conditions == ("inspection_passed is true",)
    contractor = {"contractor_name": "某电力安装公司", "contractor_qualification": "D233012345"}
    fire(app, "request_inspection", "customer_manager", data=contractor)
    assert app["stage"] == "intermediate_inspection"

    defects = {"inspection_defect": [{"description": "接地不良", "fixed": False},
                                     {"description": "标识缺失", "fixed": True}]}
    blocked = decide(app, "pass_inspection", "auditor", data={"hidden_works_qc": "李四"}, collections=defects)
    assert blocked.kinds == ("guard_failed",)
    assert blocked.failed_conditions == ("all(inspection_defect, inspection == completion or fixed is true)",)
    fire(app, "fail_inspection", "auditor", collections=defects)
    assert app["stage"] == "inspection_rectification"
    fire(app, "request_reinspection", "customer_manager")
    assert app["stage"] == "intermediate_inspection"

    fixed = {"inspection_defect": [{**row, "fixed": True} for row in defects["inspection_defect"]]}
    no_fail = decide(app, "fail_inspection", "auditor", collections=fixed)
    assert no_fail.failed_conditions == ("count(inspection_defect, inspection != completion and fixed is false) > 0",)
    d = fire(app, "pass_inspection", "auditor", data={"hidden_works_qc": "李四"}, collections=fixed)
    assert dict(d.changes) == {"hidden_works_qc": "李四", "inspection_passed": True}
    assert app["stage"] == "construction" and app["inspection_passed"] is True

    again = decide(app, "request_inspection", "customer_manager", data=contractor)
    assert again.failed_conditions == ("inspection_passed is false",)
    fire(app, "request_acceptance", "customer_manager")
    assert app["stage"] == "completion_acceptance"
    no_comment = decide(app, "fail_acceptance", "auditor", comment="  ")
    assert no_comment.kinds == ("comment_required",) and no_comment.status == 422
    fire(app, "fail_acceptance", "auditor", comment="配电箱未接地")
    assert app["stage"] == "acceptance_rectification"
    fire(app, "request_reacceptance", "customer_manager")
    assert app["stage"] == "completion_acceptance"
    fire(app, "pass_acceptance", "auditor", data={"acceptance_date": date(2026, 11, 20)})
    assert app["stage"] == "meter_installation"


def test_residential_with_engineering_takes_the_works_branch():
    app = new_application("residential", needs_engineering=True)
    to_plan_reply(app)
    assert decide(app, "reply_direct", "customer_manager", data={"reply_date": date(2026, 11, 10)}).failed_conditions \
        == ("needs_engineering is false",)
    fire(app, "reply_with_works", "customer_manager", data={"reply_date": date(2026, 11, 10)})
    assert app["stage"] == "customer_authorisation"


def test_return_paths():
    app = new_application()
    fire(app, "forward", "clerk")
    assert decide(app, "return_to_clerk", "auditor").kinds == ("comment_required",)
    fire(app, "return_to_clerk", "auditor", comment="身份证复印件不清晰")
    assert app["stage"] == "acceptance"
    app["stage"] = "plan_approval"
    fire(app, "reject_plan", "auditor", comment="容量核定有误")
    assert app["stage"] == "plan_drafting"


# ------------------------------------------------------------ generated checks

CASES = [(t.trigger, src) for t in MODEL.workflow.transitions
         for src in transition_sources(t, MODEL.workflow.stages)]


@pytest.mark.parametrize("trigger,source", CASES)
def test_every_other_role_is_refused(trigger, source):
    spec = WF.transition(trigger, source)
    others = [r for r in ROLES if r not in spec.roles]
    assert others, "every transition leaves at least admin out"
    app = {**new_application(), "stage": source}
    for role in others:
        d = decide(app, trigger, role)
        assert d.kinds == ("wrong_role",), (trigger, role, d)
        assert d.status == 403 and set(d.allowed_roles) == set(spec.roles)
    assert decide(app, trigger, set()).kind == "wrong_role"
    assert decide(app, trigger, set(others)).kind == "wrong_role"
    # a user who also has an allowed role is past the role check
    assert decide(app, trigger, {*others, spec.roles[0]}).kind != "wrong_role"


@pytest.mark.parametrize("trigger", sorted({t.trigger for t in MODEL.workflow.transitions}))
def test_every_trigger_is_refused_from_undeclared_stages(trigger):
    declared = {src for t in MODEL.workflow.transitions if t.trigger == trigger
                for src in transition_sources(t, MODEL.workflow.stages)}
    assert WF.sources_of(trigger) == tuple(s for s in STAGES if s in declared)
    for stage in STAGES:
        if stage in declared:
            continue
        d = WF.decide(trigger, stage=stage, suspended=False, roles=set(ROLES), record={"stage": stage},
                      functions=functions())
        assert d.kinds == ("wrong_stage",) and d.status == 409
        assert set(d.allowed_stages) == declared
        with pytest.raises(WorkflowError) as err:
            WF.next_stage(trigger, stage)
        assert err.value.kind == "wrong_stage"
    assert len(WF.machine.models) == 0


@pytest.mark.parametrize("trigger,source", CASES)
def test_machine_moves_every_declared_transition(trigger, source):
    assert WF.next_stage(trigger, source) == WF.transition(trigger, source).dest
    assert len(WF.machine.models) == 0


def test_every_transition_is_in_the_machine_and_nothing_more():
    declared = {(t, s) for t, s in CASES}
    in_machine = {(name, src) for name, event in WF.machine.events.items() for src in event.transitions}
    assert in_machine == declared
    assert list(WF.machine.states) == STAGES
    assert WF.machine.auto_transitions is False and WF.machine.send_event is True
    assert WF.machine.ignore_invalid_triggers is False


# ------------------------------------------------------------ refusals

def test_unknown_trigger():
    app = new_application()
    d = decide(app, "to_archive", "clerk")
    assert d.kinds == ("unknown_trigger",) and d.status == 409 and not d
    with pytest.raises(WorkflowError) as err:
        WF.next_stage("to_archive", "acceptance")
    assert err.value.kind == "unknown_trigger"


def test_unknown_stage_is_wrong_stage():
    d = WF.decide("forward", stage="no_such_stage", suspended=False, roles={"clerk"}, record={})
    assert d.kind == "wrong_stage" and d.allowed_stages == ("acceptance",)
    with pytest.raises(WorkflowError):
        WF.next_stage("forward", "no_such_stage")
    assert len(WF.machine.models) == 0


def test_guard_failure_lists_canonical_text():
    app = {**new_application(), "stage": "billing_account"}
    d = decide(app, "archive", "clerk", data=ARCHIVE)
    assert d.kinds == ("guard_failed",) and d.failed_conditions == ("account_no is not null",)
    assert d.dest == "archive" and d.status == 422
    # a blank string is not null for the condition language
    assert decide({**app, "account_no": "   "}, "archive", "clerk", data=ARCHIVE).ok


def test_missing_required_fields_are_listed():
    app = {**new_application(), "stage": "meter_installation"}
    d = decide(app, "install_meter", "metering",
               data={"meter_no": "3300001234", "meter_type": "", "initial_reading": None})
    assert d.kinds == ("missing_fields",)
    assert d.missing_fields == ("meter_type", "initial_reading")
    # a value already on the record satisfies 'required'; data may not blank it
    app.update(METER)
    assert decide(app, "install_meter", "metering").ok
    assert decide(app, "install_meter", "metering", data={"meter_no": " "}).missing_fields == ("meter_no",)
    # zero and false are values
    assert decide(app, "install_meter", "metering", data={"initial_reading": 0}).ok


def test_all_422_problems_come_together():
    app = {**new_application(), "stage": "billing_account"}
    d = decide(app, "archive", "clerk", data={"archive_no": "", "meter_no": "x", "stage": "archive"})
    assert d.kinds == ("unknown_data_field", "missing_fields", "guard_failed")
    assert d.kind == "unknown_data_field" and d.status == 422
    assert d.unknown_fields == ("meter_no", "stage")
    assert d.missing_fields == ("archive_no", "archived_on")
    assert d.failed_conditions == ("account_no is not null",)
    assert dict(d.changes) == {"archive_no": ""}
    app["stage"] = "completion_acceptance"
    d = decide(app, "fail_acceptance", "auditor", data={"acceptance_date": date(2026, 1, 1)})
    assert d.kinds == ("unknown_data_field", "comment_required")


def test_unknown_data_field_alone():
    app = {**new_application(), "stage": "initial_review"}
    d = decide(app, "approve_review", "auditor", data={"owner": 3, "inspection_passed": True})
    assert d.kinds == ("unknown_data_field",) and d.unknown_fields == ("inspection_passed",)
    assert dict(d.changes) == {"owner": 3}


def test_a_single_role_string_is_one_role():
    app = new_application()
    assert WF.decide("forward", stage="acceptance", suspended=False, roles="clerk", record=app,
                     functions=functions()).ok
    assert WF.decide("forward", stage="acceptance", suspended=False, roles="clerkx", record=app).kind == "wrong_role"
    assert WF.can_cancel("design", "clerk").ok


def test_wrong_role_is_checked_before_guards_and_fields():
    app = {**new_application(), "stage": "billing_account"}
    d = decide(app, "archive", "metering", data={"junk": 1})
    assert d.kinds == ("wrong_role",) and d.failed_conditions == () and d.allowed_roles == ("clerk",)


def test_reflexive_transition():
    spec = WF.transition("open_account", "billing_account")
    assert spec.reflexive and spec.dest == "billing_account"
    assert WF.next_stage("open_account", "billing_account") == "billing_account"
    app = {**new_application(), "stage": "billing_account"}
    fire(app, "open_account", "customer_manager", data=ACCOUNT)
    fire(app, "open_account", "customer_manager", data={"account_no": "999"})
    assert app["stage"] == "billing_account" and app["account_no"] == "999"
    assert not WF.transition("archive", "billing_account").reflexive


def test_suspended_blocks_every_transition():
    for trigger, source in CASES:
        spec = WF.transition(trigger, source)
        d = WF.decide(trigger, stage=source, suspended=True, roles=set(spec.roles), record={},
                      functions=functions())
        assert d.kinds == ("suspended",) and d.status == 409, (trigger, source)
        assert WF.available(source, True, set(ROLES), {}, {}, functions()) == []
    # wrong stage is still reported as such when suspended
    assert WF.decide("archive", stage="acceptance", suspended=True, roles={"clerk"}, record={}).kind == "wrong_stage"
    # suspended is reported before the role
    assert WF.decide("forward", stage="acceptance", suspended=True, roles={"metering"}, record={}).kind == "suspended"


# ------------------------------------------------------------ available

def test_available_filters_roles_and_reports_guards():
    app = {**new_application(), "stage": "plan_reply"}
    got = WF.available("plan_reply", False, {"customer_manager"}, app, {}, functions())
    assert [t.trigger for t, _ in got] == ["reply_with_works", "reply_direct"]
    by = {t.trigger: d for t, d in got}
    assert by["reply_direct"].ok and by["reply_direct"].dest == "meter_installation"
    assert by["reply_with_works"].kinds == ("guard_failed",)
    assert by["reply_with_works"].failed_conditions == ("needs_engineering is true", "customer_type != residential")
    assert WF.available("plan_reply", False, {"auditor", "metering"}, app, {}, functions()) == []
    # required fields and comments are for the form: not judged here
    assert all(d.ok for _, d in WF.available("initial_review", False, {"auditor"}, app, {}, functions()))
    assert len(WF.machine.models) == 0


def test_available_from_billing_account():
    app = {**new_application(), "stage": "billing_account"}
    got = WF.available("billing_account", False, {"clerk", "customer_manager"}, app, {}, functions())
    assert [t.trigger for t, _ in got] == ["open_account", "archive"]
    assert got[0][1].ok and got[1][1].kind == "guard_failed"
    assert [t.trigger for t, _ in WF.available("billing_account", False, {"customer_manager"}, app)] == ["open_account"]


# ------------------------------------------------------------ suspension and cancellation

def test_suspension_helpers():
    s = MODEL.workflow.suspension
    for stage in STAGES:
        terminal = MODEL.workflow.stages[stage].terminal
        d = WF.can_suspend(stage, False, {"clerk"})
        assert d.ok != terminal and (d.kind == "wrong_stage") == terminal
    assert WF.can_suspend("design", True, {"clerk"}).kind == "suspended"
    assert WF.can_suspend("design", False, {"metering"}).kind == "wrong_role"
    assert WF.can_suspend("design", False, {"metering"}).allowed_roles == tuple(s.roles)
    assert WF.can_suspend("design", False, {"auditor"}, reason="customer_request")
    assert WF.can_suspend("design", False, {"auditor"}, reason="nope").kind == "unknown_reason"
    assert [r.key for r in WF.suspension_reasons] == [r.key for r in s.reasons]
    assert WF.can_resume(True, {"customer_manager"}).ok
    assert WF.can_resume(False, {"customer_manager"}).kind == "not_suspended"
    assert WF.can_resume(True, {"metering"}).kind == "wrong_role"
    assert WF.can_resume(True, {"admin"}).status == 403


def test_cancellation_helpers():
    c = MODEL.workflow.cancellation
    assert WF.cancellation_stage == c.stage == "cancelled"
    for stage in STAGES:
        terminal = MODEL.workflow.stages[stage].terminal
        d = WF.can_cancel(stage, {"auditor"})
        assert d.ok != terminal
        if not terminal:
            assert d.dest == "cancelled"
    assert WF.can_cancel("design", {"customer_manager"}).kind == "wrong_role"
    assert WF.can_cancel("design", {"clerk"}, reason="duplicate").ok
    assert WF.can_cancel("design", {"clerk"}, reason="customer_request").kind == "unknown_reason"
    assert WF.can_cancel("cancelled", {"clerk"}).kind == "wrong_stage"
    # a suspended application can be cancelled: the helper does not even ask
    assert WF.can_suspend("design", True, {"clerk"}).kind == "suspended" and WF.can_cancel("design", {"clerk"}).ok


def test_helpers_without_sections():
    data = _model_data()
    del data["workflow"]["suspension"], data["workflow"]["cancellation"]
    wf = Workflow.from_model(Model.model_validate(data))
    assert wf.can_suspend("design", False, {"clerk"}).kind == "unknown_trigger"
    assert wf.can_resume(True, {"clerk"}).kind == "unknown_trigger"
    assert wf.can_cancel("design", {"clerk"}).kind == "unknown_trigger"
    assert wf.suspension_reasons == () and wf.cancellation_stage is None


# ------------------------------------------------------------ the shared machine

def test_no_leaked_models_and_no_back_doors():
    app = new_application()
    for _ in range(3):
        decide(app, "forward", "clerk")
        WF.next_stage("forward", "acceptance")
        WF.available("acceptance", False, {"clerk"}, app, {}, functions())
    assert len(WF.machine.models) == 0
    with WF.transient("billing_account") as obj:
        assert len(WF.machine.models) == 1
        assert obj.state == "billing_account" and obj.is_billing_account()
        for stage in STAGES:
            assert not hasattr(obj, f"to_{stage}")
        assert obj.may_open_account() and obj.may_archive() and not obj.may_forward()
    assert len(WF.machine.models) == 0
    with pytest.raises(RuntimeError):
        with WF.transient("acceptance"):
            raise RuntimeError("boom")
    assert len(WF.machine.models) == 0


def test_concurrent_checks_share_the_machine_safely():
    def work(n):
        out = []
        for i in range(40):
            trigger, source = CASES[(n + i) % len(CASES)]
            out.append(WF.next_stage(trigger, source) == WF.transition(trigger, source).dest)
        return all(out)
    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(16)))
    assert len(WF.machine.models) == 0


def test_machine_state_is_not_shared_between_checks():
    assert WF.next_stage("forward", "acceptance") == "initial_review"
    assert WF.next_stage("forward", "acceptance") == "initial_review"
    assert WF.next_stage("approve_review", "initial_review") == "site_survey"


def test_lookups():
    assert WF.initial_stage == "acceptance"
    assert WF.terminal_stages == ("archive", "cancelled")
    assert WF.stage("design").label_zh == "工程优化设计及预算"
    with pytest.raises(KeyError):
        WF.stage("nope")
    with pytest.raises(KeyError):
        WF.transition("archive", "acceptance")
    assert [t.trigger for t in WF.transitions_from("intermediate_inspection")] == ["pass_inspection", "fail_inspection"]
    assert set(WF.triggers) == {t.trigger for t in MODEL.workflow.transitions}
    spec = WF.transition("pass_inspection", "intermediate_inspection")
    assert spec.conditions == ("all(inspection_defect, inspection == completion or fixed is true)",) and len(spec.compiled) == 1
    assert dict(spec.set) == {"inspection_passed": True}
    assert spec.collections == ("inspection_defect",) and spec.functions == ()
    forward = WF.transition("forward", "acceptance")
    assert forward.functions == ("documents_complete",) and forward.collections == ()


def test_http_status_of_every_kind():
    assert wm.HTTP_STATUS == {
        "unknown_trigger": 409, "wrong_stage": 409, "suspended": 409, "not_suspended": 409, "wrong_role": 403,
        "unknown_data_field": 422, "missing_fields": 422, "guard_failed": 422, "comment_required": 422,
        "unknown_reason": 422, "signoffs_missing": 422, "no_signoffs": 409, "already_signed": 409,
        "not_a_signer": 403}


@pytest.mark.parametrize("module", ["machine", "decision", "diagram"])
def test_module_is_pure(module):
    tree = ast.parse((ROOT / f"app/workflow/{module}.py").read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {n for n in names if n.split(".")[0] in ("flask", "sqlalchemy", "flask_appbuilder")}


# ------------------------------------------------------------ synthetic models

_RAW = yaml.load((ROOT / "model.yaml").read_text(encoding="utf-8"),  # a safe loader, C if built
                 Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _model_data() -> dict:
    return copy.deepcopy(_RAW)


def _workflow(data: dict) -> Workflow:
    return Workflow.from_model(Model.model_validate(data))


def test_guards_see_data_and_set_values():
    data = _model_data()
    for t in data["workflow"]["transitions"]:
        if t["trigger"] == "set_tariff":
            t["conditions"] = ["contract_no is not null", "tariff_category == residential"]
            del t["signoffs"]
        if t["trigger"] == "authorise":
            t["set"] = {"needs_engineering": True}
            t["conditions"] = ["needs_engineering is true"]
    wf = _workflow(data)
    record = {"stage": "tariff_setting", "tariff_category": "commercial"}
    d = wf.decide("set_tariff", stage="tariff_setting", suspended=False, roles={"customer_manager"},
                  record=record, data={})
    assert d.failed_conditions == ("contract_no is not null", "tariff_category == residential")
    d = wf.decide("set_tariff", stage="tariff_setting", suspended=False, roles={"customer_manager"},
                  record={**record, "contract_no": "HT-1"}, data=TARIFF)
    assert d.ok, d
    d = wf.decide("authorise", stage="customer_authorisation", suspended=False, roles={"customer_manager"},
                  record={"needs_engineering": False})
    assert d.ok and dict(d.changes) == {"needs_engineering": True}
    # the condition sees the stage the step starts from, whatever the record says
    data["workflow"]["transitions"][0]["conditions"] = ["stage == acceptance"]
    wf = _workflow(data)
    assert wf.decide("forward", stage="acceptance", suspended=False, roles={"clerk"}, record={"stage": "x"}).ok


def test_star_sources_and_lists():
    data = _model_data()
    data["workflow"]["transitions"].append(
        {"trigger": "escalate", "label_zh": "升级", "label_en": "Escalate", "source": "*",
         "dest": "plan_approval", "roles": ["auditor"]})
    data["workflow"]["transitions"].append(
        {"trigger": "rewind", "label_zh": "回退", "label_en": "Rewind", "source": ["design", "construction"],
         "dest": "customer_authorisation", "roles": ["auditor"]})
    wf = _workflow(data)
    non_terminal = tuple(k for k, s in MODEL.workflow.stages.items() if not s.terminal)
    assert wf.sources_of("escalate") == non_terminal
    for stage in non_terminal:
        assert wf.next_stage("escalate", stage) == "plan_approval"
    assert wf.next_stage("escalate", "plan_approval") == "plan_approval"  # "*" includes the destination
    for stage in wf.terminal_stages:
        assert wf.decide("escalate", stage=stage, suspended=False, roles={"auditor"}, record={}).kind == "wrong_stage"
    assert wf.sources_of("rewind") == ("design", "construction")
    assert wf.next_stage("rewind", "construction") == "customer_authorisation"
    ET.fromstring(wf.diagram_svg("design"))


@pytest.mark.parametrize("change,message", [
    (lambda t: t.append({**t[0], "label_zh": "再报", "dest": "cancelled"}), "declared twice"),
    (lambda t: t[1].update(fields=["owner", "lock_version"]), "lock_version"),
    (lambda t: t[1].update(set={"stage": "archive"}), "'stage'"),
    (lambda t: t[1].update(conditions=["owner =="]), "condition"),
    (lambda t: t[1].update(trigger="is_archive"), "clashes"),
    (lambda t: t[1].update(trigger="trigger"), "clashes"),
    (lambda t: t[1].update(dest="nowhere"), "unknown stage"),
])
def test_bad_models_are_refused(change, message):
    data = _model_data()
    change(data["workflow"]["transitions"])
    with pytest.raises(ValueError, match=message):
        _workflow(data)


# ------------------------------------------------------------ diagram

def _stages(root) -> dict:
    return {g.get("data-stage"): g for g in root.iter(f"{SVG}g") if "stage" in (g.get("class") or "").split()}


def test_diagram_is_valid_svg_with_every_stage_and_the_current_one():
    svg = WF.diagram_svg("plan_reply")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    text = "".join(root.itertext())
    for stage in MODEL.workflow.stages.values():
        assert stage.label_zh in text
    groups = _stages(root)
    assert list(groups) == STAGES
    current = [k for k, g in groups.items() if "current" in g.get("class").split()]
    assert current == ["plan_reply"] and groups["plan_reply"].get("aria-current") == "step"
    for key, g in groups.items():
        assert f"side-{MODEL.workflow.stages[key].side}" in g.get("class").split()
    customer_fill = {g.find(f"{SVG}rect").get("fill") for k, g in groups.items()
                     if MODEL.workflow.stages[k].side == "customer"}
    utility_fill = {g.find(f"{SVG}rect").get("fill") for k, g in groups.items()
                    if MODEL.workflow.stages[k].side == "utility"}
    assert len(customer_fill) == len(utility_fill) == 1 and customer_fill != utility_fill
    assert "<script" not in svg and "foreignObject" not in svg


def test_diagram_edges_match_transitions():
    root = ET.fromstring(WF.diagram_svg())
    edges = [g for g in root.iter(f"{SVG}g") if "edge" in (g.get("class") or "").split()]
    pairs = {(g.get("data-source"), g.get("data-dest")) for g in edges}
    assert pairs == {(s, t.dest) for t in MODEL.workflow.transitions
                     for s in transition_sources(t, MODEL.workflow.stages)}
    loops = {g.get("data-source") for g in edges if "reflexive" in g.get("class").split()}
    assert loops == {"billing_account", "plan_drafting"}
    for g in edges:
        path = g.find(f"{SVG}path")
        assert path.get("marker-end") == "url(#wf-arrow)" and path.get("d").startswith("M")
    assert not [g for g in _stages(root).values() if "current" in g.get("class").split()]


def test_diagram_stays_inside_and_boxes_do_not_overlap():
    root = ET.fromstring(WF.diagram_svg())
    width, height = float(root.get("width")), float(root.get("height"))
    boxes = [tuple(float(g.find(f"{SVG}rect").get(a)) for a in ("x", "y", "width", "height"))
             for g in _stages(root).values()]
    for i, (x, y, w, h) in enumerate(boxes):
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    edges = [g for g in root.iter(f"{SVG}g") if "edge" in (g.get("class") or "").split()]
    for g in edges:
        d = g.find(f"{SVG}path").get("d")
        points = [tuple(float(v) for v in token.split(","))
                  for token in d.replace("M", " ").replace("L", " ").replace("C", " ").split()]
        for px, py in points:
            assert 0 <= px <= width and 0 <= py <= height
        if "reflexive" in g.get("class").split():
            continue
        # orthogonal or straight: every segment is horizontal or vertical and crosses no box
        for (x1, y1), (x2, y2) in zip(points, points[1:]):
            assert x1 == x2 or y1 == y2, d
            for bx, by, bw, bh in boxes:
                inside_x = max(x1, x2) > bx + 1 and min(x1, x2) < bx + bw - 1
                inside_y = max(y1, y2) > by + 1 and min(y1, y2) < by + bh - 1
                assert not (inside_x and inside_y), (g.get("data-triggers"), d)


def test_diagram_escapes_text():
    data = _model_data()
    data["workflow"]["stages"]["design"]["label_zh"] = '设计 <b>&"预算"</b> ' + "很长" * 30
    data["workflow"]["transitions"][0]["label_zh"] = "报送 <&>"
    svg = _workflow(data).diagram_svg("design")
    root = ET.fromstring(svg)
    design = _stages(root)["design"]
    assert design.find(f"{SVG}title").text.startswith('设计 <b>&"预算"</b>')
    assert "…" in "".join(design.find(f"{SVG}text").itertext())
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    edge_titles = [t.text for t in root.iter(f"{SVG}title")]
    assert any("报送 <&>" in (t or "") for t in edge_titles)
