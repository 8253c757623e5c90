"""Bad input and failures (issue 10, rows 12 and 15, and the action log): Chinese answers, never a
traceback, bounded log lines; the public verification page is rate limited and reads every code
the same way; admin actions are written to the action log, which only admins see."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from security_support import fresh_limits, page_token, secure_app, sign_in  # noqa: F401 (fixtures)
from test_workflow_api import new_application

BIG = 21 * 1024 * 1024


# ------------------------------------------------------------------ row 12: sizes, types, methods
def test_a_body_over_the_limit_is_413_in_chinese(secure_app, fresh_limits):
    client = secure_app.test_client()
    api = client.post("/api/v1/security/login", data=b"{" + b" " * BIG + b"}", content_type="application/json")
    assert api.status_code == 413 and "请求过大" in api.get_json()["message"] and "20 MB" in api.get_json()["message"]
    page = client.post("/login/", data=b"x" * BIG, content_type="application/x-www-form-urlencoded")
    assert page.status_code == 413 and "请求过大" in page.get_data(as_text=True)
    assert page.mimetype == "text/html" and "Traceback" not in page.get_data(as_text=True)


def _history(app, pk):
    with app.app_context():
        core = app.extensions["yekuotong"]
        history = core.orm["workflow_history"]
        session = core.db.session
        result = (session.get(core.orm["application"], pk).stage,
                  session.execute(select(func.count()).select_from(history)
                                  .where(history.application_id == pk)).scalar_one())
        session.rollback()
        return result


def test_a_comment_that_is_not_text_is_422_and_changes_nothing(secure_app, fresh_limits):
    pk = new_application(secure_app, "residential", False)
    before = _history(secure_app, pk)
    clerk = sign_in(secure_app, "clerk")
    headers = {"X-CSRFToken": page_token(clerk)}
    for comment in ({"a": 1}, ["x"], 42, True):
        response = clerk.post(f"/api/v1/application/{pk}/workflow/forward", json={"comment": comment},
                              headers=headers)
        body = response.get_json()
        assert response.status_code == 422, (comment, body)
        assert body["errors"]["comment"] == "意见必须是文本。" and body["message"] == "意见必须是文本。"
    assert _history(secure_app, pk) == before


def test_unknown_addresses_and_wrong_methods_answer_json_under_the_api(secure_app, fresh_limits):
    client = secure_app.test_client()
    missing = client.get("/api/v1/no-such-thing/")
    assert missing.status_code == 404 and missing.get_json() == {"message": "未找到：此地址没有内容。"}
    wrong = client.delete("/api/v1/security/login")
    assert wrong.status_code == 405 and "不接受 DELETE 请求方法" in wrong.get_json()["message"]
    assert "POST" in wrong.headers["Allow"]
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and "未找到" in page.get_data(as_text=True)
    # FAB's own fixed English answers are given in Chinese.
    admin = sign_in(secure_app, "admin")
    row = admin.get("/api/v1/customer/999999")
    assert row.status_code == 404 and row.get_json()["message"] == "未找到：此地址没有内容。"


def test_unknown_actions_and_records_are_404_not_500(secure_app, fresh_limits):
    admin = sign_in(secure_app, "admin")
    token = {"csrf_token": page_token(admin)}
    for url, data in (("/users/action/no_such_action/1", token), ("/users/action/unlock/999999", token),
                      ("/users/action/unlock/not-a-number", token), ("/actionlog/action_post", token),
                      ("/roles/action_post", {**token, "action": "no_such_action", "rowid": "1"})):
        response = admin.post(url, data=data)
        assert response.status_code == 404 and "未找到" in response.get_data(as_text=True), url


@pytest.fixture(scope="module")
def failing_app(tmp_path_factory):
    """An app with two routes that fail the way a bug would: a huge message, a deep recursion."""
    from conftest import make_app

    application = make_app("sqlite:///" + str(tmp_path_factory.mktemp("boom") / "t.db"),
                           PROPAGATE_EXCEPTIONS=False, STORAGE_CHECK=False)

    def huge():
        raise RuntimeError("SELECT secret FROM ab_user " + "x" * 200_000)

    def deep(n=0):
        return deep(n + 1)

    application.add_url_rule("/api/v1/boom", "boom", huge)
    application.add_url_rule("/boom", "boom_page", huge)
    application.add_url_rule("/api/v1/deep", "deep", lambda: deep())
    return application


def test_a_failure_is_500_in_chinese_without_traceback_and_its_log_is_bounded(failing_app, caplog):
    from app.security.errors import MAX_LOG_CHARS

    client = failing_app.test_client()
    caplog.set_level(logging.ERROR)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and api.get_json() == {"message": "系统内部错误，已记录并通知管理员。"}
    page = client.get("/boom")
    text = page.get_data(as_text=True)
    assert page.status_code == 500 and "系统内部错误" in text and "secret" not in text and "Traceback" not in text
    deep = client.get("/api/v1/deep")
    assert deep.status_code == 500 and "Traceback" not in deep.get_data(as_text=True)
    records = [r for r in caplog.records if r.exc_info or r.exc_text]
    assert len(records) >= 3
    formatter = logging.Formatter()
    for record in records:
        formatted = formatter.format(record)
        assert len(formatted) <= 2 * MAX_LOG_CHARS + 200, len(formatted)
    assert any("characters omitted" in formatter.format(r) for r in records)
    assert any("RecursionError" in formatter.format(r) for r in records)  # the tail that says what failed


# ------------------------------------------------------------------ row 15: verification
def test_verification_is_rate_limited_per_address(secure_app, fresh_limits):
    client = secure_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.15.0.1"
    for _ in range(5):  # VERIFY_RATE_LIMIT = 5 per minute
        assert client.get("/verify/ZZZZZZZZZZ").status_code == 404
    refused = client.get("/verify/ZZZZZZZZZZ")
    assert refused.status_code == 429 and "请求过于频繁" in refused.get_data(as_text=True)
    typed = client.get("/verify/?code=ZZZZZZZZZZ")
    assert typed.status_code == 429
    other = secure_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.15.0.2"
    assert other.get("/verify/ZZZZZZZZZZ").status_code == 404


def test_fine_notice_codes_are_read_like_form_codes(secure_app, fresh_limits):
    from app.assessment.printing import AssessmentPrint
    from app.database.types import now_utc

    with secure_app.app_context():
        session = secure_app.extensions["yekuotong"].db.session
        admin = secure_app.appbuilder.sm.find_user(username="admin")
        session.add(AssessmentPrint(code="7SBA25W0H1", form="monthly_summary", month="2026-11",
                                    printed_by_id=admin.id, printed_at=now_utc(), fingerprint="0" * 64))
        session.commit()
    client = secure_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.15.1.1"
    exact = client.get("/verify/7SBA25W0H1")
    assert exact.status_code == 200 and "月度考核汇总表" in exact.get_data(as_text=True)
    # Typed from paper: lower case, dashes, O for 0, full-width characters from a Chinese keyboard.
    for typed in ("7sba25-w0h1", "7SBA 25WOH1", "７ＳＢＡ２５Ｗ０Ｈ１"):
        page = client.get(f"/verify/{typed}")
        assert page.status_code == 200 and "月度考核汇总表" in page.get_data(as_text=True), typed
    assert client.get("/verify/" + "A" * 40).status_code == 404


# ------------------------------------------------------------------ the action log
def _log(admin) -> str:
    return admin.get("/actionlog/list/").get_data(as_text=True)


def test_admin_actions_are_logged_and_only_admins_see_the_log(secure_app, fresh_limits):
    admin = sign_in(secure_app, "admin")
    log = _log(admin)
    assert "操作日志" in log and "应用业务模型" in log  # `model apply` of the fixture
    token = page_token(admin)
    # A calendar edit.
    edit = admin.post("/calendar/day", data={"day": "2026-10-12", "action": "holiday", "name": "测试假日",
                                             "csrf_token": token})
    assert edit.status_code == 302
    # A user changed: roles and the state.
    with secure_app.app_context():
        sm = secure_app.appbuilder.sm
        pk = sm.add_user("logged", "日", "志", "logged@example.cn", sm.find_role("clerk"),
                         password="Logged-pass-2026").id
        auditor_role = sm.find_role("auditor").id
    changed = admin.post(f"/users/edit/{pk}", data={
        "first_name": "日", "last_name": "志", "username": "logged", "active": "y", "email": "logged@example.cn",
        "roles": str(auditor_role), "csrf_token": token})
    assert changed.status_code == 302
    log = _log(admin)
    assert "修改工作日历" in log and "2026-10-12" in log
    assert "修改用户" in log and "logged" in log and "营销审核" in log
    assert "admin" in log and "系统管理员" in log  # who
    for role in ("clerk", "auditor"):
        page = sign_in(secure_app, role).get("/actionlog/list/")
        assert page.status_code in (302, 403) and "修改工作日历" not in page.get_data(as_text=True)


def test_fine_decisions_are_logged(secure_app, fresh_limits):
    with secure_app.app_context():
        core = secure_app.extensions["yekuotong"]
        session = core.db.session
        sm = secure_app.appbuilder.sm
        fine = core.ledger.record_incident(session, sm.find_user(username="auditor"), "complaint_county",
                                           sm.find_user(username="clerk").id, "客户投诉服务态度")
        fine_id = fine.id
    auditor = sign_in(secure_app, "auditor")
    decided = auditor.post("/fines/decide/", data={"fine_id": str(fine_id), "action": "confirm",
                                                   "csrf_token": page_token(auditor)})
    assert decided.status_code == 302
    log = _log(sign_in(secure_app, "admin"))
    assert "考核审定" in log and f"#{fine_id}" in log and "处理结果：已确认" in log and "auditor" in log
