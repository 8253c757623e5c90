"""Deciding fines: confirm and waive, corrections booked in their own month that end their sanction,
nobody deciding their own fine or charging themselves, a fault suspension fined once per stage visit."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.assessment.entries import FineEntry, FineError, Incident, Sanction
from app.assessment.summary import monthly_summary
from test_fines import cancel, resume, review, suspend, survey, uid, plan
from test_sla import at, create, fire

MONTH, NEXT = "2026-05", "2026-06"  # a month of its own: the scripted month of test_fines is March


def record(app, category: str, person: str, amount: str | None = None, when: str = "2026-05-11T10:00",
           by: str = "auditor") -> FineEntry:
    with app.app_context():
        core = app.extensions["yekuotong"]
        auditor = app.appbuilder.sm.find_user(username=by)
        fine = core.ledger.record_incident(core.db.session, auditor, category, uid(app, person), "客户投诉",
                                           amount=amount, at=at(when))
        core.db.session.expunge(fine)
        return fine


def entry(app, fine_id: int) -> FineEntry:
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        row = session.get(FineEntry, fine_id)
        session.expunge(row)
        return row


def count(app, cls) -> int:
    with app.app_context():
        return app.extensions["yekuotong"].db.session.execute(select(func.count()).select_from(cls)).scalar_one()


@pytest.fixture(scope="module")
def book(app):
    """May 2026: three complaints against the clerk and a forms fault the auditor is responsible for."""
    fines = {rule: record(app, category, "clerk", amount) for rule, category, amount in (
        ("A1", "attitude_no_complaint", None), ("A2", "complaint_county", None),
        ("A3", "complaint_provincial", None), ("A4", "severe_impact", "800"))}
    pk = create(app, at("2026-05-11T09:00"))
    review(app, pk, "2026-05-11")
    survey(app, pk, "2026-05-11T09:30")
    suspend(app, pk, "2026-05-11T10:00", "incomplete_forms", responsible_user=uid(app, "auditor"))
    cancel(app, pk, "2026-05-11T11:00")
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        own = session.scalars(select(FineEntry).where(FineEntry.application_id == pk)).one()
        session.expunge(own)
    fines["own"] = own
    return fines


def decide(app, ids, action: str, reason: str | None = None, by: str = "auditor", when: str = "2026-05-12T10:00"):
    with app.app_context():
        core = app.extensions["yekuotong"]
        user = app.appbuilder.sm.find_user(username=by)
        try:
            return core.ledger.decide(core.db.session, list(ids), user, action, reason, at=at(when))
        finally:
            core.db.session.rollback()


def test_confirm_waive_and_their_refusals(app, book):
    with pytest.raises(FineError, match="原因"):
        decide(app, [book["A1"].id], "waive", "")
    assert entry(app, book["A1"].id).status == "proposed"
    assert decide(app, [book["A1"].id, book["A2"].id], "confirm") == 2
    with pytest.raises(FineError, match=f"#{book['A1'].id}"):
        decide(app, [book["A1"].id, book["A4"].id], "confirm")
    assert entry(app, book["A4"].id).status == "proposed"  # all or nothing
    decide(app, [book["A4"].id], "waive", "经核实影响有限")
    assert (entry(app, book["A4"].id).status, entry(app, book["A4"].id).decision_reason) == ("waived", "经核实影响有限")


def test_nobody_decides_a_fine_on_themselves(app, login, book):
    own = book["own"]
    assert entry(app, own.id).target_user_id == uid(app, "auditor")
    html = login("auditor").get("/fines/pending/").get_data(as_text=True)
    assert f'name="fine_id" value="{own.id}"' not in html and "由其他审核人员" in html
    for action, reason in (("confirm", None), ("waive", "不是我的责任")):
        with pytest.raises(FineError, match="本人") as info:
            decide(app, [own.id, book["A2"].id] if action == "waive" else [own.id], action, reason)
        assert f"#{own.id}" in str(info.value)
        assert entry(app, own.id).status == "proposed"
    # through the screen as well: the page says why, nothing changes
    page = login("auditor").post("/fines/decide/", data={"fine_id": [str(own.id)], "action": "confirm"},
                                 follow_redirects=True).get_data(as_text=True)
    assert "本人" in page and entry(app, own.id).status == "proposed"
    assert decide(app, [own.id], "confirm", by="admin") == 1  # another person decides it
    with pytest.raises(FineError, match="本人"):
        with app.app_context():
            core = app.extensions["yekuotong"]
            core.ledger.reverse(core.db.session, own.id, app.appbuilder.sm.find_user(username="auditor"), "撤销")
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        assert session.scalars(select(FineEntry).where(FineEntry.reverses_id == own.id)).first() is None
        history = core.orm["workflow_history"]
        rows = session.execute(select(history.trigger, history.user_id).where(
            history.application_id == own.application_id, history.kind == "fine")).all()
    assert rows == [("confirm", uid(app, "admin"))]


def test_nobody_records_an_incident_against_themselves(app, login, book):
    with app.app_context():
        sm = app.appbuilder.sm
        if sm.find_user(username="auditor_clerk") is None:  # an auditor who is a clerk as well
            sm.add_user("auditor_clerk", "兼", "审核", "ac@example.cn", [sm.find_role("auditor"), sm.find_role("clerk")],
                        password="ac-2026-pass")
    before = count(app, Incident), count(app, FineEntry)
    with pytest.raises(FineError, match="本人|自己"):
        record(app, "complaint_county", "auditor_clerk", by="auditor_clerk")
    assert (count(app, Incident), count(app, FineEntry)) == before
    # the form offers only people the rules may fine, never oneself
    html = login("auditor").get("/fines/incident/").get_data(as_text=True)
    offered = {name: f'<option value="{uid(app, name)}"' in html for name in ("clerk", "manager", "auditor")}
    assert offered == {"clerk": True, "manager": False, "auditor": False}
    page = login("auditor").post("/fines/incident/", data={
        "category": "complaint_county", "user_id": str(uid(app, "metering")), "description": "投诉"},
        follow_redirects=True).get_data(as_text=True)
    assert "业扩员" in page and (count(app, Incident), count(app, FineEntry)) == before


def test_the_auditor_sets_a4_without_a_cap(app, login, book):
    assert entry(app, book["A4"].id).amount == Decimal("800")
    big = record(app, "severe_impact", "clerk", "5000")
    html = login("auditor").get("/fines/pending/").get_data(as_text=True)
    row = html[html.index(f'value="{big.id}"'):][:1500]
    assert "¥5,000.00" in row and "确认后同时执行：调离岗位" in row and "不低于" in row
    assert (big.amount, big.amount_min, big.amount_max, big.sanction) == (Decimal("5000"), 0, None, "remove_from_post")
    before = count(app, Incident), count(app, FineEntry)
    for bad, message in (("-5", "至少"), ("abc", "金额"), (None, "金额"), ("1e12", "金额")):
        with pytest.raises(FineError, match=message):
            record(app, "severe_impact", "clerk", bad)
    assert (count(app, Incident), count(app, FineEntry)) == before
    decide(app, [big.id], "confirm")
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        sanction = session.scalars(select(Sanction).where(Sanction.fine_id == big.id)).one()
        assert (sanction.kind, sanction.active) == ("remove_from_post", True)  # removal always follows


def test_a_correction_is_booked_in_its_own_month_and_ends_the_sanction(app, login, book):
    from pypdf import PdfReader

    a3 = book["A3"]
    decide(app, [a3.id], "confirm", when="2026-05-20T10:00")
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        sanction = session.scalars(select(Sanction).where(Sanction.fine_id == a3.id)).one()
        assert (sanction.kind, sanction.active, str(sanction.since)) == ("suspend_until_exam", True, "2026-05-20")
        may = monthly_summary(session, MONTH)
    printed = login("auditor").post(f"/fines/summary.pdf?month={MONTH}")
    assert printed.status_code == 200 and "A3" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(printed.data)).pages)
    with app.app_context():
        from app.assessment.printing import AssessmentPrint

        code = app.extensions["yekuotong"].db.session.scalars(select(AssessmentPrint.code).where(
            AssessmentPrint.month == MONTH).order_by(AssessmentPrint.id.desc())).first()
    with app.app_context():
        core = app.extensions["yekuotong"]
        reversal = core.ledger.reverse(core.db.session, a3.id, app.appbuilder.sm.find_user(username="auditor"),
                                       "投诉经核实不成立", at=at("2026-06-03T09:00"))
        reversal_id = reversal.id
    reversal = entry(app, reversal_id)
    assert (reversal.month, reversal.amount, reversal.reverses_id) == (NEXT, Decimal("-200"), a3.id)
    assert json.loads(reversal.evidence)["original_month"] == MONTH
    assert entry(app, a3.id).status == "confirmed" and entry(app, a3.id).month == MONTH  # the original stays
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        sanction = session.scalars(select(Sanction).where(Sanction.fine_id == a3.id)).one()
        assert (sanction.active, str(sanction.ended_on), sanction.ended_by_id) == (False, "2026-06-03", reversal_id)
        assert monthly_summary(session, MONTH) == may  # May, already printed, does not change
        june = [r for r in monthly_summary(session, NEXT)["people"] if r["rule"] == "A3"]
        assert [(r["corrected"], r["confirmed"], r["confirmed_amount"]) for r in june] == [(1, 0, Decimal("-200"))]
    assert "verify-match" in app.test_client().get(f"/verify/{code}").get_data(as_text=True)
    html = login("auditor").get("/fines/sanctions/").get_data(as_text=True)
    assert f"#{reversal_id}" in html and "2026-06-03" in html
    with pytest.raises(FineError):
        with app.app_context():
            core = app.extensions["yekuotong"]
            core.ledger.reverse(core.db.session, a3.id, app.appbuilder.sm.find_user(username="auditor"), "再次更正")


def test_a_fault_suspension_is_fined_once_per_stage_visit(app):
    """Suspending and resuming for the same fault again and again is one fault; coming back to the
    stage later (the plan sent back for redrafting) is a new visit."""
    pk = create(app, at("2026-05-13T09:00"))
    review(app, pk, "2026-05-13")
    survey(app, pk, "2026-05-13T09:30")
    for minute in range(10, 40, 5):  # six times
        suspend(app, pk, f"2026-05-13T10:{minute:02d}", "incomplete_forms", responsible_user=uid(app, "clerk"))
        resume(app, pk, f"2026-05-13T10:{minute + 1:02d}")
    plan(app, pk, "2026-05-13T11:00")
    with app.app_context():  # sent back for redrafting: 供电方案制定 again
        core = app.extensions["yekuotong"]
        outcome = core.engine.fire(core.db.session, pk, "reject_plan", app.appbuilder.sm.find_user(username="auditor"),
                                   {}, "电源点需调整", at=at("2026-05-13T11:10"))
        assert outcome.ok, outcome.message
    suspend(app, pk, "2026-05-13T11:20", "incomplete_forms", responsible_user=uid(app, "clerk"))
    resume(app, pk, "2026-05-13T11:21")
    suspend(app, pk, "2026-05-13T11:22", "incomplete_forms", responsible_user=uid(app, "clerk"))
    cancel(app, pk, "2026-05-13T12:00")
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        suspensions = session.execute(select(func.count()).select_from(app.extensions["yekuotong"].orm["suspension"])
                                      .where(app.extensions["yekuotong"].orm["suspension"].application_id == pk)).scalar_one()
        fines = session.scalars(select(FineEntry.rule_id).where(FineEntry.application_id == pk)).all()
    assert suspensions == 8 and fines == ["A8", "A8"]


def test_model_apply_adds_the_sanction_end_to_an_existing_database(tmp_path):
    """A database made before sanctions could end by a correction gets the two columns, data kept."""
    import sqlite3

    from conftest import make_app
    from app.database.apply import apply_model

    path = tmp_path / "old.db"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        apply_model()
        app.extensions["yekuotong"].db.engine.dispose()
    with sqlite3.connect(path) as old:  # the table as it was
        old.executescript(
            "PRAGMA foreign_keys=OFF; DROP TABLE sanction; CREATE TABLE sanction (id INTEGER NOT NULL, "
            "user_id INTEGER NOT NULL, kind VARCHAR(30) NOT NULL, fine_id INTEGER NOT NULL, since DATE NOT NULL, "
            "exam_passed_on DATE, active BOOLEAN NOT NULL, PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES "
            "ab_user (id), UNIQUE (fine_id), FOREIGN KEY(fine_id) REFERENCES fine_entry (id)); "
            "CREATE INDEX ix_sanction_user_id ON sanction (user_id);")
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        plan = apply_model()
        app.extensions["yekuotong"].db.engine.dispose()
    assert plan.changes == ["add column sanction.ended_on", "add column sanction.ended_by_id"]
    with sqlite3.connect(path) as db:
        assert {"ended_on", "ended_by_id"} <= {row[1] for row in db.execute("PRAGMA table_info(sanction)")}


def test_fine_prints_are_recorded_only_by_a_post_and_offered_by_buttons(app, login):
    """A foreign page's GET cannot add a print record; the lists and the summary offer the prints."""
    from sqlalchemy import func, select

    from app.assessment.printing import AssessmentPrint

    def prints() -> int:
        with app.app_context():
            session = app.extensions["yekuotong"].db.session
            return session.execute(select(func.count()).select_from(AssessmentPrint)).scalar_one()

    before = prints()
    page = login("auditor").get(f"/fines/summary.pdf?month={MONTH}", headers={"Accept-Language": "zh"})
    assert page.status_code == 200 and 'id="print-confirm"' in page.get_data(as_text=True)
    assert prints() == before
    summary = login("auditor").get(f"/fines/summary/?month={MONTH}", headers={"Accept-Language": "zh"})
    assert 'id="print-summary"' in summary.get_data(as_text=True)
