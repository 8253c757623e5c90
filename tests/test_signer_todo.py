"""我的待办 of the co-signing staff (会签人员): a case waits on them while its stage's step needs their
unit's sign-off and their unit has not signed it in this round. The list, the menu badge and the
workbench agree; signing takes the case off; other roles' to-dos stay as they were; one count per
request, bounded statements."""
from __future__ import annotations

import html
import re

from sqlalchemy import event, select

from test_workflow_api import PLAN, TODAY, manager_id, new_application, ok, step

ZH = {"Accept-Language": "zh"}
SIGNERS = ("billing", "station", "production", "safety")
OTHERS = ("clerk", "manager", "metering", "auditor", "head", "admin")


def text(response) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def listed(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/application/show/(\d+)(?:#signoffs)?"', page)]


def expected(app, username: str) -> dict[int, set[str]]:
    """From the database, case by case (the Python path the case page uses): the open, unsuspended
    cases whose stage has a step needing the user's unit's sign-off not yet given -> those steps."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        user = app.appbuilder.sm.find_user(username=username)
        party = f"unit:{user.unit.code}"
        wf, cls = core.engine.wf, core.engine.cls
        out: dict[int, set[str]] = {}
        for row in session.scalars(select(cls).where(cls.suspended.is_(False))):
            if row.stage not in wf.stages or core.engine.definition.stages[row.stage].terminal:
                continue
            for spec in wf.transitions_from(row.stage):
                if party in spec.signoffs and party not in core.signoffs.signatures(session, row, spec.trigger):
                    out.setdefault(row.id, set()).add(spec.trigger)
        session.rollback()
        return out


def test_each_signer_sees_the_cases_waiting_for_their_units_signature(app, login):
    seen_stages = set()
    for username in SIGNERS:
        want = expected(app, username)
        assert want, f"the demo data has cases waiting for {username}'s sign-off"
        response = login(username).get("/todo/", headers=ZH)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert sorted(listed(page)) == sorted(want), username
        assert all(f'href="/application/show/{pk}#signoffs"' in page for pk in want)  # 处理 opens the panel
        words = text(response)
        assert f"我的待办（{len(want)}）" in words and f"我的待办 ({len(want)})" in words  # title and menu badge
        assert "处理" in words and "到期" in words
        with app.app_context():
            engine = app.extensions["yekuotong"].engine
            labels = {engine.label(engine.wf.transition(t, stage_of(app, pk))) for pk, ts in want.items() for t in ts}
        for label in labels:
            assert f"会签：{label}" in words
        seen_stages |= {stage_of(app, pk) for pk in want}
    assert {"plan_approval", "completion_acceptance", "tariff_setting"} <= seen_stages


def stage_of(app, pk: int) -> str:
    with app.app_context():
        core = app.extensions["yekuotong"]
        stage = core.db.session.get(core.engine.cls, pk).stage
        core.db.session.rollback()
        return stage


def test_a_signer_sees_only_those_cases_earliest_due_first(app, login):
    page = login("station").get("/todo/", headers=ZH).get_data(as_text=True)
    dates = re.findall(r"(\d{4}-\d{2}-\d{2}) 到期", page)
    assert dates == sorted(dates)
    with app.app_context():
        core = app.extensions["yekuotong"]
        user = app.appbuilder.sm.find_user(username="station")
        rows = core.todo.rows(user)
        assert rows and all(r["signoff"] for r in rows)
        assert {core.db.session.get(core.engine.cls, r["id"]).stage for r in rows} <= {
            "plan_approval", "completion_acceptance"}  # 供电所 signs the plan and the acceptance, not the tariff
        core.db.session.rollback()


def test_the_workbench_badge_and_figure_equal_the_rows(app, login):
    for username in SIGNERS:
        n = len(expected(app, username))
        words = text(login(username).get("/", headers=ZH))
        assert "我的待办" in words and "待我处理" in words, username
        assert f"我的待办 ({n})" in words
        page = login(username).get("/", headers=ZH).get_data(as_text=True)
        match = re.search(r'<a href="/todo/" class="ykt-figure">\s*<div[^>]*>\s*<div[^>]*>([\d,]+)</div>', page)
        assert match and int(match.group(1)) == n
        assert "会签：" in words


def test_signing_takes_the_case_off_the_signers_to_do_only(app, login):
    """A plan submitted for approval waits on 电费管理中心 and 供电所 (among others); 电费 signs on the
    case page (the sign-off panel's form): it leaves 电费's to-do and badge, stays in 供电所's."""
    pk = new_application(app, "residential", False)
    ok(step(login, "clerk", pk, "forward"), "initial_review")
    ok(step(login, "auditor", pk, "approve_review", {"owner": manager_id(app)}), "site_survey")
    ok(step(login, "customer_manager", pk, "complete_survey",
            {"survey_date": TODAY, "survey_participants": "客服中心、供电所", "survey_findings": "具备条件",
             "plan_tracker": manager_id(app)}), "plan_drafting")
    ok(step(login, "customer_manager", pk, "submit_plan", PLAN), "plan_approval")
    billing, station = expected(app, "billing"), expected(app, "station")
    assert billing[pk] == {"approve_plan"} and station[pk] == {"approve_plan"}
    before = login("billing").get("/todo/", headers=ZH)
    assert pk in listed(before.get_data(as_text=True)) and f"我的待办 ({len(billing)})" in text(before)
    shown = login("billing").get(f"/application/show/{pk}", headers=ZH).get_data(as_text=True)
    assert 'id="signoffs"' in shown and f"/application/signoff/{pk}/approve_plan" in shown  # 处理 opens it
    response = login("billing").post(f"/application/signoff/{pk}/approve_plan", data={"comment": "同意"},
                                     headers=ZH)
    assert response.status_code in (200, 302)
    after = login("billing").get("/todo/", headers=ZH)
    assert pk not in listed(after.get_data(as_text=True))
    assert f"我的待办 ({len(billing) - 1})" in text(after) and f"我的待办（{len(billing) - 1}）" in text(after)
    assert expected(app, "billing") == {k: v for k, v in billing.items() if k != pk}
    assert pk in listed(login("station").get("/todo/", headers=ZH).get_data(as_text=True))
    assert expected(app, "station") == station


def test_other_roles_to_dos_have_no_sign_off_rows(app, login):
    with app.app_context():
        core = app.extensions["yekuotong"]
        for username in OTHERS:
            user = app.appbuilder.sm.find_user(username=username)
            assert core.signoffs.duties(user) == [], username
            assert core.signoffs.waiting_clause(user) is None
    for username in OTHERS:
        words = text(login(username).get("/todo/", headers=ZH))
        assert "会签：" not in words, username


def test_a_signers_pages_count_once_and_read_bounded(app, login):
    login("billing").get("/", headers=ZH)  # warm up
    with app.app_context():
        engine = app.extensions["yekuotong"].db.engine
    seen: list[str] = []

    def grab(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()).lower())

    for path, counts in (("/", 1), ("/todo/", 0)):
        seen.clear()
        event.listen(engine, "before_cursor_execute", grab)
        try:
            assert login("billing").get(path, headers=ZH).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        on_cases = [s for s in seen if re.search(r"\bfrom application\b", s)]
        assert sum("count(" in s for s in on_cases) == counts, (path, on_cases)
        heavy = [s for s in on_cases if "count(" not in s and " limit " not in s and "application.id in (" not in s
                 and "where application.id =" not in s]
        assert not heavy, heavy
        assert len(seen) < 40, (path, len(seen))
