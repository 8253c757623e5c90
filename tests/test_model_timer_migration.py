"""Timers and actors when a model version moves cases (app/versions/timer_migration.py, app/versions/apply.py).

A running timer the new model still has keeps its due date (also for a moved case); one the new model no
longer has, or whose stop can no longer happen from the stage the case now stands in, is closed without a
breach, with a history note "模型版本迁移：时限 X 已不再适用"; a breach already recorded and the fines already
proposed keep what they were. The history rows and the action log name who applied: the admin of a browser
apply (with their id), the command-line account of `flask model apply`. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import PASSWORDS, database_url, make_app
from security_support import SECURE_CONFIG, csrf_token, sign_in
from test_migrate import sql

BASE = open("model.yaml", encoding="utf-8").read()
WRITTEN_REPLY = ("  written_reply:\n    label_zh: 书面答复时限\n    label_en: Written reply\n"
                 "    start: {transition: approve_plan}\n    stop: {leave: plan_reply}\n    limit: 2\n")
V380 = "          - {value: v380, label_zh: 380V, label_en: 380 V}\n"


def _without_design_review(text: str) -> str:
    out = []
    for line in text.split("\n"):
        if line.startswith("    design_review:") or "trigger: pass_design_review" in line \
                or "trigger: fail_design_review" in line:
            continue
        out.append(line.replace("dest: design_review", "dest: construction") if "trigger: complete_design," in line
                   else line)
    return "\n".join(out)


#: 设计审查 removed (its cases mapped to 工程施工) and the 书面答复时限 timer removed.
MOVED = _without_design_review(BASE).replace(WRITTEN_REPLY, "", 1) + \
    "migrate:\n  stages: {design_review: construction}\n"
#: Then the 380V choice removed, its records rewritten to 220V.
NO_V380 = MOVED.replace(V380, "", 1).replace(
    "migrate:\n  stages: {design_review: construction}\n",
    'migrate:\n  values: {"application.supply_voltage": {v380: v220}}\n')
NOTE = "模型版本迁移：时限 {} 已不再适用"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fresh(request, tmp_path_factory):
    """The default model as version 1 with the demo applications, an admin who signs in with CSRF on."""
    from werkzeug.security import generate_password_hash

    from app.demo import load_demo
    from app.versions.apply import apply_model

    assert BASE.count(WRITTEN_REPLY) == 1 and BASE.count(V380) == 1
    url = database_url(request.param, tmp_path_factory, name="h8btimer")
    app = make_app(url, **SECURE_CONFIG,
                   AUTH_DB_FAKE_PASSWORD_HASH_CHECK=generate_password_hash("x", "pbkdf2:sha256:1000"))
    with app.app_context():
        apply_model(BASE, source="model.yaml", comment="首次应用", user="admin")
        load_demo()
        sm = app.appbuilder.sm
        if sm.find_user(username="admin") is None:
            sm.add_user("admin", "管理员", "系统", "admin@example.cn", sm.find_role("admin"),
                        password=PASSWORDS["admin"])
    yield url, app
    with app.app_context():
        app.extensions["yekuotong"].db.session.remove()
        app.extensions["yekuotong"].db.engine.dispose()


def _case(url, stage: str, skip: int = 0) -> tuple[int, str]:
    return tuple(sql(url, "SELECT id, number FROM application WHERE stage = :s ORDER BY id", s=stage)[skip])


def _timer(url, app_id: int, key: str, status: str, due: dt.datetime, breached: bool = False) -> int:
    sql(url, "DELETE FROM sla_timer WHERE application_id = :a AND timer = :k", a=app_id, k=key)
    sql(url, "INSERT INTO sla_timer (application_id, timer, status, limit_days, started_at, due_at, provisional, "
             "breach_recorded, breached_at, model_version) VALUES (:a, :k, :s, 2, :st, :d, :f, :b, :ba, '1')",
        a=app_id, k=key, s=status, st=due - dt.timedelta(days=3), d=due, f=False, b=breached,
        ba=due if breached else None)
    return sql(url, "SELECT id FROM sla_timer WHERE application_id = :a AND timer = :k", a=app_id, k=key)[0][0]


def _state(url, timer_id: int):
    return sql(url, "SELECT status, due_at, breach_recorded, breached_at, stopped_at FROM sla_timer "
                    "WHERE id = :i", i=timer_id)[0]


def _notes(url, app_id: int) -> list[tuple]:
    return sql(url, "SELECT comment, user_id, user_name, from_stage, to_stage FROM workflow_history "
                    "WHERE application_id = :a AND kind = 'migration' ORDER BY id", a=app_id)


def _fines(url, app_id: int) -> list[tuple]:
    return [tuple(r) for r in sql(url, "SELECT rule_id, amount, status FROM fine_entry WHERE application_id = :a "
                                       "ORDER BY id", a=app_id)]


def _naive(value):
    """A stored UTC time as a naive datetime (SQLite hands raw SQL its text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=None) if value is not None and value.tzinfo else value


def test_stop_events_the_new_stage_can_still_reach():
    from app.model.loader import load_text
    from app.model.schema import Event
    from app.versions.timer_migration import can_stop

    wf = load_text(MOVED, "moved.yaml").model.workflow
    assert not can_stop(wf, Event(leave="design"), "construction")  # design lies behind 工程施工 now
    assert can_stop(wf, Event(leave="design"), "design")
    assert can_stop(wf, Event(leave="completion_acceptance"), "construction")
    assert can_stop(wf, Event(enter="completion_acceptance"), "construction")
    assert not can_stop(wf, Event(enter="design"), "construction")
    assert can_stop(wf, Event(transition="request_acceptance"), "construction")
    assert not can_stop(wf, Event(transition="authorise"), "construction")
    assert can_stop(wf, Event(transition="cancel"), "construction")  # every open stage can be cancelled


def test_a_browser_apply_moves_cases_keeps_due_dates_closes_timers_and_names_the_admin(fresh):
    from app.security.audit import AuditEntry
    from sqlalchemy import select

    url, app = fresh
    moved_id, moved_number = _case(url, "design_review")
    other_id, _n = _case(url, "plan_approval")
    third_id, _n = _case(url, "plan_approval", 1)
    later = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=5)
    past = later - dt.timedelta(days=10)
    behind = _timer(url, moved_id, "design", "running", later)          # stop: leave 设计 — behind the case now
    ahead = _timer(url, moved_id, "completion", "running", later)       # stop: leave 竣工验收 — still ahead
    breached = _timer(url, other_id, "written_reply", "overdue", past, breached=True)  # removed, fined already
    unswept = _timer(url, third_id, "written_reply", "running", past)   # removed, past due, not swept yet
    sql(url, "INSERT INTO fine_entry (trigger_key, rule_id, rule_label, model_version, application_id, amount, "
             "evidence, status, proposed_at, month) VALUES ('h8b-test', 'A6', '测试', '1', :a, 50, '{}', "
             "'proposed', :t, '2026-11')", a=other_id, t=past)

    fines_before = _fines(url, third_id)
    admin = sign_in(app, "admin")
    page = admin.get("/versions/editor").get_data(as_text=True)
    based_on = re.search(r'name="based_on" value="(\d*)"', page).group(1)
    token = csrf_token(admin, "/versions/editor")
    done = admin.post("/versions/apply", data={"csrf_token": token, "based_on": based_on, "content": MOVED,
                                               "comment": "取消设计审查与书面答复时限"})
    assert done.status_code == 302, done.get_data(as_text=True)[-2000:]
    shown = admin.get("/versions/").get_data(as_text=True)  # the summary, flashed
    assert re.search(r"\d+ 个计时中的时限已不再适用，已关闭（各申请的流转记录中有说明）", shown)
    with app.app_context():
        admin_id = app.appbuilder.sm.find_user(username="admin").id
        session = app.extensions["yekuotong"].db.session
        logged = session.scalars(select(AuditEntry).where(AuditEntry.action == "model.apply")
                                 .order_by(AuditEntry.id.desc())).first()
        assert (logged.user_id, logged.user_name.split("（")[0], logged.source) == (admin_id, "admin", "web")
        session.rollback()

    assert sql(url, "SELECT stage FROM application WHERE id = :i", i=moved_id) == [("construction",)]
    # The moved case: its history names the admin; the timer still ahead keeps its due date.
    notes = _notes(url, moved_id)
    assert ("模型版本迁移", admin_id, "admin", "design_review", "construction") in notes
    assert (NOTE.format("设计及预算时限"), admin_id, "admin", "construction", "construction") in notes
    status, due, *_rest = _state(url, ahead)
    assert (status, _naive(due)) == ("running", _naive(later))
    status, due, recorded, _at, stopped = _state(url, behind)
    assert status == "cancelled" and stopped is not None and not recorded and _naive(due) == _naive(later)
    # A removed timer: closed; the breach already recorded and its fine stay as they were.
    status, _due, recorded, breached_at, _s = _state(url, breached)
    assert status == "cancelled" and recorded and _naive(breached_at) == _naive(past)
    assert NOTE.format("书面答复时限") in [n[0] for n in _notes(url, other_id)]
    assert [tuple(r) for r in sql(url, "SELECT amount, status FROM fine_entry WHERE trigger_key = 'h8b-test'")] \
        == [(50, "proposed")]
    # Past due but not swept yet: closed without a breach (no fine for a limit that no longer applies).
    status, _due, recorded, breached_at, _s = _state(url, unswept)
    assert (status, bool(recorded), breached_at) == ("cancelled", False, None)
    # The sweep leaves closed timers alone.
    with app.app_context():
        core = app.extensions["yekuotong"]
        core.sla.sweep(core.db.session)
    status, _due, recorded, _b, _s = _state(url, unswept)
    assert (status, bool(recorded)) == ("cancelled", False)
    assert _fines(url, third_id) == fines_before  # no fine for it


def test_a_command_line_apply_names_the_command_line_account(fresh, tmp_path):
    url, app = fresh
    record_id, _number = _case(url, "plan_approval")
    sql(url, "UPDATE application SET supply_voltage = 'v380' WHERE id = :i", i=record_id)
    path = tmp_path / "model.yaml"
    path.write_text(NO_V380, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["model", "apply", str(path), "--comment", "取消380V"])
    assert result.exit_code == 0, result.output
    [(comment, user_id, user_name, _f, _t)] = _notes(url, record_id)[-1:]
    assert comment == "模型版本迁移" and user_id is None and user_name.endswith("@cli")
    [(applied_by,)] = sql(url, "SELECT applied_by FROM model_revision ORDER BY number DESC LIMIT 1")
    assert applied_by.endswith("@cli")
    [(name, source)] = sql(url, "SELECT user_name, source FROM audit_log WHERE action = 'model.apply' "
                                "ORDER BY id DESC LIMIT 1")
    assert name.endswith("@cli") and source == "cli"
