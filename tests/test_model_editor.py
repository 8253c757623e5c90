"""模型版本 screens and the browser model editor (app/versions/views.py): only administrators; the checker's
problems at their line and column; the plain-words diff with the cases each change touches; apply with a
required comment and the page's CSRF token, in the action log; refusals in Chinese change nothing."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from conftest import PASSWORDS, database_url, make_app
from security_support import SECURE_CONFIG, USERS, csrf_token, page_token, sign_in
from test_browser import CHROMIUM, browser, server  # noqa: F401 (fixtures)

BASE = open("model.yaml", encoding="utf-8").read()
RESIDENTIAL = '      - {when: "customer_type == residential", days: 3}'
SHORTER = BASE.replace(RESIDENTIAL, RESIDENTIAL.replace("days: 3", "days: 2"), 1)
BROKEN = "version: 1\nroles:\n  admin: [\n"  # the list is never closed: a YAML error on line 4


def _body(response) -> str:
    return response.get_data(as_text=True)


def _running(app, timer: str) -> int:
    """In-flight applications with the timer running (what the diff counts beside a limit change)."""
    from sqlalchemy import text

    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        n = session.execute(text("SELECT count(DISTINCT application_id) FROM sla_timer WHERE timer = :t "
                                 "AND status IN ('running', 'paused', 'overdue')"), {"t": timer}).scalar()
        session.rollback()
        return n


# ------------------------------------------------------------------ who may see the screens

@pytest.mark.parametrize("user", ["clerk", "manager", "auditor", "head", "metering"])
def test_only_administrators_see_the_screens(login, user):
    client = login(user)
    for url in ("/versions/", "/versions/editor", "/versions/1/"):
        response = client.get(url)
        assert response.status_code == 403, (user, url)
        assert "number_prefix" not in _body(response) and "ykt-content" not in _body(response)
    refused = client.post("/versions/apply", data={"content": SHORTER, "comment": "越权", "based_on": ""})
    assert refused.status_code == 403
    checked = client.post("/versions/check", data={"content": SHORTER})
    assert checked.status_code == 403 and "3 → 2" not in _body(checked)


def test_anonymous_visitors_are_sent_to_the_login(app):
    response = app.test_client().get("/versions/editor")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_active_version_page_shows_the_diagram_and_the_editor_holds_the_yaml(login):
    admin = login("admin")
    page = _body(admin.get("/versions/"))
    assert "当前生效的版本" in page and "<svg" in page and "业务受理" in page
    editor = _body(admin.get("/versions/editor"))
    assert 'id="ykt-content"' in editor and "number_prefix: YK" in editor and "检查" in editor
    assert admin.get("/versions/999999/").status_code == 404


# ------------------------------------------------------------------ check

def test_check_shows_the_problems_at_their_line_and_column(login):
    admin = login("admin")
    response = admin.post("/versions/editor", data={"content": BROKEN, "based_on": ""})
    page = _body(response)
    assert response.status_code == 200
    assert "M001" in page and "YAML 语法错误" in page and "第 4 行第 1 列" in page
    assert 'data-line="4"' in page and "admin: [" in page  # the text stays in the editor
    semantic = BASE.replace("    limit: 3\n", "    limit: three\n", 1)
    line = BASE[:BASE.index("    limit: 3\n")].count("\n") + 1
    page = _body(admin.post("/versions/editor", data={"content": semantic, "based_on": ""}))
    assert f"第 {line} 行第 12 列" in page and "该模型不能应用" in page


def test_check_shows_the_plain_words_diff_with_the_cases_touched(app, login):
    admin = login("admin")
    page = _body(admin.post("/versions/editor", data={"content": SHORTER, "based_on": ""}))
    n = _running(app, "plan_reply")
    assert n > 0
    assert f"供电方案答复时限（居民）：3 → 2 个工作日，涉及 {n} 件在途申请" in page
    assert "模型检查通过" in page
    fragment = admin.post("/versions/check", data={"content": SHORTER}).get_json()
    assert fragment["ok"] and "供电方案答复时限（居民）：3 → 2 个工作日" in fragment["html"]
    english = _body(admin.post("/versions/editor?_l_=en", data={"content": SHORTER}, headers={
        "Accept-Language": "en"}))
    assert "3 → 2" in english


def test_an_uploaded_file_is_checked(login):
    admin = login("admin")
    page = _body(admin.post("/versions/editor", data={"content": BASE, "upload": (io.BytesIO(BROKEN.encode()),
                                                                                 "model.yaml")},
                            content_type="multipart/form-data"))
    assert "第 4 行第 1 列" in page
    latin = admin.post("/versions/editor", data={"upload": (io.BytesIO("version: é".encode("latin-1")), "m.yaml")},
                       content_type="multipart/form-data")
    assert latin.status_code == 400 and "不是 UTF-8 文本" in _body(latin)


def test_apply_without_a_comment_is_refused_and_changes_nothing(app, login):
    from app.versions import store

    with app.app_context():
        before = [r.number for r in store.versions(app.extensions["yekuotong"].db.session)]
    response = login("admin").post("/versions/apply", data={"content": SHORTER, "comment": "  ", "based_on": ""})
    assert response.status_code == 422 and "请在说明中写明原因" in _body(response)
    with app.app_context():
        assert [r.number for r in store.versions(app.extensions["yekuotong"].db.session)] == before


# ------------------------------------------------------------------ apply (an app of its own, CSRF on)

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def own_app(request, tmp_path_factory):
    """CSRF on, the default model applied, admin and clerk staff, no demo applications."""
    from werkzeug.security import generate_password_hash

    from app.database.apply import apply_model

    application = make_app(database_url(request.param, tmp_path_factory, name="h8edit"), **SECURE_CONFIG,
                           AUTH_DB_FAKE_PASSWORD_HASH_CHECK=generate_password_hash("x", "pbkdf2:sha256:1000"))
    with application.app_context():
        apply_model()
        sm = application.appbuilder.sm
        for username, role, family, given in USERS:
            sm.add_user(username, given, family, f"{username}@example.cn", sm.find_role(role),
                        password=PASSWORDS[username])
    yield application
    with application.app_context():
        application.extensions["yekuotong"].db.session.remove()
        application.extensions["yekuotong"].db.engine.dispose()


def _form(client) -> dict:
    page = _body(client.get("/versions/editor"))
    based_on = re.search(r'name="based_on" value="(\d*)"', page).group(1)
    return {"csrf_token": csrf_token(client, "/versions/editor"), "based_on": based_on}


def test_apply_needs_the_token_is_logged_and_a_stale_editor_is_told_who_applied(own_app):
    from app.security.audit import AuditEntry
    from app.versions import store

    admin = sign_in(own_app, "admin")
    form = _form(admin)
    no_token = admin.post("/versions/apply", data={"content": SHORTER, "comment": "缩短时限", "based_on": ""})
    assert no_token.status_code == 400
    with own_app.app_context():
        session = own_app.extensions["yekuotong"].db.session
        assert all(r.comment != "缩短时限" for r in store.versions(session))
        session.rollback()
    done = admin.post("/versions/apply", data={**form, "content": SHORTER, "comment": "缩短居民方案答复时限"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/versions/")
    page = _body(admin.get("/versions/"))
    assert "缩短居民方案答复时限" in page and "生效中" in page
    with own_app.app_context():
        session = own_app.extensions["yekuotong"].db.session
        active = store.active(session)
        assert (active.content, active.applied_by, active.comment) == (SHORTER, "admin", "缩短居民方案答复时限")
        logged = session.scalars(select(AuditEntry).where(AuditEntry.action == "model.apply")
                                 .order_by(AuditEntry.id.desc())).first()
        assert logged is not None and "缩短居民方案答复时限" in logged.details
        # The action log's "Done by" names the admin (the apply runs in the new version's app context).
        admin_id = own_app.appbuilder.sm.find_user(username="admin").id
        assert (logged.user_id, logged.user_name.split("（")[0], logged.source) == (admin_id, "admin", "web")
        number = active.number
        session.rollback()
    # A second editor opened before that apply: refused with who and when, nothing applied.
    stale = admin.post("/versions/apply", data={**form, "content": BASE, "comment": "回退"})
    assert stale.status_code == 409
    assert "未应用任何更改" in _body(stale) and f"版本 {number} 已被 admin" in _body(stale)
    broken = admin.post("/versions/apply", data={**_form(admin), "content": BROKEN, "comment": "坏的"})
    assert broken.status_code == 409 and "第 4 行第 1 列" in _body(broken)
    with own_app.app_context():
        assert store.active(own_app.extensions["yekuotong"].db.session).number == number
    # The version's page says what it changed, in plain words.
    shown = _body(admin.get(f"/versions/{number}/"))
    assert "供电方案答复时限（居民）：3 → 2 个工作日" in shown


def test_a_clerk_cannot_apply_even_with_a_token(own_app):
    from app.versions import store

    clerk = sign_in(own_app, "clerk")
    token = page_token(clerk)
    response = clerk.post("/versions/apply", data={"csrf_token": token, "content": BASE, "comment": "越权",
                                                   "based_on": ""})
    assert response.status_code == 403
    with own_app.app_context():
        session = own_app.extensions["yekuotong"].db.session
        assert all(r.comment != "越权" for r in store.versions(session))
        session.rollback()


# ------------------------------------------------------------------ in the browser

def test_browser_editor_shows_a_checker_error_at_its_line(server, browser):  # noqa: F811
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{server}/login/")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORDS["admin"])
    page.click("[type=submit]")
    page.goto(f"{server}/versions/editor")
    assert "number_prefix: YK" in page.input_value("#ykt-content")
    page.fill("#ykt-content", BROKEN)
    page.click("#ykt-check")
    page.wait_for_load_state()
    problems = page.locator("#ykt-problems").inner_text()
    assert "第 4 行第 1 列" in problems and "M001" in problems
    # The editor jumped to the line: the caret stands on line 4.
    caret = page.evaluate("() => { const t = document.getElementById('ykt-content');"
                          " return [document.activeElement.id, t.value.slice(0, t.selectionStart).split('\\n').length]; }")
    assert caret == ["ykt-content", 4]
    assert page.locator("#ykt-gutter").inner_text().split()[:4] == ["1", "2", "3", "4"]
    # As you type: a valid model shows its diff without pressing 检查.
    page.fill("#ykt-content", SHORTER)
    page.locator("#ykt-diff").wait_for(timeout=15000)
    assert "供电方案答复时限（居民）：3 → 2 个工作日" in page.locator("#ykt-diff").inner_text()
    context.close()


# ------------------------------------------------------------------ the whole flow, in a real browser

RENAMED = SHORTER.replace("        label_zh: 业务类型\n", "        label_zh: 业务种类\n", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def following_server(request, tmp_path_factory):
    """An app of its own that follows the active version (hot pickup every second), served over HTTP."""
    import os
    import threading

    from werkzeug.serving import make_server

    from app.versions.apply import apply_model

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it")
        pytest.skip("chromium not installed")
    application = make_app(database_url(request.param, tmp_path_factory, name="h8bflow"),
                           MODEL_FOLLOW=True, MODEL_POLL_SECONDS=1, FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    with application.app_context():
        apply_model(BASE, source="model.yaml", comment="首次应用", user="admin")
        sm = application.appbuilder.sm
        sm.add_user("admin", "管理员", "系统", "admin@example.cn", sm.find_role("admin"), password=PASSWORDS["admin"])
    srv = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}", request.param
    srv.shutdown()
    with application.app_context():
        application.extensions["yekuotong"].db.session.remove()
        application.extensions["yekuotong"].db.engine.dispose()


def test_browser_edit_check_diff_apply_list_and_hot_pickup(following_server, browser):  # noqa: F811
    """编辑 → 检查 → 差异 → 填写说明并应用 → 版本列表（谁、何时、说明、差异）→ 运行中的应用不重启即换用新版本。"""
    import time

    server, backend = following_server
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/login/")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORDS["admin"])
    page.click("[type=submit]")
    page.goto(f"{server}/application/add")
    assert "业务类型" in page.content() and "业务种类" not in page.content()
    page.goto(f"{server}/versions/editor")
    page.fill("#ykt-content", RENAMED)
    page.click("#ykt-check")
    page.wait_for_load_state()
    diff_text = page.locator("#ykt-diff").inner_text()
    assert "供电方案答复时限（居民）：3 → 2 个工作日" in diff_text and "业务种类" in diff_text
    page.screenshot(path=f"/tmp/h8b-editor-diff-{backend}.png", full_page=True)
    page.fill("#ykt-comment", "缩短居民方案答复时限，业务类型改称业务种类")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#ykt-apply")
    page.wait_for_url(f"{server}/versions/")
    assert asked and "应用" in asked[0]  # the confirmation, in Chinese
    active = page.locator("#ykt-active").inner_text()
    assert "版本 2" in active and "admin" in active and "缩短居民方案答复时限" in active
    assert "原因说明" in page.locator("#ykt-versions thead").inner_text()
    row = page.locator("#ykt-versions tbody tr").first.inner_text()
    assert row.split()[0] == "2" and "admin" in row and "缩短居民方案答复时限" in row
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d", row)  # when, in Beijing time
    assert "已应用版本 2" in page.content()  # the summary, flashed
    page.screenshot(path=f"/tmp/h8b-versions-{backend}.png", full_page=True)
    page.locator("#ykt-versions tbody tr").first.locator("a", has_text="变更").click()
    page.wait_for_load_state()
    assert "供电方案答复时限（居民）：3 → 2 个工作日" in page.locator("#ykt-version-diff").inner_text()
    page.screenshot(path=f"/tmp/h8b-version-2-{backend}.png", full_page=True)
    # Hot pickup: the running server serves version 2 within its poll, without a restart.
    deadline = time.monotonic() + 20
    while True:
        page.goto(f"{server}/application/add")
        if "业务种类" in page.content():
            break
        assert time.monotonic() < deadline, "the running app still serves the old model"
        time.sleep(0.5)
    assert "业务类型" not in page.content()
    context.close()
