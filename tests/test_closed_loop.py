"""全过程闭环: nothing about an application changes without a history row, and the database itself
refuses what the rules forbid. Each test as a user (or an attacker) would notice it, on both backends."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.cases.records import ACTOR
from test_workflow_api import PLAN, TODAY, manager_id, new_application, ok, stage_of, step

ZH = {"Accept-Language": "zh"}


def history(app, pk: int) -> list:
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm["workflow_history"]
        rows = core.db.session.scalars(select(cls).where(cls.application_id == pk).order_by(cls.id)).all()
        return [dict(kind=h.kind, trigger=h.trigger, user=h.user_name, roles=h.roles, unit=h.unit_name,
                     comment=h.comment, changes=json.loads(h.changes) if h.changes else {}) for h in rows]


def application(app, pk: int):
    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.db.session.get(core.orm["application"], pk)
        core.db.session.expunge(row)
        return row


def user_id(app, name: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username=name).id


def customer_id(app) -> int:
    with app.app_context():
        core = app.extensions["yekuotong"]
        return core.db.session.scalars(select(core.orm["customer"].id)).first()


def count(app, entity: str) -> int:
    with app.app_context():
        core = app.extensions["yekuotong"]
        return core.db.session.execute(select(func.count()).select_from(core.orm[entity])).scalar_one()


# ---------------------------------------------------------------- 1. acceptance is a step

def test_creating_on_the_screen_is_the_acceptance_step(app, login):
    before = count(app, "application")
    response = login("clerk").post("/application/add", data={
        "customer": str(customer_id(app)), "business_type": "new", "customer_type": "residential",
        "address": "潢川县受理路1号", "capacity_kw": "6", "needs_engineering": "n"}, headers=ZH)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    assert count(app, "application") == before + 1
    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.db.session.scalars(select(core.orm["application"]).order_by(core.orm["application"].id.desc())).first()
        pk, accepted_by = row.id, row.accepted_by_id
    assert accepted_by == user_id(app, "clerk")
    first = history(app, pk)[0]
    assert (first["kind"], first["trigger"], first["roles"]) == ("create", "accept", "clerk")
    assert first["user"] and first["unit"]
    assert first["changes"]["address"] == [None, "潢川县受理路1号"]
    page = login("clerk").get(f"/application/show/{pk}", headers=ZH).get_data(as_text=True)
    assert "受理" in page and 'id="accepted-by"' in page


def test_creating_by_api_is_the_acceptance_step(app, login):
    response = login("clerk").post("/api/v1/application/", json={
        "customer": customer_id(app), "business_type": "new", "customer_type": "residential",
        "address": "潢川县接口路2号", "capacity_kw": 5})
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    assert application(app, pk).accepted_by_id == user_id(app, "clerk")
    assert [h["trigger"] for h in history(app, pk)] == ["accept"]


# ---------------------------------------------------------------- 2. stage-aware editing

def test_api_edit_refuses_fields_the_stage_does_not_allow_naming_them(app, login):
    pk = new_application(app, "residential", engineering=False)
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    before = history(app, pk)
    response = login("clerk").put(f"/api/v1/application/{pk}", json={"customer_type": "non_residential",
                                                                       "description": "改一下"})
    assert response.status_code == 422
    body = response.get_json()["message"]
    assert set(body) == {"customer_type", "description"}
    assert "更正" in body["customer_type"] and "当前环节" in body["description"]
    assert application(app, pk).customer_type == "residential"
    assert history(app, pk) == before


def test_an_editable_field_changes_with_a_history_row(app, login):
    pk = new_application(app, "residential", engineering=False)
    response = login("clerk").put(f"/api/v1/application/{pk}", json={"description": "客户补充：需两路电源"})
    assert response.status_code == 200, response.get_json()
    last = history(app, pk)[-1]
    assert (last["kind"], last["trigger"], last["roles"]) == ("edit", "edit", "clerk")
    assert last["changes"] == {"description": [None, "客户补充：需两路电源"]}


def test_edit_screen_shows_locked_fields_read_only_and_keeps_them(app, login):
    pk = new_application(app, "residential", engineering=False)
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    client = login("clerk")
    page = client.get(f"/application/edit/{pk}", headers=ZH).get_data(as_text=True)
    assert 'name="customer_type"' in page and "disabled" in page
    client.post(f"/application/edit/{pk}", data={"customer_type": "non_residential", "capacity_kw": "99"},
                headers=ZH, follow_redirects=True)
    row = application(app, pk)
    assert (row.customer_type, float(row.capacity_kw)) == ("residential", 8.0)


def test_closed_cases_and_their_records_are_read_only(app, login):
    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.db.session.scalars(select(core.orm["application"]).where(
            core.orm["application"].stage.in_(("archive", "cancelled")))).first()
        pk = row.id
    response = login("admin").put(f"/api/v1/application/{pk}", json={"description": "归档后修改"})
    assert response.status_code == 422
    assert "不能再修改" in json.dumps(response.get_json(), ensure_ascii=False)
    before = count(app, "document")
    doc = login("admin").post("/api/v1/document/", json={"application": pk, "kind": "id_card_copy", "received": True})
    assert doc.status_code == 422 and "不能再修改" in json.dumps(doc.get_json(), ensure_ascii=False)
    assert count(app, "document") == before
    screen = login("admin").get(f"/application/edit/{pk}", headers=ZH, follow_redirects=True)
    assert "不能再修改" in screen.get_data(as_text=True)


# ---------------------------------------------------------------- 3. corrections are recorded steps

def test_a_correction_is_recorded_and_recomputes_the_plan_reply_deadline(app, login):
    pk = new_application(app, "residential", engineering=False)
    with app.app_context():
        core = app.extensions["yekuotong"]
        timer = core.db.session.scalars(select(core.orm["sla_timer"]).where(
            core.orm["sla_timer"].application_id == pk, core.orm["sla_timer"].timer == "plan_reply")).one()
        assert timer.limit_days == 3
    refused = step(login, "clerk", pk, "correct_application", {"customer_type": "non_residential"}, "客户实为商户")
    assert refused.status_code == 403
    no_reason = step(login, "auditor", pk, "correct_application", {"customer_type": "non_residential"})
    assert no_reason.status_code == 422 and "comment" in no_reason.get_json()["errors"]
    done = step(login, "auditor", pk, "correct_application", {"customer_type": "non_residential"}, "客户实为商户")
    assert done.status_code == 200, done.get_json()
    rows = history(app, pk)
    correction = next(h for h in rows if h["kind"] == "correction")
    assert correction["changes"] == {"customer_type": ["residential", "non_residential"]}
    assert correction["comment"] == "客户实为商户"
    recompute = next(h for h in rows if h["kind"] == "deadline")
    assert "3 → 7" in recompute["comment"]
    with app.app_context():
        core = app.extensions["yekuotong"]
        timer = core.db.session.scalars(select(core.orm["sla_timer"]).where(
            core.orm["sla_timer"].application_id == pk, core.orm["sla_timer"].timer == "plan_reply")).one()
        assert timer.limit_days == 7
    same = step(login, "auditor", pk, "correct_application", {"customer_type": "non_residential"}, "再次")
    assert same.status_code == 422
    page = login("auditor").get(f"/application/show/{pk}", headers=ZH).get_data(as_text=True)
    assert "居民 → 低压非居民" in page


# ---------------------------------------------------------------- 4. sub-records belong to the case

def test_documents_are_added_and_removed_on_the_case_page_with_history(app, login):
    pk = new_application(app, "residential", engineering=False)
    client = login("clerk")
    page = client.get(f"/application/show/{pk}", headers=ZH).get_data(as_text=True)
    assert 'id="records"' in page and "record-form" in page
    response = client.post(f"/application/record/{pk}/document/add",
                           data={"kind": "special_certificate", "received": "y", "pages": "2"}, headers=ZH)
    assert response.status_code == 302
    added = history(app, pk)[-1]
    assert (added["kind"], added["trigger"]) == ("record", "add_document")
    assert added["changes"]["kind"] == [None, "special_certificate"]
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm["document"]
        rid = core.db.session.scalars(select(cls.id).where(cls.application_id == pk,
                                                           cls.kind == "special_certificate")).one()
    client.post(f"/application/record/{pk}/document/delete", data={"rid": str(rid)}, headers=ZH)
    assert history(app, pk)[-1]["trigger"] == "delete_document"
    page = client.get(f"/application/show/{pk}", headers=ZH).get_data(as_text=True)
    assert "删除" in page or "移除" in page


def test_defects_only_in_the_inspection_stages(app, login):
    pk = new_application(app, "residential", engineering=False)
    before = count(app, "inspection_defect")
    response = login("auditor").post("/api/v1/inspection_defect/", json={
        "application": pk, "inspection": "intermediate", "description": "接地不良", "rectify_by": TODAY})
    assert response.status_code == 422
    assert "中间检查" in json.dumps(response.get_json(), ensure_ascii=False)
    assert count(app, "inspection_defect") == before


# ---------------------------------------------------------------- 5. the database enforces it

def test_the_database_refuses_to_rewrite_history(app):
    with app.app_context():
        core = app.extensions["yekuotong"]
        with pytest.raises(sa.exc.DBAPIError) as update:
            with core.db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE workflow_history SET comment = 'rewritten'"))
        assert "ykt-integrity" in str(update.value)
        with pytest.raises(sa.exc.DBAPIError):
            with core.db.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM workflow_history"))
        assert core.db.session.execute(sa.text(
            "SELECT count(*) FROM workflow_history WHERE comment = 'rewritten'")).scalar() == 0


def test_the_database_refuses_to_change_a_decided_fine(app):
    with app.app_context():
        core = app.extensions["yekuotong"]
        decided = core.db.session.execute(sa.text(
            "SELECT id FROM fine_entry WHERE status <> 'proposed'")).scalar()
        if decided is None:  # decide one through the ledger
            fine = core.db.session.execute(sa.text("SELECT id FROM fine_entry WHERE status = 'proposed'")).scalar()
            auditor = app.appbuilder.sm.find_user(username="auditor")
            core.ledger.decide(core.db.session, [fine], auditor, "waive", "测试")
            decided = fine
        with pytest.raises(sa.exc.DBAPIError):
            with core.db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE fine_entry SET amount = 1 WHERE id = :i"), {"i": decided})
        with pytest.raises(sa.exc.DBAPIError):
            with core.db.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM fine_entry WHERE id = :i"), {"i": decided})


def test_sqlite_enforces_foreign_keys(app, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL always enforces foreign keys")
    with app.app_context():
        core = app.extensions["yekuotong"]
        assert core.db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_deleting_an_application_with_history_is_refused_in_chinese(app, login):
    pk = new_application(app, "residential", engineering=False)
    response = login("admin").delete(f"/api/v1/application/{pk}")
    assert response.status_code == 422
    body = json.dumps(response.get_json(), ensure_ascii=False)
    assert "流转记录" in body and "SQL" not in body and "FOREIGN" not in body.upper()
    screen = login("admin").post(f"/application/delete/{pk}", headers=ZH, follow_redirects=True)
    assert "流转记录" in screen.get_data(as_text=True)
    assert application(app, pk) is not None


# ---------------------------------------------------------------- 7/8. limits and storage errors

def test_step_comment_and_values_have_limits(app, login):
    pk = new_application(app, "residential", engineering=False)
    long = step(login, "clerk", pk, "forward", comment="长" * 5001)
    assert long.status_code == 422 and "comment" in long.get_json()["errors"]
    not_text = login("clerk").post(f"/api/v1/application/{pk}/workflow/forward", json={"data": {}, "comment": 5})
    assert not_text.status_code == 422
    assert stage_of(login, pk) == "acceptance"
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    ok(step(login, "auditor", pk, "approve_review", {"owner": manager_id(app)}), "site_survey")
    ok(step(login, "customer_manager", pk, "complete_survey",
            {"survey_date": TODAY, "survey_participants": "客服中心", "survey_findings": "可以"}), "plan_drafting")
    for bad in ("Infinity", "NaN", "1e400", "-5"):
        response = step(login, "customer_manager", pk, "submit_plan", {**PLAN, "approved_capacity_kw": bad})
        assert response.status_code == 422, bad
        assert "approved_capacity_kw" in response.get_json()["errors"], bad
    assert stage_of(login, pk) == "plan_drafting"


def test_a_storage_error_is_503_not_a_conflict(app, monkeypatch):
    pk = new_application(app, "residential", engineering=False)
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        clerk = app.appbuilder.sm.find_user(username="clerk")

        def full_disk(*_a, **_k):
            raise sa.exc.OperationalError("COMMIT", {}, Exception("database or disk is full"))

        monkeypatch.setattr(session, "commit", full_disk)
        outcome = core.engine.fire(session, pk, "forward", clerk, {}, None)
        monkeypatch.undo()
        assert outcome.status == 503
        assert "服务器暂时无法保存" in outcome.message or "cannot save" in outcome.message
    assert application(app, pk).stage == "acceptance"


def test_the_app_refuses_to_start_without_a_writable_upload_folder(tmp_path, capsys):
    from conftest import make_app

    with pytest.raises(SystemExit):
        make_app("sqlite:///" + str(tmp_path / "x.db"), UPLOAD_FOLDER="/proc/ykt-uploads/")
    assert "/proc/ykt-uploads" in capsys.readouterr().err


def test_the_app_refuses_to_start_on_a_read_only_sqlite_database(tmp_path, capsys):
    from conftest import make_app

    path = tmp_path / "ro.db"
    sa.create_engine(f"sqlite:///{path}").connect().close()
    with pytest.raises(SystemExit):
        make_app(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert "read-only" in capsys.readouterr().err


# ---------------------------------------------------------------- the scripted case

def test_scripted_case_accept_correct_document_sweep_a5_on_the_clerk(app, login):
    """A non-residential application accepted by `clerk` (entered as residential), corrected by the
    auditor with a reason, timers recomputed, a document added on the case page, swept past the
    forward deadline: one A5 fine, on `clerk`."""
    pk = new_application(app, "residential", engineering=False)
    ok(step(login, "auditor", pk, "correct_application", {"customer_type": "non_residential",
                                                          "needs_engineering": "true"}, "营业执照为商户"),
       "acceptance")
    client = login("clerk")
    client.post(f"/application/record/{pk}/document/add",
                data={"kind": "business_licence", "received": "y", "pages": "1"}, headers=ZH)
    assert history(app, pk)[-1]["trigger"] == "add_document"
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        timer = session.scalars(select(core.orm["sla_timer"]).where(
            core.orm["sla_timer"].application_id == pk, core.orm["sla_timer"].timer == "forward")).one()
        core.sla.sweep(session, timer.due_at + dt.timedelta(hours=1))
        from app.assessment.ledger import FineEntry

        fines = session.scalars(select(FineEntry).where(FineEntry.application_id == pk,
                                                        FineEntry.rule_id == "A5")).all()
        assert len(fines) == 1
        assert fines[0].target_user_id == app.appbuilder.sm.find_user(username="clerk").id
        assert application(app, pk).accepted_by_id == fines[0].target_user_id


def read_only_app(app, backend):
    """A second app on the same database that may only read (as a full disk or a read-only mount)."""
    from conftest import make_app

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if backend == "sqlite":
        return make_app("sqlite:///file:" + url.removeprefix("sqlite:///") + "?mode=ro&uri=true", STORAGE_CHECK=False)
    return make_app(url, STORAGE_CHECK=False,
                    SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": "-c default_transaction_read_only=on"}})


def test_a_step_on_a_read_only_database_is_503(app, backend):
    pk = new_application(app, "residential", engineering=False)
    other = read_only_app(app, backend)
    with other.app_context():
        core = other.extensions["yekuotong"]
        clerk = other.appbuilder.sm.find_user(username="clerk")
        outcome = core.engine.fire(core.db.session, pk, "forward", clerk, {}, None)
        assert outcome.status == 503, outcome.message
        assert outcome.message == "服务器暂时无法保存，请稍后重试。" or "cannot save" in outcome.message
        core.db.session.remove()
        core.db.engine.dispose()
    assert application(app, pk).stage == "acceptance"


def test_the_app_refuses_to_start_on_a_read_only_postgresql(app, backend, capsys):
    if backend != "postgresql":
        pytest.skip("the SQLite case has its own test")
    from conftest import make_app

    with pytest.raises(SystemExit):
        make_app(app.config["SQLALCHEMY_DATABASE_URI"],
                 SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": "-c default_transaction_read_only=on"}})
    assert "read-only" in capsys.readouterr().err


def test_cases_without_an_accepting_clerk_are_backfilled_or_listed(app, login):
    from app.cases.records import backfill_accepted_by, data_warnings

    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        row = core.orm["application"](customer_id=customer_id(app), business_type="new",
                                      customer_type="residential", address="无人受理路", capacity_kw=3)
        session.add(row)  # no user: as a script without an actor would
        session.commit()
        orphan = row.id
        forwarded = session.scalars(select(core.orm["application"].id).where(
            core.orm["application"].stage == "initial_review")).first()
        session.execute(sa.text("UPDATE application SET accepted_by_id = NULL WHERE id IN (:a, :b)"),
                        {"a": orphan, "b": forwarded})
        session.commit()
        assert backfill_accepted_by(core, session) >= 1
        assert application(app, forwarded).accepted_by_id is not None  # from its first history row
        numbers = [n for n, _text in data_warnings(core, session)]
        assert application(app, orphan).number in numbers
    page = login("clerk").get(f"/application/show/{orphan}", headers=ZH).get_data(as_text=True)
    assert 'id="accepted-by-missing"' in page and "受理人未记录" in page


def test_fines_and_incidents_must_name_an_existing_application(app):
    with app.app_context():
        core = app.extensions["yekuotong"]
        for table in ("fine_entry", "incident"):
            with pytest.raises(sa.exc.DBAPIError) as refused:
                with core.db.engine.begin() as conn:
                    if table == "fine_entry":
                        conn.execute(sa.text(
                            "INSERT INTO fine_entry (trigger_key, rule_id, rule_label, model_version, application_id,"
                            " evidence, status, proposed_at, month) VALUES ('t:orphan', 'A5', 'x', '1', 999999, '{}',"
                            " 'proposed', CURRENT_TIMESTAMP, '2026-11')"))
                    else:
                        user = app.appbuilder.sm.find_user(username="auditor").id
                        conn.execute(sa.text(
                            "INSERT INTO incident (category, application_id, user_id, description, recorded_by_id,"
                            " recorded_at) VALUES ('complaint_county', 999999, :u, 'x', :u, CURRENT_TIMESTAMP)"),
                            {"u": user})
            assert "ykt-integrity" in str(refused.value)
        fined = core.db.session.execute(sa.text("SELECT application_id FROM fine_entry "
                                                "WHERE application_id IS NOT NULL")).scalar()
        with pytest.raises(sa.exc.DBAPIError):
            with core.db.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM application WHERE id = :i"), {"i": fined})


def test_fine_reasons_and_incident_descriptions_have_the_comment_limit(app):
    from app.assessment.entries import FineEntry, Incident
    from app.assessment.ledger import FineError

    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        auditor = app.appbuilder.sm.find_user(username="auditor")
        clerk = app.appbuilder.sm.find_user(username="clerk")
        incidents = session.execute(select(func.count()).select_from(Incident)).scalar_one()
        with pytest.raises(FineError) as long_text:
            core.ledger.record_incident(session, auditor, "complaint_county", clerk.id, "长" * 5000)
        assert "2000" in str(long_text.value)
        session.rollback()
        assert session.execute(select(func.count()).select_from(Incident)).scalar_one() == incidents
        proposed = session.scalars(select(FineEntry.id).where(FineEntry.status == "proposed")).first()
        with pytest.raises(FineError):
            core.ledger.decide(session, [proposed], auditor, "waive", "长" * 5000)
        session.rollback()
        assert session.get(FineEntry, proposed).status == "proposed"


def test_a_scan_is_uploaded_on_the_case_page_and_downloads_with_its_name(app, login):
    import io

    pk = new_application(app, "residential", engineering=False)
    client = login("clerk")
    response = client.post(f"/application/record/{pk}/document/add", headers=ZH, content_type="multipart/form-data",
                           data={"kind": "special_certificate", "received": "y", "pages": "1",
                                 "attachment": (io.BytesIO(b"%PDF-1.4 scan"), "环保证明.pdf")})
    assert response.status_code == 302
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm["document"]
        stored = core.db.session.scalars(select(cls.attachment).where(
            cls.application_id == pk, cls.kind == "special_certificate")).one()
    assert stored
    page = client.get(f"/application/show/{pk}", headers=ZH).get_data(as_text=True)
    from urllib.parse import quote

    assert f"/document/download/{quote(stored)}" in page
    download = client.get(f"/document/download/{quote(stored)}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 scan"
    assert history(app, pk)[-1]["changes"]["attachment"][1] == stored


def test_a_greyed_step_names_the_missing_documents_in_chinese(app, login):
    pk = new_application(app, "residential", engineering=False)
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm["document"]
        doc = core.db.session.scalars(select(cls).where(cls.application_id == pk, cls.kind == "household_register")).one()
        core.db.session.delete(doc)
        core.db.session.commit()
    page = login("clerk").get(f"/application/show/{pk}", headers=ZH).get_data(as_text=True)
    assert "缺少资料：户口簿复印件" in page
    assert "documents_complete()" not in page
