"""A second regime runs the same app: the national "获得电力" low-voltage process of 2025
(examples/model.national-2025.yaml): two links, 申请受理 and 装表接电; the whole process within 5
working days, or 15 with external line works; no plan reply, design review or intermediate inspection.

The first part reads the file alone (milliseconds); the second builds the app on it with the demo data,
on SQLite and PostgreSQL, and uses it as its staff would.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select

from app.cases.records import ACTOR
from app.model.loader import load_file
from app.workflow.machine import Workflow

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "examples" / "model.national-2025.yaml"
MODEL = load_file(str(NATIONAL)).model
COUNTY = load_file(str(ROOT / "model.yaml")).model
SH = ZoneInfo("Asia/Shanghai")
PASSWORDS = {"clerk": "clerk-2026", "manager": "manager-2026", "metering": "metering-2026",
             "auditor": "auditor-2026", "admin": "admin-2026", "head": "head-2026"}
# What the national process no longer has for low-voltage customers.
COUNTY_ONLY = ("方案答复", "设计审查", "中间检查")


# =========================================================================== the file alone

def test_two_links_and_none_of_the_county_only_stages():
    stages = MODEL.workflow.stages
    labels = [s.label_zh for s in stages.values()]
    assert labels[0] == "申请受理" and "装表接电" in labels and "外线工程" in labels
    for key in ("plan_reply", "design_review", "intermediate_inspection", "site_survey", "plan_approval"):
        assert key not in stages
    for words in COUNTY_ONLY:
        assert not any(words in label for label in labels)
        assert not any(words in t.label_zh for t in MODEL.workflow.transitions)
    wf = Workflow(MODEL)
    # line works only where they are needed: accepting chooses the branch by the field
    assert wf.transition("accept_direct", "acceptance").dest == "meter_installation"
    assert wf.transition("accept_with_works", "acceptance").dest == "line_works"
    assert wf.transition("complete_line_works", "line_works").dest == "meter_installation"


def test_one_timer_for_the_whole_process_with_two_limits_chosen_by_line_works():
    (key, timer), = MODEL.timers.items()
    assert timer.label_zh == "全过程办电时限" and timer.unit == "working_days"
    assert timer.start.enter == "acceptance" and timer.stop.leave == "power_on"
    assert [(case.when, case.days) for case in timer.limit] == [("needs_line_works is true", 15), (None, 5)]
    # every fine rule on the timer names it; no rule reads a county timer
    assert {r.trigger.timer for r in MODEL.fines if r.trigger.timer} == {key}


def _mapping() -> dict:
    """The commented `migrate:` block at the top of the example file, uncommented and read."""
    text = NATIONAL.read_text(encoding="utf-8")
    block = re.search(r"^# migrate:\n((?:#   .*\n)+)", text, re.M)
    assert block, "the example file keeps its county -> national mapping as a comment"
    return yaml.safe_load("migrate:\n" + re.sub(r"^# ", "", block.group(1), flags=re.M))["migrate"]


def test_the_commented_mapping_moves_every_removed_county_stage_to_a_national_one():
    stages = _mapping()["stages"]
    county, national = set(COUNTY.workflow.stages), set(MODEL.workflow.stages)
    assert set(stages) == county - national  # each removed stage, and only those (M504)
    assert set(stages.values()) <= national
    assert stages["plan_reply"] == "acceptance" and stages["design_review"] == "line_works"
    assert stages["intermediate_inspection"] == "line_works" and stages["billing_account"] == "filing"


# =========================================================================== the app on it

@pytest.fixture(scope="module")
def national(backend, tmp_path_factory):
    """The app on the national model, applied to a fresh database, with the demo data loaded."""
    from conftest import database_url, make_app

    from app.database.apply import apply_model
    from app.demo import load_demo

    application = make_app(database_url(backend, tmp_path_factory, "national"), MODEL_PATH=str(NATIONAL))
    with application.app_context():
        apply_model()
        application.config["DEMO_LINES"] = load_demo()
    yield application
    with application.app_context():
        application.extensions["yekuotong"].db.session.remove()
        application.extensions["yekuotong"].db.engine.dispose()


@pytest.fixture(scope="module")
def login(national):
    clients: dict[str, object] = {}

    def _login(username: str):
        if username not in clients:
            client = national.test_client()
            response = client.post("/login/", data={"username": username, "password": PASSWORDS[username]})
            assert response.status_code == 302, f"login as {username} failed"
            clients[username] = client
        return clients[username]
    return _login


def _user_id(app, username: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


def _new_case(app, line_works: bool, created: dt.datetime | None = None, customer_type: str = "non_residential") -> int:
    """An application as the clerk enters it, with the one document the model asks for."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        session.info[ACTOR] = app.appbuilder.sm.find_user(username="clerk")
        customer = core.orm["customer"](name="获得电力测试客户", customer_type=customer_type, phone="13800000002",
                                        address="潢川县测试路2号")
        row = core.orm["application"](customer=customer, business_type="new", customer_type=customer_type,
                                      address="潢川县测试路2号", capacity_kw=16, needs_line_works=line_works)
        if created is not None:
            row._created_at = created
        session.add(row)
        for kind in core.engine.wf.required_documents(core.engine.record(row), core.engine.wf.initial_stage):
            session.add(core.orm["document"](application=row, kind=kind, received=True, pages=1))
        session.commit()
        session.info.pop(ACTOR, None)
        return row.id


def _timer(app, pk: int):
    with app.app_context():
        cls = app.extensions["yekuotong"].orm["sla_timer"]
        return app.extensions["yekuotong"].db.session.scalars(select(cls).where(cls.application_id == pk)).one()


def _stage(app, pk: int) -> str:
    with app.app_context():
        core = app.extensions["yekuotong"]
        return core.db.session.get(core.engine.cls, pk).stage


def _local(value: dt.datetime) -> str:
    from app.deadlines.timers import aware

    return aware(value).astimezone(SH).isoformat()


def test_model_check_passes_and_the_demo_fills_every_stage(national):
    result = national.test_cli_runner().invoke(args=["model", "check", str(NATIONAL)])
    assert result.exit_code == 0, result.output
    assert "OK, version 2025.national-1" in result.output and "error" not in result.output
    assert "Demo applications created: 36, over 7 stages" in national.config["DEMO_LINES"][-1]
    with national.app_context():
        core = national.extensions["yekuotong"]
        cls = core.engine.cls
        counts = dict(core.db.session.execute(select(cls.stage, func.count()).group_by(cls.stage)).all())
        assert set(counts) == set(MODEL.workflow.stages)
        # the branch with line works got cases, and their limit is 15 working days
        timer = core.orm["sla_timer"]
        limits = {(bool(w), d) for w, d in core.db.session.execute(
            select(cls.needs_line_works, timer.limit_days).join(timer, timer.application_id == cls.id))}
        assert limits == {(True, 15), (False, 5)}


def test_the_limit_is_5_working_days_or_15_with_line_works_on_the_prc_calendar(national):
    created = dt.datetime(2026, 9, 30, 10, 0, tzinfo=SH)  # National Day follows: 10-01..10-07 off, Sat 10-10 worked
    without = _timer(national, _new_case(national, False, created))
    assert without.limit_days == 5 and not without.provisional
    assert _local(without.due_at) == "2026-10-14T00:00:00+08:00"  # 10-08, 10-09, 10-10, 10-12, 10-13
    with_works = _timer(national, _new_case(national, True, created))
    assert with_works.limit_days == 15
    assert _local(with_works.due_at) == "2026-10-28T00:00:00+08:00"  # ... 10-23, 10-26, 10-27


def test_a_correction_of_line_works_recomputes_the_limit_from_5_to_15(national, login):
    pk = _new_case(national, False, dt.datetime(2026, 11, 2, 9, 0, tzinfo=SH))  # a Monday
    # the day of acceptance is not counted: 11-03 .. 11-06, 11-09
    assert _local(_timer(national, pk).due_at) == "2026-11-10T00:00:00+08:00"
    response = login("auditor").post(f"/application/step/{pk}/correct_application",
                                     data={"needs_line_works": "y", "comment": "现场需新建低压线路"})
    assert response.status_code == 302
    timer = _timer(national, pk)
    assert timer.limit_days == 15 and _local(timer.due_at) == "2026-11-24T00:00:00+08:00"  # ... 11-20, 11-23
    page = login("auditor").get(f"/application/show/{pk}").get_data(as_text=True)
    assert "全过程办电时限：5 → 15 个工作日" in page


def test_a_case_with_line_works_is_walked_through_both_links_by_the_roles(national, login):
    pk = _new_case(national, True)
    manager = str(_user_id(national, "manager"))
    today = dt.date.today().isoformat()
    # the wrong role is refused and nothing moves
    login("metering").post(f"/application/step/{pk}/accept_with_works", data={"owner": manager, "supply_voltage": "v380"})
    assert _stage(national, pk) == "acceptance"
    # a case with line works cannot take the direct branch
    login("clerk").post(f"/application/step/{pk}/accept_direct", data={"owner": manager, "supply_voltage": "v380"})
    assert _stage(national, pk) == "acceptance"
    steps = [("clerk", "accept_with_works", {"owner": manager, "supply_voltage": "v380"}, "line_works"),
             ("manager", "complete_line_works", {"line_works_done_on": today, "line_works_note": "新建低压线路80米"},
              "meter_installation"),
             ("metering", "install_meter", {"meter_no": "HD0001", "meter_type": "DTZY341", "initial_reading": "0"},
              "power_on"),
             ("manager", "switch_on", {"contract_no": "HT2026-001", "power_on_date": today}, "filing"),
             ("clerk", "archive", {"account_no": "ZH0001", "archive_no": "DA0001", "archived_on": today}, "archive")]
    for username, trigger, data, dest in steps:
        response = login(username).post(f"/application/step/{pk}/{trigger}", data=data)
        assert response.status_code == 302
        assert _stage(national, pk) == dest, trigger
    assert _timer(national, pk).status == "met"
    with national.app_context():
        core = national.extensions["yekuotong"]
        history = core.orm["workflow_history"]
        triggers = core.db.session.scalars(select(history.trigger).where(history.application_id == pk,
                                                                        history.kind == "transition")
                                           .order_by(history.id)).all()
    assert triggers == [s[1] for s in steps]  # the refused attempts left no row
    page = login("clerk").get(f"/application/show/{pk}").get_data(as_text=True)
    assert "外线工程完工" in page and "签订合同并送电" in page and "归档" in page


def test_a_step_missing_its_required_field_is_refused_in_chinese(national, login):
    pk = _new_case(national, False)
    response = login("clerk").post(f"/application/step/{pk}/accept_direct", data={"supply_voltage": "v220"},
                                   follow_redirects=True)
    assert response.status_code == 200 and _stage(national, pk) == "acceptance"
    assert "客户经理" in response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["clerk", "manager", "metering", "auditor", "head", "admin"])
def test_the_pages_answer_with_the_national_texts(national, login, username):
    client = login(username)
    with national.app_context():
        core = national.extensions["yekuotong"]
        pk = core.db.session.scalars(select(core.engine.cls.id).where(core.engine.cls.stage == "acceptance")
                                     .order_by(core.engine.cls.id)).first()
    pages = {"/": None, "/todo/": None, "/application/list/": "申请受理", f"/application/show/{pk}": "申请受理",
             "/sla/dashboard/": "全过程办电时限"}
    for url, text in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (username, url)
        body = response.get_data(as_text=True)
        if text:
            assert text in body, (username, url)
        for words in COUNTY_ONLY:
            assert words not in body, (username, url, words)
    if username == "manager":
        todo = client.get("/todo/").get_data(as_text=True)
        assert "外线工程" in todo  # the manager's cases waiting on line works
    if username == "metering":
        assert "装表接电" in client.get("/todo/").get_data(as_text=True)


def test_the_fines_of_the_whole_process_limit_are_proposed_and_summarised(national, login):
    pending = login("auditor").get("/fines/pending/")
    assert pending.status_code == 200
    assert "超出全过程办电时限" in pending.get_data(as_text=True)
    summary = login("auditor").get("/fines/summary/")
    assert summary.status_code == 200 and "月度考核" in summary.get_data(as_text=True)
    assert login("head").get("/fines/summary/").status_code == 200
    assert login("clerk").get("/fines/summary/").status_code == 403
    assert login("clerk").get("/fines/mine/").status_code == 200
    from app.assessment.entries import FineEntry

    with national.app_context():
        session = national.extensions["yekuotong"].db.session
        proposed = set(session.scalars(select(FineEntry.rule_id)))
    rules = {r.id for r in MODEL.fines}
    assert proposed and proposed <= rules and proposed & {"N1", "N2", "N3"}


def test_a_whole_process_fine_is_confirmed_with_the_auditors_amount_and_printed(national, login):
    from app.assessment.entries import FineEntry

    with national.app_context():
        session = national.extensions["yekuotong"].db.session
        fine = session.scalars(select(FineEntry).where(FineEntry.rule_id == "N1", FineEntry.status == "proposed")
                               .order_by(FineEntry.id)).first()
        assert fine is not None and fine.amount is None  # the national documents name no amount
        fine_id, month = fine.id, fine.proposed_at.astimezone(SH).strftime("%Y-%m")
    auditor = login("auditor")
    # no amount: refused, nothing decided
    auditor.post("/fines/decide/", data={"fine_id": str(fine_id), "action": "confirm"})
    with national.app_context():
        assert national.extensions["yekuotong"].db.session.get(FineEntry, fine_id).status == "proposed"
    auditor.post("/fines/decide/", data={"fine_id": str(fine_id), "action": "confirm", "amount": "30"})
    with national.app_context():
        decided = national.extensions["yekuotong"].db.session.get(FineEntry, fine_id)
        assert decided.status == "confirmed" and decided.amount == 30
    summary = auditor.get(f"/fines/summary/?month={month}").get_data(as_text=True)
    assert "30.00" in summary
    pdf = auditor.post(f"/fines/notice/{fine_id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_public_lookup_speaks_the_national_stages(national):
    pk = _new_case(national, True)
    manager = str(_user_id(national, "manager"))
    client = national.test_client()
    client.post("/login/", data={"username": "clerk", "password": PASSWORDS["clerk"]})
    client.post(f"/application/step/{pk}/accept_with_works", data={"owner": manager, "supply_voltage": "v380"})
    with national.app_context():
        core = national.extensions["yekuotong"]
        number = core.db.session.get(core.engine.cls, pk).number
    body = national.test_client().post("/progress/", data={"number": number, "tail": "0002"}).get_data(as_text=True)
    assert "外线工程施工中" in body and "需外线工程" in body
    for words in COUNTY_ONLY:
        assert words not in body
