"""Deadline timers on real workflow steps: start, pause/resume, met late, sweep exactly once."""
from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app import events

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SH)


def create(app, created: dt.datetime, customer_type: str = "residential") -> int:
    from test_workflow_api import documents_for

    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.orm["application"](customer_type=customer_type, business_type="new", address="时限测试",
                                      capacity_kw=4, needs_engineering=False, inspection_passed=False)
        row._created_at = created
        core.db.session.add(row)
        for kind in documents_for(customer_type):
            core.db.session.add(core.orm["document"](application=row, kind=kind, received=True))
        core.db.session.commit()
        return row.id


def fire(app, pk: int, username: str, trigger: str, when: dt.datetime, data=None):
    """Take a step at `when` as `username`, after what it presupposes and these tests are not about:
    the documents its stage requires are handed in and every party of a joint step signs it off
    (each as a demo user of its unit); tests/test_process_regulation.py checks those refusals."""
    from test_workflow_api import SIGNER_OF, USER_OF

    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        row = session.get(core.engine.cls, pk)
        spec = core.engine.spec_for(trigger, row.stage)
        if spec is not None and "documents_complete" in spec.functions:
            for kind in core.engine.wf.required_documents(core.engine.record(row)):
                session.add(core.orm["document"](application_id=pk, kind=kind, received=True))
            session.commit()
        for party in spec.signoffs if spec is not None else ():
            kind, _sep, key = party.partition(":")
            signer = app.appbuilder.sm.find_user(username=SIGNER_OF[key] if kind == "unit" else USER_OF[key])
            done = core.signoffs.sign(session, pk, trigger, signer, None, at=when)
            assert done.ok or done.status == 409, (party, done.message)  # 409: signed already
        user = app.appbuilder.sm.find_user(username=username)
        outcome = core.engine.fire(session, pk, trigger, user, data or {}, None, at=when)
        assert outcome.ok, (trigger, outcome.message, outcome.errors)


def timers(app, pk: int) -> dict:
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm["sla_timer"]
        rows = core.db.session.scalars(select(cls).where(cls.application_id == pk).order_by(cls.id))
        return {t.timer: t for t in rows}


def local(value: dt.datetime | None) -> str | None:
    from app.deadlines.timers import aware

    return aware(value).astimezone(SH).isoformat() if value else None


def test_timers_start_at_creation_with_working_day_deadlines(app):
    pk = create(app, at("2026-09-30T10:00"))  # National Day follows: 10-01..10-07 off
    t = timers(app, pk)
    assert set(t) == {"forward", "initial_review", "plan_reply"}
    assert local(t["forward"].due_at) == "2026-10-09T00:00:00+08:00"  # end of Thu 10-08
    assert local(t["plan_reply"].due_at) == "2026-10-11T00:00:00+08:00"  # 3 WD: 10-08, 10-09, Sat 10-10 make-up
    assert t["plan_reply"].limit_days == 3 and not t["plan_reply"].provisional


def test_plan_reply_limit_depends_on_customer_type(app):
    pk = create(app, at("2026-11-02T09:00"), "non_residential")
    assert timers(app, pk)["plan_reply"].limit_days == 7


def test_suspension_pauses_and_resume_recomputes(app):
    pk = create(app, at("2026-11-02T09:00"))  # Monday
    fire(app, pk, "clerk", "forward", at("2026-11-02T10:00"))
    fire(app, pk, "auditor", "approve_review", at("2026-11-02T11:00"),
         {"owner": app_user(app, "manager")})
    assert local(timers(app, pk)["survey"].due_at) == "2026-11-06T00:00:00+08:00"  # Thu 11-05 24:00
    fire(app, pk, "manager", "suspend", at("2026-11-03T09:00"),
         {"reason": "customer_request", "responsible_user": app_user(app, "manager")})
    survey = timers(app, pk)["survey"]
    assert survey.status == "paused" and survey.remaining_days == 2 and survey.due_at is None
    fire(app, pk, "manager", "resume", at("2026-11-09T09:00"))
    survey = timers(app, pk)["survey"]
    assert survey.status == "running"
    assert local(survey.due_at) == "2026-11-12T00:00:00+08:00"  # 2 WD after Mon 11-09: Wed 11-11 24:00


def app_user(app, username: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


@pytest.fixture()
def breaches(app):
    """Every breach handed to the fines hook during the test, as (application id, timer)."""
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def hook(_core, *, session, timers, apps):
        with lock:
            seen.extend((timer.application_id, timer.timer) for timer in timers)

    core = app.extensions["yekuotong"]
    events.deadlines_breached.connect(hook, sender=core)
    yield seen
    events.deadlines_breached.disconnect(hook, sender=core)


def test_a_late_step_records_its_breach_once(app, breaches):
    pk = create(app, at("2026-11-02T09:00"))
    fire(app, pk, "clerk", "forward", at("2026-11-05T10:00"))  # 1 WD limit: due end of Tue 11-03
    t = timers(app, pk)["forward"]
    assert t.status == "met_late" and t.breach_recorded
    assert breaches.count((pk, "forward")) == 1


def test_sweep_marks_overdue_once_and_stop_does_not_double(app, breaches):
    pk = create(app, at("2026-11-02T09:00"))
    with app.app_context():
        sla = app.extensions["yekuotong"].sla
        session = app.extensions["yekuotong"].db.session
        sla.sweep(session, at("2026-11-04T08:00"))
        assert timers(app, pk)["forward"].status == "overdue"
        sla.sweep(session, at("2026-11-04T09:00"))
    assert breaches.count((pk, "forward")) == 1
    fire(app, pk, "clerk", "forward", at("2026-11-04T10:00"))
    assert timers(app, pk)["forward"].status == "met_late"
    assert breaches.count((pk, "forward")) == 1


def test_three_concurrent_sweepers_record_each_breach_once(app, breaches):
    ids = [create(app, at("2026-10-12T09:00")) for _ in range(12)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def sweeper():
        try:
            with app.app_context():
                core = app.extensions["yekuotong"]
                barrier.wait()
                core.sla.sweep(core.db.session, at("2026-11-20T12:00"), batch=5)
                core.db.session.remove()
        except BaseException as exc:  # reported below: a sweeper must not fail
            errors.append(exc)

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    mine = [b for b in breaches if b[0] in ids]
    assert len(mine) == len(set(mine)) == 3 * len(ids)  # forward, initial_review, plan_reply each once


def test_deadline_in_an_unloaded_year_is_provisional(app):
    pk = create(app, at("2026-12-30T10:00"))
    t = timers(app, pk)["plan_reply"]
    assert t.provisional
    assert local(t.due_at) == "2027-01-06T00:00:00+08:00"  # 12-31, (01-01 off, weekend), 01-04, 01-05


def test_sweep_cli_reports_count(app):
    create(app, at("2026-11-02T09:00"))
    result = app.test_cli_runner().invoke(args=["sla", "sweep", "--now", "2026-11-25T12:00:00"])
    assert result.exit_code == 0 and "breach" in result.output
    bad = app.test_cli_runner().invoke(args=["sla", "sweep", "--now", "yesterday"])
    assert bad.exit_code == 2


def test_application_list_and_page_show_deadlines(app, login):
    pk = create(app, at("2026-11-02T09:00"))
    html = login("clerk").get(f"/application/show/{pk}").get_data(as_text=True)
    assert "报送初审时限" in html
    dashboard = login("auditor").get("/sla/dashboard/")
    assert dashboard.status_code == 200


def test_loading_a_year_recomputes_provisional_deadlines(app):
    """2027 is not in chinesecalendar: its deadlines are provisional until the notice is loaded."""
    pk = create(app, at("2027-01-28T10:00"))  # Thursday; the test notice makes Sun 01-31 a workday
    before = timers(app, pk)["plan_reply"]
    assert before.provisional and local(before.due_at) == "2027-02-03T00:00:00+08:00"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calendar", "import", "tests/fixtures/notices/2027_test.csv"])
    try:
        assert result.exit_code == 0, result.output
        after = timers(app, pk)["plan_reply"]
        assert not after.provisional
        assert local(after.due_at) == "2027-02-02T00:00:00+08:00"  # 01-29, Sun 01-31, 02-01
    finally:
        with app.app_context():
            core = app.extensions["yekuotong"]
            core.calendar_service.unload_year(core.db.session, 2027)
