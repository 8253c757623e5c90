"""办事公开: the public progress lookup at /progress/ — what a customer sees, what they never see,
one answer for every kind of miss, the rate limits, and the page at phone size in Chromium."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.i18n import SHANGHAI

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
_ips = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_limits():
    """Counters are per process: start each test clean and leave none to the tests after us."""
    from app.security.limits import limiter

    limiter.reset()
    yield
    limiter.reset()


def visitor(app):
    """A test client with an address of its own (the per-IP limit counts by address)."""
    n = next(_ips)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.77.{n // 250}.{n % 250 + 1}"
    return client


def ask(client, number: str, tail: str):
    return client.post("/progress/", data={"number": number, "tail": tail})


def local_date(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(SHANGHAI).date().isoformat()


def demo_case(app, stage: str) -> SimpleNamespace:
    """A demo application at `stage` with everything about it that must never be shown."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        cls, hist = core.orm["application"], core.orm["workflow_history"]
        row = session.scalars(sa.select(cls).where(cls.stage == stage, cls.suspended.is_(False))
                              .order_by(cls.id)).first()
        assert row is not None, f"the demo data has no application at {stage}"
        steps = session.scalars(sa.select(hist).where(hist.application_id == row.id).order_by(hist.id)).all()
        case = SimpleNamespace(
            id=row.id, number=row.number, phone=row.customer.phone, id_card=row.customer.id_card,
            addresses=[row.address, row.customer.address], business_type=row.business_type,
            comments=[s.comment for s in steps if s.comment],
            entered={s.to_stage: local_date(s.at) for s in steps if s.to_stage != s.from_stage})
        session.rollback()
        return case


def stage_words(app, key: str) -> str:
    stage = app.extensions["yekuotong"].model.workflow.stages[key]
    return stage.public_zh or stage.label_zh


def body(response) -> str:
    # The CSRF token is the one per-session value on the page; it does not depend on what was typed.
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", response.get_data(as_text=True))


# ------------------------------------------------------------------ what the customer sees

def test_the_form_is_public_and_in_chinese(app):
    client = visitor(app)
    response = client.get("/progress/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:500]
    assert "办事进度查询" in page and 'name="number"' in page and 'name="tail"' in page
    assert 'name="viewport"' in page and "//cdn" not in page and "http" not in page.split("<body>")[0]
    css = client.get(re.search(r'href="(/progress/static/lookup\.css[^"]*)"', page).group(1))
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_a_customer_sees_the_progress_of_their_application(app):
    case = demo_case(app, "construction")
    response = ask(visitor(app), case.number, case.phone[-4:])
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:800]
    model = app.extensions["yekuotong"].model
    business = next(c for c in model.entities["application"].fields["business_type"].choices
                    if c.value == case.business_type)
    assert case.number in page and "业务类型" in page and business.label_zh in page
    current = re.search(r'id="current-stage">([^<]*)<', page).group(1)
    assert current == stage_words(app, "construction") == "工程施工"
    action = re.search(r'id="next-action">.*?<p>([^<]*)</p>', page, re.S).group(1)
    assert action == model.workflow.stages["construction"].customer_action_zh
    assert "请提交竣工报验申请及竣工报告" in action
    # The stages passed, oldest first, each with its day; plan drafting and approval read as one.
    timeline = re.findall(r'<span class="what">([^<]*)</span>\s*<time datetime="([^"]*)"',
                          re.search(r'id="milestones">(.*?)</ol>', page, re.S).group(1))
    labels = [label for label, _ in timeline]
    assert labels[0] == "已受理" and labels[-1] == "工程施工" and labels.count("供电方案制定中") == 1
    assert labels.index("现场勘查") < labels.index("供电方案制定中") < labels.index("等待您确认授权")
    assert dict(timeline)["工程施工"] == case.entered["construction"]
    assert dict(timeline)["现场勘查"] == case.entered["site_survey"]
    contact = re.sub(r"\s+", " ", re.search(r'id="contact">(.*?)</section>', page, re.S).group(1))
    assert "客户经理" in contact and "0376-3123456" in contact and 'href="tel:03763123456"' in contact
    # Never an ID number, the full phone, an address or a staff comment.
    for secret in [case.id_card, case.phone, *case.addresses, *case.comments]:
        assert secret and secret not in page, secret
    assert response.headers["Cache-Control"] == "no-store"


def test_the_number_may_be_typed_in_lower_case_with_spaces(app):
    case = demo_case(app, "site_survey")
    response = ask(visitor(app), " " + case.number.lower().replace("yk", "yk ") + " ", case.phone[-4:])
    assert response.status_code == 200 and case.number in response.get_data(as_text=True)


def test_the_due_date_is_the_earliest_running_deadline(app):
    case = demo_case(app, "site_survey")
    with app.app_context():
        core = app.extensions["yekuotong"]
        timer = core.orm["sla_timer"]
        due = core.db.session.scalar(sa.select(sa.func.min(timer.due_at)).where(
            timer.application_id == case.id, timer.status.in_(("running", "overdue"))))
        core.db.session.rollback()
    assert due is not None, "a case at the survey has running deadlines"
    page = ask(visitor(app), case.number, case.phone[-4:]).get_data(as_text=True)
    assert re.search(r'id="due">([^<]*)<', page).group(1) == local_date(due)
    assert 'id="next-action"' in page and "配合客户经理到现场勘查" in page


def test_no_fine_is_ever_shown(app):
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        fine = session.execute(sa.text("SELECT application_id, rule_label, amount FROM fine_entry "
                                       "WHERE application_id IS NOT NULL ORDER BY id LIMIT 1")).first()
        assert fine is not None, "the demo data holds fines"
        row = session.get(app.extensions["yekuotong"].orm["application"], fine.application_id)
        number, phone = row.number, row.customer.phone
        session.rollback()
    page = ask(visitor(app), number, phone[-4:]).get_data(as_text=True)
    assert number in page
    assert fine.rule_label not in page and "罚" not in page and "考核" not in page


def test_a_paused_application_says_so_without_the_reason_or_the_note(app):
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        customer = core.orm["customer"](name="查询测试客户", customer_type="residential", phone="13700001234",
                                        address="潢川县查询路9号")
        row = core.orm["application"](customer=customer, business_type="increase", customer_type="residential",
                                      address="潢川县查询路9号", capacity_kw=6)
        session.add(row)
        session.commit()
        pk, number = row.id, row.number
        reason = core.model.workflow.suspension.reasons[0]
        clerk = app.appbuilder.sm.find_user(username="clerk")
        outcome = core.engine.fire(session, pk, "suspend", clerk, {"reason": reason.key, "responsible_user": clerk.id},
                                   "内部备注：请勿外传")
        assert outcome.ok, outcome.message
    page = ask(visitor(app), number, "1234").get_data(as_text=True)
    assert 'id="suspended"' in page and "暂停" in page
    assert reason.label_zh not in page and "内部备注" not in page and 'id="next-action"' not in page
    assert "增容" in page and 'id="due"' not in page  # paused: no deadline runs
    # Nobody assigned yet: the service centre's number from the model (一口对外).
    assert "客户服务中心" in page and "0376-3123456" in page


def test_a_cancelled_application_shows_its_end(app):
    case = demo_case(app, "cancelled")
    page = ask(visitor(app), case.number, case.phone[-4:]).get_data(as_text=True)
    assert re.search(r'id="current-stage">([^<]*)<', page).group(1) == "已撤销"
    assert 'id="due"' not in page and 'id="next-action"' not in page and 'id="no-action"' not in page
    assert all(comment not in page for comment in case.comments)


# ------------------------------------------------------------------ one answer for every miss

def test_a_wrong_number_and_wrong_digits_get_the_identical_answer(app):
    case = demo_case(app, "design")
    wrong = f"{int(case.phone[-4:]) + 1:04d}"[-4:]
    with app.app_context():
        engine = app.extensions["yekuotong"].db.engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    answers, work = [], []
    for number, tail in ((case.number, wrong), ("YK2099120001", case.phone[-4:]), ("YK2099120002", wrong)):
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            response = ask(visitor(app), number, tail)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        answers.append((response.status_code, body(response)))
        work.append(len(statements))
        statements.clear()
    assert answers[0] == answers[1] == answers[2]
    status, page = answers[0]
    assert status == 404 and "未找到" in page and case.number not in page and 'id="progress"' not in page
    assert work[0] == work[1] == work[2] > 0, work  # the same queries whether the number exists or not


def test_badly_typed_input_is_explained_in_chinese(app):
    client = visitor(app)
    response = ask(client, "YK2026110001", "12a4")
    assert response.status_code == 400 and "4位数字" in response.get_data(as_text=True)
    response = ask(client, "", "1234")
    assert response.status_code == 400 and "请输入申请编号" in response.get_data(as_text=True)
    response = ask(client, "YK" + "9" * 60, "1234")
    assert response.status_code == 400 and 'id="progress"' not in response.get_data(as_text=True)


def test_the_form_needs_its_csrf_token(app):
    case = demo_case(app, "design")
    client = visitor(app)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = ask(client, case.number, case.phone[-4:])
        page = client.get("/progress/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        accepted = client.post("/progress/", data={"number": case.number, "tail": case.phone[-4:],
                                                   "csrf_token": token})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400 and case.number not in refused.get_data(as_text=True)
    assert accepted.status_code == 200 and case.number in accepted.get_data(as_text=True)


# ------------------------------------------------------------------ rate limits

def test_too_many_lookups_from_one_address_are_refused_in_chinese(app):
    client = visitor(app)
    per_minute = int(app.config["PUBLIC_LOOKUP_LIMIT_IP"].split()[0])
    for _ in range(per_minute):
        assert ask(client, f"YK{uuid.uuid4().hex[:10]}", "1234").status_code == 404
    refused = ask(client, f"YK{uuid.uuid4().hex[:10]}", "1234")
    assert refused.status_code == 429 and "查询次数过多" in refused.get_data(as_text=True)
    assert client.get("/progress/").status_code == 200  # the form itself stays reachable
    assert ask(visitor(app), f"YK{uuid.uuid4().hex[:10]}", "1234").status_code == 404  # other addresses


def test_guessing_the_digits_of_one_number_is_stopped_whatever_the_address(app):
    case = demo_case(app, "plan_approval")
    per_minute = int(app.config["PUBLIC_LOOKUP_LIMIT_NUMBER"].split()[0])
    right = case.phone[-4:]
    for guess in range(per_minute):
        tail = f"{guess:04d}" if f"{guess:04d}" != right else "9999"
        assert ask(visitor(app), case.number, tail).status_code == 404
    refused = ask(visitor(app), case.number.lower(), right)  # even the right digits, typed differently
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "查询次数过多" in page and 'id="progress"' not in page
    other = demo_case(app, "design")
    assert ask(visitor(app), other.number, other.phone[-4:]).status_code == 200


# ------------------------------------------------------------------ the model's words

def test_a_stage_without_public_words_falls_back_to_its_label():
    from app.model.loader import load_text
    from app.portal.lookup import ProgressLookup

    text = (ROOT / "tests" / "fixtures" / "good" / "minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("      urgent: {type: boolean",
                        "      phone: {type: string, format: mobile, label_zh: 电话, label_en: Phone}\n"
                        "      urgent: {type: boolean")
    text = text.replace("  number_prefix: JOB\n", "  number_prefix: JOB\n  public_lookup: {phone_field: phone}\n")
    text = text.replace("roles: [admin]}", "roles: [admin], public_zh: 审核中, public_en: Being reviewed}", 1)
    lookup = ProgressLookup(SimpleNamespace(model=load_text(text).model))
    assert lookup.stage_words("draft") == "草稿"
    assert lookup.stage_words("review") == "审核中"


def test_the_default_model_tells_the_customer_what_to_do_where_they_must_act():
    from app.model.loader import load_file

    wf = load_file(ROOT / "model.yaml").model.workflow
    waiting_on_customer = [key for key, stage in wf.stages.items() if stage.side == "customer"]
    assert waiting_on_customer
    for key in waiting_on_customer:
        assert wf.stages[key].customer_action_zh and wf.stages[key].customer_action_en, key
    assert "竣工报验申请及竣工报告" in wf.stages["construction"].customer_action_zh
    assert wf.public_lookup.phone_field == "customer.phone"


# ------------------------------------------------------------------ in a phone's browser

@pytest.fixture()
def live(app):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it")
        pytest.skip("chromium not installed")
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_the_lookup_on_a_phone(app, live, tmp_path, backend):
    from playwright.sync_api import sync_playwright

    case = demo_case(app, "construction")
    shots = Path(os.environ.get("LOOKUP_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                          device_scale_factor=2, is_mobile=True, has_touch=True)
            page = context.new_page()
            page.goto(f"{live}/progress/")
            assert page.locator("h1").inner_text() == "办事进度查询"
            page.screenshot(path=str(shots / f"lookup-form-{backend}.png"), full_page=True)
            page.fill("#number", case.number)
            page.fill("#tail", case.phone[-4:])
            page.click("button[type=submit]")
            page.wait_for_selector("#progress")
            assert page.locator("#current-stage").inner_text() == "工程施工"
            assert "竣工报验申请及竣工报告" in page.locator("#next-action").inner_text()
            assert page.locator("#contact .phone").is_visible()
            # Nothing wider than the phone: no sideways scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(shots / f"lookup-result-{backend}.png"), full_page=True)
            page.goto(f"{live}/progress/")
            page.fill("#number", case.number)
            page.fill("#tail", "0000" if case.phone[-4:] != "0000" else "1111")
            page.click("button[type=submit]")
            assert "未找到" in page.locator("#lookup-message").inner_text()
            page.screenshot(path=str(shots / f"lookup-miss-{backend}.png"), full_page=True)
        finally:
            browser.close()
