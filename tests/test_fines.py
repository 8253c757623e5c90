"""Assessment: a scripted month yields exactly the fines of SPEC §5; decisions; bad input; roles."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.assessment.ledger import FineEntry, FineError, Sanction
from test_sla import at, create, fire

MONTH = "2026-03"
PLAN = {"supply_voltage": "v220", "approved_capacity_kw": "8", "supply_point": "3号台区",
        "metering_method": "direct", "billing_method": "single_rate", "tariff_category": "residential"}
SURVEY = {"survey_date": "2026-03-03", "survey_participants": "客服中心", "survey_findings": "具备条件"}


def uid(app, name: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username=name).id


def sweep(app, when: str) -> None:
    with app.app_context():
        core = app.extensions["yekuotong"]
        core.sla.sweep(core.db.session, at(when))


def to_plan_reply(app, pk: int, day: str, tracker: bool = True, customer_type: str = "residential") -> None:
    fire(app, pk, "clerk", "forward", at(f"{day}T09:10"))
    fire(app, pk, "auditor", "approve_review", at(f"{day}T09:20"), {"owner": uid(app, "manager")})
    fire(app, pk, "manager", "complete_survey", at(f"{day}T09:30"),
         dict(SURVEY, **({"plan_tracker": uid(app, "manager")} if tracker else {})))
    fire(app, pk, "manager", "submit_plan", at(f"{day}T09:40"),
         dict(PLAN, tariff_category="residential" if customer_type == "residential" else "commercial"))
    fire(app, pk, "auditor", "approve_plan", at(f"{day}T09:50"))


def to_inspection(app, pk: int, day: str) -> None:
    to_plan_reply(app, pk, day, customer_type="non_residential")
    fire(app, pk, "manager", "reply_with_works", at(f"{day}T10:00"), {"reply_date": day})
    fire(app, pk, "manager", "authorise", at(f"{day}T10:10"))
    fire(app, pk, "manager", "complete_design", at(f"{day}T10:20"), {"design_unit": "设计院", "budget_amount": "9000"})
    fire(app, pk, "manager", "request_inspection", at(f"{day}T10:30"),
         {"contractor_name": "安装公司", "contractor_qualification": "D1"})


def suspend(app, pk: int, when: str, reason: str, **responsible) -> None:
    fire(app, pk, "manager", "suspend", at(when), {"reason": reason, **responsible})


def cancel(app, pk: int, when: str) -> None:
    fire(app, pk, "clerk", "cancel", at(when), {"reason": "customer_withdrew"})


@pytest.fixture(scope="module")
def month(app):
    """A scripted March 2026: each application is built to trigger one rule (or two)."""
    apps = {}
    apps["A5"] = create(app, at("2026-03-02T09:00"))
    fire(app, apps["A5"], "clerk", "forward", at("2026-03-05T10:00"))  # 1 WD limit missed
    cancel(app, apps["A5"], "2026-03-05T11:00")

    apps["A6"] = create(app, at("2026-03-02T09:00"))
    to_plan_reply(app, apps["A6"], "2026-03-02")
    fire(app, apps["A6"], "manager", "reply_direct", at("2026-03-09T10:00"), {"reply_date": "2026-03-09"})
    cancel(app, apps["A6"], "2026-03-09T11:00")

    apps["A7"] = create(app, at("2026-03-02T09:00"), "non_residential")  # plan reply: 7 WD
    fire(app, apps["A7"], "clerk", "forward", at("2026-03-02T09:10"))
    fire(app, apps["A7"], "auditor", "approve_review", at("2026-03-02T09:20"), {"owner": uid(app, "manager")})
    fire(app, apps["A7"], "manager", "complete_survey", at("2026-03-06T10:00"), SURVEY)  # survey: 3 WD missed
    cancel(app, apps["A7"], "2026-03-06T11:00")

    apps["A9"] = create(app, at("2026-03-02T09:00"))
    fire(app, apps["A9"], "clerk", "forward", at("2026-03-02T09:10"))
    fire(app, apps["A9"], "auditor", "approve_review", at("2026-03-02T09:20"), {"owner": uid(app, "manager")})
    fire(app, apps["A9"], "manager", "complete_survey", at("2026-03-03T09:00"), SURVEY)  # nobody tracks the plan
    sweep(app, "2026-03-06T12:00")
    cancel(app, apps["A9"], "2026-03-06T13:00")

    apps["A10"] = create(app, at("2026-03-09T09:00"))
    fire(app, apps["A10"], "clerk", "forward", at("2026-03-09T09:10"))
    fire(app, apps["A10"], "auditor", "approve_review", at("2026-03-09T09:20"), {"owner": uid(app, "manager")})
    fire(app, apps["A10"], "manager", "complete_survey", at("2026-03-09T09:30"),
         dict(SURVEY, plan_tracker=uid(app, "manager")))
    sweep(app, "2026-03-13T12:00")  # plan reply (3 WD) passed while the plan was still being drafted
    cancel(app, apps["A10"], "2026-03-13T13:00")

    apps["A8"] = create(app, at("2026-03-16T09:00"))
    fire(app, apps["A8"], "clerk", "forward", at("2026-03-16T09:10"))
    fire(app, apps["A8"], "auditor", "approve_review", at("2026-03-16T09:20"), {"owner": uid(app, "manager")})
    fire(app, apps["A8"], "manager", "complete_survey", at("2026-03-16T09:30"), SURVEY)
    suspend(app, apps["A8"], "2026-03-16T10:00", "incomplete_forms", responsible_user=uid(app, "clerk"))
    cancel(app, apps["A8"], "2026-03-16T11:00")

    apps["A11"] = create(app, at("2026-03-17T09:00"), "non_residential")
    to_plan_reply(app, apps["A11"], "2026-03-17", customer_type="non_residential")
    fire(app, apps["A11"], "manager", "reply_with_works", at("2026-03-17T10:00"), {"reply_date": "2026-03-17"})
    suspend(app, apps["A11"], "2026-03-17T10:30", "customer_info_incomplete", responsible_user=uid(app, "clerk"))
    cancel(app, apps["A11"], "2026-03-17T11:00")

    apps["A12"] = create(app, at("2026-03-18T09:00"), "non_residential")
    to_inspection(app, apps["A12"], "2026-03-18")
    suspend(app, apps["A12"], "2026-03-18T11:00", "clerk_documents_incomplete", responsible_user=uid(app, "clerk"))
    fire(app, apps["A12"], "manager", "resume", at("2026-03-18T12:00"))
    suspend(app, apps["A12"], "2026-03-18T13:00", "unit_ignored_dispatch", responsible_unit=unit_id(app, "supply_station"))
    cancel(app, apps["A12"], "2026-03-18T14:00")

    apps["A14"] = create(app, at("2026-03-19T09:00"), "non_residential")
    to_inspection(app, apps["A14"], "2026-03-19")
    fire(app, apps["A14"], "auditor", "pass_inspection", at("2026-03-19T11:00"), {"hidden_works_qc": "周工"})
    fire(app, apps["A14"], "manager", "request_acceptance", at("2026-03-19T11:10"))
    suspend(app, apps["A14"], "2026-03-19T11:30", "acceptance_documents_incomplete",
            responsible_user=uid(app, "metering"))
    cancel(app, apps["A14"], "2026-03-19T12:00")

    with app.app_context():
        core = app.extensions["yekuotong"]
        auditor = app.appbuilder.sm.find_user(username="auditor")
        number = core.db.session.get(core.engine.cls, apps["A5"]).number
        for category in ("attitude_no_complaint", "complaint_county", "complaint_provincial"):
            core.ledger.record_incident(core.db.session, auditor, category, uid(app, "clerk"), "客户反映态度差", number)
        core.ledger.record_incident(core.db.session, auditor, "severe_impact", uid(app, "clerk"), "造成恶劣影响",
                                    number, amount="500")
    return apps


def unit_id(app, code: str) -> int:
    with app.app_context():
        core = app.extensions["yekuotong"]
        return core.db.session.scalars(select(core.orm["unit"].id).where(core.orm["unit"].code == code)).one()


def fines_of(app, ids) -> list[FineEntry]:
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        rows = list(session.scalars(select(FineEntry).where(FineEntry.application_id.in_(list(ids)))))
        session.expunge_all()
        return rows


EXPECTED = {  # rule: (target kind, target, amount) from SPEC §5
    "A1": ("user", "clerk", Decimal("20")), "A2": ("user", "clerk", Decimal("50")),
    "A3": ("user", "clerk", Decimal("200")), "A4": ("user", "clerk", Decimal("500")),
    "A5": ("user", "clerk", Decimal("20")), "A6": ("user", "manager", Decimal("50")),
    "A7": ("user", "manager", Decimal("50")), "A8": ("user", "clerk", Decimal("30")),
    "A9": ("user", "manager", Decimal("50")), "A10": ("unit", "service_center", Decimal("100")),
    "A11": ("user", "clerk", Decimal("50")), "A12": ("user", "clerk", Decimal("30")),
    "A13": ("unit", "supply_station", Decimal("100")), "A14": ("user", "metering", Decimal("50")),
}


def test_scripted_month_yields_exactly_the_spec_fines(app, month):
    fines = fines_of(app, month.values())
    assert sorted(f.rule_id for f in fines) == sorted(EXPECTED), [(f.rule_id, f.evidence) for f in fines]
    for fine in fines:
        kind, name, amount = EXPECTED[fine.rule_id]
        target = fine.target_user_id if kind == "user" else fine.target_unit_id
        expected = uid(app, name) if kind == "user" else unit_id(app, name)
        assert (target, fine.amount) == (expected, amount), fine.rule_id
        assert fine.status == "proposed" and fine.model_version
    by_rule = {f.rule_id: f for f in fines}
    assert by_rule["A3"].sanction == "suspend_until_exam" and by_rule["A4"].sanction == "remove_from_post"
    assert by_rule["A5"].month == MONTH and by_rule["A10"].month == MONTH


def test_retried_triggers_and_concurrent_sweeps_make_no_duplicate(app, month):
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        timer_cls = core.orm["sla_timer"]
        timer = session.scalars(select(timer_cls).where(timer_cls.application_id == month["A5"],
                                                        timer_cls.timer == "forward")).one()
        row = session.get(core.engine.cls, month["A5"])
        core.ledger.on_breach(session, timer, row)  # a retried hook
        core.ledger.on_breach(session, timer, row)
        session.commit()
        core.sla.sweep(session, at("2026-12-31T12:00"))
    assert sorted(f.rule_id for f in fines_of(app, month.values())) == sorted(EXPECTED)


def test_confirm_waive_and_their_refusals(app, month):
    fines = {f.rule_id: f for f in fines_of(app, month.values())}
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        auditor = app.appbuilder.sm.find_user(username="auditor")
        with pytest.raises(FineError, match="原因"):
            core.ledger.decide(session, [fines["A1"].id], auditor, "waive", "")
        assert session.get(FineEntry, fines["A1"].id).status == "proposed"
        assert core.ledger.decide(session, [fines["A1"].id, fines["A2"].id], auditor, "confirm") == 2
        with pytest.raises(FineError, match=f"#{fines['A1'].id}"):
            core.ledger.decide(session, [fines["A1"].id, fines["A5"].id], auditor, "confirm")
        assert session.get(FineEntry, fines["A5"].id).status == "proposed"  # all or nothing
        core.ledger.decide(session, [fines["A5"].id], auditor, "waive", "客户资料延误所致")
        core.ledger.decide(session, [fines["A3"].id], auditor, "confirm")
        sanction = session.scalars(select(Sanction).where(Sanction.fine_id == fines["A3"].id)).one()
        assert sanction.kind == "suspend_until_exam" and sanction.active
        reversal = core.ledger.reverse(session, fines["A2"].id, auditor, "投诉经核实不成立")
        assert reversal.amount == Decimal("-50") and reversal.reverses_id == fines["A2"].id
        with pytest.raises(FineError):
            core.ledger.reverse(session, fines["A2"].id, auditor, "再次更正")
        history = core.orm["workflow_history"]
        kinds = session.scalars(select(history.trigger).where(history.application_id == month["A5"],
                                                              history.kind == "fine")).all()
        assert {"confirm", "waive", "reverse"} <= set(kinds)


def test_incident_bad_input_changes_nothing(app, month):
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        auditor = app.appbuilder.sm.find_user(username="auditor")
        before = session.execute(select(func.count()).select_from(FineEntry)).scalar_one()
        with pytest.raises(FineError, match="人员"):
            core.ledger.record_incident(session, auditor, "complaint_county", 999999, "x")
        with pytest.raises(FineError, match="之间"):
            core.ledger.record_incident(session, auditor, "severe_impact", uid(app, "clerk"), "x", amount="99999")
        with pytest.raises(FineError):
            core.ledger.record_incident(session, auditor, "no_such_category", uid(app, "clerk"), "x")
        with pytest.raises(FineError):
            core.ledger.record_incident(session, auditor, "complaint_county", uid(app, "clerk"), "   ")
        session.rollback()
        assert session.execute(select(func.count()).select_from(FineEntry)).scalar_one() == before


ROLE_SCREENS = {"/fines/pending/": "decide", "/fines/incident/": "decide", "/fines/sanctions/": "decide",
                "/fines/summary/": "summary", "/fines/summary.csv": "summary", "/fines/mine/": None,
                "/fines/unit/": "unit_view"}


@pytest.mark.parametrize("user,role", [("clerk", "clerk"), ("manager", "customer_manager"),
                                       ("metering", "metering"), ("auditor", "auditor"), ("admin", "admin"),
                                       ("head", "unit_head")])
def test_role_matrix_for_assessment_screens(app, login, user, role):
    from test_roles import MODEL

    client = login(user)
    for url, need in ROLE_SCREENS.items():
        allowed = role == "admin" or need is None or role in getattr(MODEL.assessment, need)
        status = client.get(url).status_code
        assert (status == 200) == allowed, (user, url, status)


def test_staff_see_only_their_own_fines(app, login, month):
    html = login("metering").get("/fines/mine/").get_data(as_text=True)
    assert "A14" in html and "A5 " not in html


def test_monthly_summary_and_csv(app, login, month):
    client = login("auditor")
    html = client.get(f"/fines/summary/?month={MONTH}").get_data(as_text=True)
    assert "月度考核汇总" in html and "客户服务中心" in html
    csv_text = client.get(f"/fines/summary.csv?month={MONTH}").get_data(as_text=True)
    assert "A10" in csv_text and "A13" in csv_text


def test_fine_notice_and_summary_print_and_verify(app, login, month):
    from pypdf import PdfReader
    import io

    fines = {f.rule_id: f for f in fines_of(app, month.values())}
    with app.app_context():
        core = app.extensions["yekuotong"]
        auditor = app.appbuilder.sm.find_user(username="auditor")
        if core.db.session.get(FineEntry, fines["A14"].id).status == "proposed":
            core.ledger.decide(core.db.session, [fines["A14"].id], auditor, "confirm")
        if core.db.session.get(FineEntry, fines["A12"].id).status == "proposed":
            core.ledger.decide(core.db.session, [fines["A12"].id], auditor, "confirm")
    # the fined person prints their own notice; metering may not print a clerk's notice
    own = login("metering").get(f"/fines/notice/{fines['A14'].id}")
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(own.data)).pages)
    assert "考核通知单" in text and "A14" in text and "¥50.00" in text
    assert login("metering").get(f"/fines/notice/{fines['A12'].id}").status_code == 403
    assert login("auditor").get(f"/fines/notice/{fines['A12'].id}").status_code == 200
    refused = login("auditor").get(f"/fines/notice/{fines['A6'].id}")  # still proposed
    assert refused.status_code == 302
    summary = login("auditor").get(f"/fines/summary.pdf?month={MONTH}")
    assert summary.status_code == 200
    summary_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(summary.data)).pages)
    assert "月度考核汇总表" in summary_text and "客户服务中心" in summary_text
    assert login("clerk").get(f"/fines/summary.pdf?month={MONTH}").status_code == 403
    with app.app_context():
        from app.assessment.printing import AssessmentPrint

        core = app.extensions["yekuotong"]
        code = core.db.session.scalars(select(AssessmentPrint.code).where(
            AssessmentPrint.fine_id == fines["A14"].id)).first()
    anonymous = app.test_client()
    assert "verify-match" in anonymous.get(f"/verify/{code}").get_data(as_text=True)
    with app.app_context():
        core = app.extensions["yekuotong"]
        auditor = app.appbuilder.sm.find_user(username="auditor")
        core.ledger.reverse(core.db.session, fines["A14"].id, auditor, "核实有误")
        entry = core.db.session.get(FineEntry, fines["A14"].id)
        entry.decision_reason = "已更正"  # the printed reason no longer matches
        core.db.session.commit()
    assert "verify-changed" in anonymous.get(f"/verify/{code}").get_data(as_text=True)


def test_unit_head_sees_the_units_fines(app, login, month):
    html = login("head").get("/fines/unit/").get_data(as_text=True)
    assert "A10" in html and "A5 " in html  # the service center itself, and its clerk


def test_amounts_are_copied_when_proposed(app, month):
    """Editing an amount in model.yaml changes later fines only: the row keeps its own amount."""
    from app.assessment.ledger import Ledger

    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        before = session.scalars(select(FineEntry).where(FineEntry.rule_id == "A5",
                                                         FineEntry.application_id == month["A5"])).one()
        rules = [r.model_copy(update={"amount": Decimal("35")}) if r.id == "A5" else r for r in core.model.fines]
        edited = Ledger(type("Core", (), {"model": core.model.model_copy(update={"fines": rules}),
                                           "orm": core.orm, "engine": core.engine})())
        row = session.get(core.engine.cls, month["A6"])
        edited._propose(session, edited.rules["A5"], f"test:copy:{row.id}", row, at("2026-03-20T09:00"), {})
        session.commit()
        later = session.scalars(select(FineEntry).where(FineEntry.trigger_key == f"test:copy:{row.id}")).one()
        assert (later.amount, session.get(FineEntry, before.id).amount) == (Decimal("35"), Decimal("20"))
