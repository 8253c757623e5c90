"""Assessment: a scripted month, written from the regulation's sentences (article 四), fines exactly the
right person or unit, the right amount, once — and nobody where a sentence does not apply.

Every case is one application named after the rule it exercises: "A9" must propose A9, "A9-not" is
the closest situation the sentence excludes ("现场勘测完毕后": before the survey is done, no A9).
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.assessment.ledger import FineEntry, FineError
from test_sla import at, create, fire

MONTH = "2026-03"
PLAN = {"supply_voltage": "v220", "approved_capacity_kw": "8", "supply_point": "3号台区",
        "metering_method": "direct", "billing_method": "single_rate", "tariff_category": "residential"}
SURVEY = {"survey_date": "2026-03-03", "survey_participants": "客服中心", "survey_findings": "具备条件"}


def uid(app, name: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username=name).id


def unit_id(app, code: str) -> int:
    with app.app_context():
        core = app.extensions["yekuotong"]
        return core.db.session.scalars(select(core.orm["unit"].id).where(core.orm["unit"].code == code)).one()


def station_manager(app) -> str:
    """A customer manager of the supply station (用电管理单位): A10 must fine that unit for their plans."""
    with app.app_context():
        sm = app.appbuilder.sm
        if sm.find_user(username="manager_station") is None:
            user = sm.add_user("manager_station", "所", "经理", "manager_station@example.cn",
                               sm.find_role("customer_manager"), password="station-2026")
            user.unit_id = unit_id(app, "supply_station")
            sm.update_user(user)
    return "manager_station"


def second_clerk(app) -> str:
    """Another 业扩员 of the service center: the one who accepted a case, not the one who forwarded it."""
    with app.app_context():
        sm = app.appbuilder.sm
        if sm.find_user(username="clerk_two") is None:
            user = sm.add_user("clerk_two", "二", "业扩", "clerk_two@example.cn", sm.find_role("clerk"),
                               password="clerk-two-2026")
            user.unit_id = unit_id(app, "service_center")
            sm.update_user(user)
    return "clerk_two"


def accepted_by(app, pk: int, username: str) -> None:
    """The case was accepted at the counter by `username` (what the acceptance step records)."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        core.db.session.get(core.engine.cls, pk).accepted_by_id = uid(app, username)
        core.db.session.commit()


def sweep(app, when: str) -> None:
    with app.app_context():
        core = app.extensions["yekuotong"]
        core.sla.sweep(core.db.session, at(when))


def review(app, pk: int, day: str, owner: str = "manager") -> None:
    """业务受理 → 登记初审 → 现场勘查, on the morning of `day`."""
    fire(app, pk, "clerk", "forward", at(f"{day}T09:10"))
    fire(app, pk, "auditor", "approve_review", at(f"{day}T09:20"), {"owner": uid(app, owner)})


def survey(app, pk: int, when: str, tracker: str | None = "manager", owner: str = "manager") -> None:
    fire(app, pk, owner, "complete_survey", at(when),
         dict(SURVEY, **({"plan_tracker": uid(app, tracker)} if tracker else {})))


def plan(app, pk: int, when: str, customer_type: str = "residential", owner: str = "manager") -> None:
    fire(app, pk, owner, "submit_plan", at(when),
         dict(PLAN, tariff_category="residential" if customer_type == "residential" else "commercial"))


def to_plan_reply(app, pk: int, day: str, customer_type: str = "residential") -> None:
    review(app, pk, day)
    survey(app, pk, f"{day}T09:30")
    plan(app, pk, f"{day}T09:40", customer_type)
    fire(app, pk, "auditor", "approve_plan", at(f"{day}T09:50"))


def to_inspection(app, pk: int, day: str) -> None:
    to_plan_reply(app, pk, day, "non_residential")
    fire(app, pk, "manager", "reply_with_works", at(f"{day}T10:00"), {"reply_date": day})
    fire(app, pk, "manager", "authorise", at(f"{day}T10:10"))
    fire(app, pk, "manager", "complete_design", at(f"{day}T10:20"), {"design_unit": "设计院", "budget_amount": "9000"})
    fire(app, pk, "auditor", "pass_design_review", at(f"{day}T10:25"), {"design_review_opinion": "同意"})
    fire(app, pk, "manager", "request_inspection", at(f"{day}T10:30"),
         {"contractor_name": "安装公司", "contractor_qualification": "D1"})


def to_acceptance(app, pk: int, day: str) -> None:
    to_inspection(app, pk, day)
    fire(app, pk, "auditor", "pass_inspection", at(f"{day}T11:00"), {"hidden_works_qc": "周工"})
    fire(app, pk, "manager", "request_acceptance", at(f"{day}T11:10"))


def sign(app, pk: int, trigger: str, when: str, missing: tuple[str, ...] = ()) -> None:
    """Every unit signs `trigger` off (会签) except `missing`."""
    from test_workflow_api import SIGNER_OF

    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.db.session.get(core.engine.cls, pk)
        for party in core.engine.spec_for(trigger, row.stage).signoffs:
            unit = party.partition(":")[2]
            if unit not in missing:
                signer = app.appbuilder.sm.find_user(username=SIGNER_OF[unit])
                assert core.signoffs.sign(core.db.session, pk, trigger, signer, "同意", at=at(when)).ok, party


def suspend(app, pk: int, when: str, reason: str, **responsible) -> None:
    fire(app, pk, "manager", "suspend", at(when), {"reason": reason, **responsible})


def resume(app, pk: int, when: str) -> None:
    fire(app, pk, "manager", "resume", at(when))


def cancel(app, pk: int, when: str) -> None:
    fire(app, pk, "clerk", "cancel", at(when), {"reason": "customer_withdrew"})


def rules_on(app, pk: int) -> list[str]:
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        return sorted(session.scalars(select(FineEntry.rule_id).where(FineEntry.application_id == pk)))


@pytest.fixture(scope="module")
def month(app):
    """March 2026 (Mon 03-02 is a working day; no holidays): every case ends cancelled, so a later
    case's sweep finds no deadline of an earlier one."""
    station = station_manager(app)
    apps, seen = {}, {}

    # A5 业扩员报审材料未按规定时间（自受理之日起不超过1天）报送初审 → 业扩员 20
    apps["A5"] = create(app, at("2026-03-02T09:00"))
    fire(app, apps["A5"], "clerk", "forward", at("2026-03-05T10:00"))  # due end of Tue 03-03
    cancel(app, apps["A5"], "2026-03-05T11:00")
    apps["A5-accepted"] = create(app, at("2026-03-02T09:00"))  # the clerk who accepted it, not who forwarded it
    accepted_by(app, apps["A5-accepted"], second_clerk(app))
    fire(app, apps["A5-accepted"], "clerk", "forward", at("2026-03-05T10:00"))
    cancel(app, apps["A5-accepted"], "2026-03-05T11:00")
    apps["A5-not"] = create(app, at("2026-03-02T09:00"))
    fire(app, apps["A5-not"], "clerk", "forward", at("2026-03-03T16:00"))  # within the working day
    cancel(app, apps["A5-not"], "2026-03-03T17:00")

    # A6 因客户经理原因超出供电方案答复时间 → 客户经理 50 (residential: 3 WD from acceptance, end of 03-05)
    apps["A6"] = create(app, at("2026-03-02T09:00"))
    to_plan_reply(app, apps["A6"], "2026-03-02")
    fire(app, apps["A6"], "manager", "reply_direct", at("2026-03-09T10:00"), {"reply_date": "2026-03-09"})
    cancel(app, apps["A6"], "2026-03-09T11:00")
    apps["A6-not"] = create(app, at("2026-03-02T09:00"))
    to_plan_reply(app, apps["A6-not"], "2026-03-02")
    fire(app, apps["A6-not"], "manager", "reply_direct", at("2026-03-05T10:00"), {"reply_date": "2026-03-05"})
    cancel(app, apps["A6-not"], "2026-03-05T11:00")

    # A7 无故拖延未按时完成现场勘测的，但未影响方案答复的 → 客户经理 50, judged at the reply.
    # non-residential: the reply is due 7 WD after acceptance (end of Wed 03-11); the survey 3 WD after review.
    apps["A7"] = create(app, at("2026-03-02T09:00"), "non_residential")
    review(app, apps["A7"], "2026-03-02")
    sweep(app, "2026-03-06T08:00")  # the survey deadline (end of Thu 03-05) has passed
    survey(app, apps["A7"], "2026-03-06T10:00")
    plan(app, apps["A7"], "2026-03-06T10:10", "non_residential")
    fire(app, apps["A7"], "auditor", "approve_plan", at("2026-03-06T10:20"))
    seen["A7 before the reply"] = rules_on(app, apps["A7"])
    fire(app, apps["A7"], "manager", "reply_with_works", at("2026-03-09T10:00"), {"reply_date": "2026-03-09"})
    cancel(app, apps["A7"], "2026-03-09T11:00")
    # ... the survey late AND the reply late: the plan-reply fine (A6, the survey being the manager's),
    # never A7 as well
    apps["A7-not"] = create(app, at("2026-03-02T09:00"))
    review(app, apps["A7-not"], "2026-03-02")
    sweep(app, "2026-03-06T08:00")  # survey and plan reply (end of 03-05) both overdue, at 现场勘查
    survey(app, apps["A7-not"], "2026-03-06T10:00")
    plan(app, apps["A7-not"], "2026-03-06T10:10")
    fire(app, apps["A7-not"], "auditor", "approve_plan", at("2026-03-06T10:20"))
    fire(app, apps["A7-not"], "manager", "reply_direct", at("2026-03-06T11:00"), {"reply_date": "2026-03-06"})
    cancel(app, apps["A7-not"], "2026-03-06T12:00")
    # ... a late survey on a case withdrawn before any reply: no outcome, no A7
    apps["A7-cancelled"] = create(app, at("2026-03-02T09:00"), "non_residential")
    review(app, apps["A7-cancelled"], "2026-03-02")
    survey(app, apps["A7-cancelled"], "2026-03-06T10:00")
    cancel(app, apps["A7-cancelled"], "2026-03-06T11:00")

    # A9 现场勘测完毕后，因客户经理未安排专人跟踪供电方案的完成时间，造成超时 → 客户经理 50
    apps["A9"] = create(app, at("2026-03-09T09:00"))  # reply due end of Thu 03-12
    review(app, apps["A9"], "2026-03-09")
    survey(app, apps["A9"], "2026-03-09T09:30", tracker=None)
    sweep(app, "2026-03-13T08:00")  # overdue while the plan is being drafted
    cancel(app, apps["A9"], "2026-03-13T09:00")
    # ... before the survey is done nobody can be named: the survey's lateness is the manager's (A6)
    apps["A9-not"] = create(app, at("2026-03-09T09:00"))
    review(app, apps["A9-not"], "2026-03-09")
    sweep(app, "2026-03-13T08:00")
    cancel(app, apps["A9-not"], "2026-03-13T09:00")

    # A10 因未按时完成供电方案，造成超时 → 客户服务中心或用电管理单位 100: the unit drafting the plan
    apps["A10"] = create(app, at("2026-03-09T09:00"))
    review(app, apps["A10"], "2026-03-09")
    survey(app, apps["A10"], "2026-03-09T09:30")
    sweep(app, "2026-03-13T08:00")
    cancel(app, apps["A10"], "2026-03-13T09:00")
    apps["A10-station"] = create(app, at("2026-03-09T09:00"))
    review(app, apps["A10-station"], "2026-03-09", owner=station)
    survey(app, apps["A10-station"], "2026-03-09T09:30", tracker=station, owner=station)
    sweep(app, "2026-03-13T08:00")
    cancel(app, apps["A10-station"], "2026-03-13T09:00")
    # ... the plan is not finished until the units that surveyed sign it: those that have not, of the two
    apps["A10-unsigned"] = create(app, at("2026-03-09T09:00"))
    review(app, apps["A10-unsigned"], "2026-03-09")
    survey(app, apps["A10-unsigned"], "2026-03-09T09:30")
    plan(app, apps["A10-unsigned"], "2026-03-09T09:40")
    sign(app, apps["A10-unsigned"], "approve_plan", "2026-03-10T10:00", missing=("supply_station", "billing_center"))
    sweep(app, "2026-03-13T08:00")
    cancel(app, apps["A10-unsigned"], "2026-03-13T09:00")
    apps["A10-unsigned-both"] = create(app, at("2026-03-09T09:00"))
    review(app, apps["A10-unsigned-both"], "2026-03-09")
    survey(app, apps["A10-unsigned-both"], "2026-03-09T09:30")
    plan(app, apps["A10-unsigned-both"], "2026-03-09T09:40")
    sweep(app, "2026-03-13T08:00")
    cancel(app, apps["A10-unsigned-both"], "2026-03-13T09:00")
    # ... the plan is signed by every unit and waits for 营销部主任's approval: neither unit's delay
    apps["A10-not"] = create(app, at("2026-03-09T09:00"))
    review(app, apps["A10-not"], "2026-03-09")
    survey(app, apps["A10-not"], "2026-03-09T09:30")
    plan(app, apps["A10-not"], "2026-03-09T09:40")
    sign(app, apps["A10-not"], "approve_plan", "2026-03-10T10:00")
    sweep(app, "2026-03-13T08:00")
    cancel(app, apps["A10-not"], "2026-03-13T09:00")

    # A8 现场勘测完成后，因资料填写不全造成流程中止 → 责任方 30: at 方案答复, a stage the old list missed
    apps["A8"] = create(app, at("2026-03-16T09:00"))
    to_plan_reply(app, apps["A8"], "2026-03-16")
    suspend(app, apps["A8"], "2026-03-16T10:00", "incomplete_forms", responsible_user=uid(app, "clerk"))
    cancel(app, apps["A8"], "2026-03-16T11:00")
    apps["A8-not"] = create(app, at("2026-03-16T09:00"))
    review(app, apps["A8-not"], "2026-03-16")
    suspend(app, apps["A8-not"], "2026-03-16T10:00", "incomplete_forms", responsible_user=uid(app, "clerk"))
    cancel(app, apps["A8-not"], "2026-03-16T11:00")

    # A11 供电方案答复后，因业扩受理人员造成客户信息不完善，流程中止 → 业扩员 50: at 中间检查
    apps["A11"] = create(app, at("2026-03-17T09:00"), "non_residential")
    to_inspection(app, apps["A11"], "2026-03-17")
    suspend(app, apps["A11"], "2026-03-17T11:00", "customer_info_incomplete", responsible_user=uid(app, "clerk"))
    cancel(app, apps["A11"], "2026-03-17T12:00")
    apps["A11-not"] = create(app, at("2026-03-17T09:00"))
    review(app, apps["A11-not"], "2026-03-17")
    survey(app, apps["A11-not"], "2026-03-17T09:30")  # at 供电方案制定: not yet replied
    suspend(app, apps["A11-not"], "2026-03-17T10:00", "customer_info_incomplete", responsible_user=uid(app, "clerk"))
    cancel(app, apps["A11-not"], "2026-03-17T11:00")

    # A12 / A13 中间检查环节: 业扩员问题资料不全 → 业扩员 30; 管理单位不服从调度 → 管理单位 100
    apps["A12"] = create(app, at("2026-03-18T09:00"), "non_residential")
    to_inspection(app, apps["A12"], "2026-03-18")
    suspend(app, apps["A12"], "2026-03-18T11:00", "clerk_documents_incomplete", responsible_user=uid(app, "clerk"))
    resume(app, apps["A12"], "2026-03-18T12:00")
    suspend(app, apps["A12"], "2026-03-18T13:00", "unit_ignored_dispatch",
            responsible_unit=unit_id(app, "supply_station"))
    cancel(app, apps["A12"], "2026-03-18T14:00")
    apps["A12-not"] = create(app, at("2026-03-18T09:00"), "non_residential")
    to_acceptance(app, apps["A12-not"], "2026-03-18")  # past the inspection
    suspend(app, apps["A12-not"], "2026-03-18T12:00", "clerk_documents_incomplete", responsible_user=uid(app, "clerk"))
    resume(app, apps["A12-not"], "2026-03-18T12:10")
    suspend(app, apps["A12-not"], "2026-03-18T12:20", "unit_ignored_dispatch",
            responsible_unit=unit_id(app, "supply_station"))
    cancel(app, apps["A12-not"], "2026-03-18T13:00")

    # A14 竣工验收环节: 因任何人造成客户验收资料不全，流程中止 → 责任人 50
    apps["A14"] = create(app, at("2026-03-19T09:00"), "non_residential")
    to_acceptance(app, apps["A14"], "2026-03-19")
    suspend(app, apps["A14"], "2026-03-19T11:30", "acceptance_documents_incomplete",
            responsible_user=uid(app, "metering"))
    cancel(app, apps["A14"], "2026-03-19T12:00")
    apps["A14-not"] = create(app, at("2026-03-19T09:00"), "non_residential")
    to_inspection(app, apps["A14-not"], "2026-03-19")  # still at 中间检查
    suspend(app, apps["A14-not"], "2026-03-19T11:30", "acceptance_documents_incomplete",
            responsible_user=uid(app, "metering"))
    cancel(app, apps["A14-not"], "2026-03-19T12:00")

    # A1–A4 受理环节: incidents an auditor records against the clerk
    apps["A1-A4"] = create(app, at("2026-03-20T09:00"))
    cancel(app, apps["A1-A4"], "2026-03-20T09:30")
    with app.app_context():
        core = app.extensions["yekuotong"]
        auditor = app.appbuilder.sm.find_user(username="auditor")
        number = core.db.session.get(core.engine.cls, apps["A1-A4"]).number
        for category in ("attitude_no_complaint", "complaint_county", "complaint_provincial"):
            core.ledger.record_incident(core.db.session, auditor, category, uid(app, "clerk"), "客户反映态度差", number)
        # the regulation names no amount for A4: the auditor sets it, above the old invented cap too
        core.ledger.record_incident(core.db.session, auditor, "severe_impact", uid(app, "clerk"), "造成恶劣影响",
                                    number, amount="2500")
    apps["seen"] = seen
    return apps


# case: every fine it must carry, as (rule, "user"/"unit", username/unit code, amount)
EXPECTED = {
    "A1-A4": [("A1", "user", "clerk", "20"), ("A2", "user", "clerk", "50"), ("A3", "user", "clerk", "200"),
              ("A4", "user", "clerk", "2500")],
    "A5": [("A5", "user", "clerk", "20")], "A5-accepted": [("A5", "user", "clerk_two", "20")], "A5-not": [],
    "A6": [("A6", "user", "manager", "50")], "A6-not": [],
    "A7": [("A7", "user", "manager", "50")], "A7-not": [("A6", "user", "manager", "50")], "A7-cancelled": [],
    "A8": [("A8", "user", "clerk", "30")], "A8-not": [],
    "A9": [("A9", "user", "manager", "50")], "A9-not": [("A6", "user", "manager", "50")],
    "A10": [("A10", "unit", "service_center", "100")], "A10-station": [("A10", "unit", "supply_station", "100")],
    "A10-unsigned": [("A10", "unit", "supply_station", "100")],
    "A10-unsigned-both": [("A10", "unit", "service_center", "100"), ("A10", "unit", "supply_station", "100")],
    "A10-not": [],
    "A11": [("A11", "user", "clerk", "50")], "A11-not": [],
    "A12": [("A12", "user", "clerk", "30"), ("A13", "unit", "supply_station", "100")], "A12-not": [],
    "A14": [("A14", "user", "metering", "50")], "A14-not": [],
}


def fines_on(app, pk: int) -> list[FineEntry]:
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        rows = list(session.scalars(select(FineEntry).where(FineEntry.application_id == pk,
                                                            FineEntry.reverses_id.is_(None))))
        session.expunge_all()
        return rows


def fine_of(app, month, case: str, rule: str) -> FineEntry:
    [fine] = [f for f in fines_on(app, month[case]) if f.rule_id == rule]
    return fine


def described(app, fine: FineEntry) -> tuple:
    if fine.target_user_id is not None:
        with app.app_context():
            name = app.appbuilder.sm.get_user_by_id(fine.target_user_id).username
        return fine.rule_id, "user", name, fine.amount
    codes = {unit_id(app, code): code for code in ("service_center", "supply_station", "marketing")}
    return fine.rule_id, "unit", codes.get(fine.target_unit_id, fine.target_unit_id), fine.amount


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_rule_fires_where_its_sentence_applies_and_nowhere_else(app, month, case):
    fines = fines_on(app, month[case])
    expected = sorted((rule, kind, name, Decimal(amount)) for rule, kind, name, amount in EXPECTED[case])
    assert sorted(described(app, f) for f in fines) == expected, [f.evidence for f in fines]
    for fine in fines:
        assert fine.status == "proposed" and fine.model_version
        assert fine.month == MONTH or fine.rule_id in ("A1", "A2", "A3", "A4")  # incidents: when recorded


def test_every_rule_of_the_regulation_is_exercised(month):
    fired = {rule for fines in EXPECTED.values() for rule, *_ in fines}
    assert fired == {f"A{i}" for i in range(1, 15)}


def test_a_late_survey_is_judged_when_the_reply_is_made(app, month):
    """A7: at the late survey nobody knows yet whether the reply will be late; nothing is proposed then."""
    assert month["seen"]["A7 before the reply"] == []
    fine = fine_of(app, month, "A7", "A7")
    assert '"judged_at"' in fine.evidence and '"timer": "survey"' in fine.evidence


def test_a3_and_a4_carry_their_sanctions(app, month):
    assert fine_of(app, month, "A1-A4", "A3").sanction == "suspend_until_exam"
    a4 = fine_of(app, month, "A1-A4", "A4")
    assert a4.sanction == "remove_from_post" and a4.amount_max is None


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
        a7 = session.get(core.engine.cls, month["A7"])
        core.ledger._judge(session, a7, core.ledger._judged, at("2026-03-09T10:00"))  # a retried judgement
        session.commit()
        core.sla.sweep(session, at("2026-12-31T12:00"))
    for case, expected in EXPECTED.items():
        assert sorted(f.rule_id for f in fines_on(app, month[case])) == sorted(r for r, *_ in expected), case


def test_incidents_fine_only_holders_of_the_rules_role(app, month):
    """A1–A4 name the 业扩员: a complaint cannot be charged to the metering team or a manager."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        auditor = app.appbuilder.sm.find_user(username="auditor")
        before = session.execute(select(func.count()).select_from(FineEntry)).scalar_one()
        for category, person in (("attitude_no_complaint", "manager"), ("complaint_county", "metering"),
                                 ("complaint_provincial", "metering"), ("severe_impact", "head")):
            with pytest.raises(FineError, match="业扩员") as info:
                core.ledger.record_incident(session, auditor, category, uid(app, person), "态度差", amount="100")
            assert "没有" in str(info.value)
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

    fines = {rule: fine_of(app, month, rule, rule) for rule in ("A14", "A12", "A6")}
    with app.app_context():
        core = app.extensions["yekuotong"]
        auditor = app.appbuilder.sm.find_user(username="auditor")
        if core.db.session.get(FineEntry, fines["A14"].id).status == "proposed":
            core.ledger.decide(core.db.session, [fines["A14"].id], auditor, "confirm")
        if core.db.session.get(FineEntry, fines["A12"].id).status == "proposed":
            core.ledger.decide(core.db.session, [fines["A12"].id], auditor, "confirm")
    # the fined person prints their own notice; metering may not print a clerk's notice
    own = login("metering").post(f"/fines/notice/{fines['A14'].id}")
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(own.data)).pages)
    assert "考核通知单" in text and "A14" in text and "¥50.00" in text
    assert login("metering").post(f"/fines/notice/{fines['A12'].id}").status_code == 403
    assert login("auditor").post(f"/fines/notice/{fines['A12'].id}").status_code == 200
    refused = login("auditor").post(f"/fines/notice/{fines['A6'].id}")  # still proposed
    assert refused.status_code == 302
    summary = login("auditor").post(f"/fines/summary.pdf?month={MONTH}")
    assert summary.status_code == 200
    summary_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(summary.data)).pages)
    assert "月度考核汇总表" in summary_text and "客户服务中心" in summary_text
    assert f"考核月份：{MONTH}" in summary_text and "申请编号" not in summary_text  # a month, not a case
    assert "申请编号：" in text  # the notice of a case's fine names its application
    assert login("clerk").post(f"/fines/summary.pdf?month={MONTH}").status_code == 403
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
        # A decided fine cannot change any more (a database trigger refuses it); what the notice
        # shows can: the person it names.
        entry = core.db.session.get(FineEntry, fines["A14"].id)
        target = app.appbuilder.sm.get_user_by_id(entry.target_user_id)
        target_id = target.id
        target.last_name = target.last_name + "（更名）"
        core.db.session.commit()
    assert "verify-changed" in anonymous.get(f"/verify/{code}").get_data(as_text=True)
    with app.app_context():
        target = app.appbuilder.sm.get_user_by_id(target_id)
        target.last_name = target.last_name.removesuffix("（更名）")
        app.extensions["yekuotong"].db.session.commit()


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
