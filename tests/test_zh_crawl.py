"""Issue 12, "Chinese end to end": each demo role opens its landing page, every page its menu and the
landing page link to, one level further (one page of each address shape), and an application at every
stage; what a user reads there (text, tooltips, placeholders, the words the confirmation dialog will
show) holds no English word, no model key, no condition syntax and no `__None` (SQLite and PostgreSQL).
"""
from __future__ import annotations

import getpass
import html
import re

import pytest
from sqlalchemy import func, select

from conftest import PASSWORDS, database_url, demo_app

ROLES = ("clerk", "manager", "metering", "auditor", "head", "admin", "billing")
MAX_PAGES = 40  # per role, besides the application pages per stage and the refusals
ZH = {"Accept-Language": "zh"}

#: Addresses not crawled: sign-out and language switch (they change the session), static files,
#: downloads (PDF, CSV, scans), the API, and FAB's /back (a redirect to the previous page).
SKIP = re.compile(r"^/(logout|lang|static|api|swagger|appbuilder|back\b)|\.(pdf|csv)\b|/download|/export|csv|/print/")
#: Words allowed on a Chinese page: units, file kinds, the application number prefix and the
#: language switch (its English option is written in English on purpose).
ALLOWED = {"kW", "kWh", "kVA", "kV", "V", "PDF", "CSV", "YAML", "YK", "English"}
#: Condition language, as a user must never read it.
SYNTAX = re.compile(r"\b[a-z_]+\(\)|\b(count|all|any|documents_complete|timer_overdue)\(|==|!=|<>"
                    r"|\bis (not )?(null|true|false)\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
#: Pages showing log-in names as data (the user list, a user's page, one's own profile, a role's users;
#: who did what in the action log, who applied a model version — from the command line 命令行（account）).
USER_PAGES = re.compile(r"^/(users|roles|actionlog|versions)/")
#: Log-in names: the demo users' and the account `flask model apply` ran under (tests and demo).
def _account() -> str:
    try:
        return getpass.getuser()
    except Exception:  # as app/security/audit.py: no login name in a container
        return "?"


LOGINS = sorted(set(PASSWORDS) | {_account()})
#: Pages showing a unit's code (its key in model.yaml, which admins write there) beside its name.
UNIT_PAGES = re.compile(r"^/unit/show/")

# ------------------------------------------------------------------ what a user reads
def _attributes(page: str) -> list[str]:
    """Texts shown from attributes: tooltips, placeholders, button captions, the confirmation texts
    Flask-AppBuilder's scripts put into its dialog (delete, actions, `.confirm` links) and the
    browser's confirm()/alert() boxes."""
    texts = re.findall(r'\s(?:title|placeholder|alt|data-text|data-original-title)="([^"]*)"', page)
    texts += re.findall(r'<input[^>]*type="(?:submit|button|reset)"[^>]*value="([^"]*)"', page)
    texts += re.findall(r"execute_(?:single_delete|single|multiple)\('[^']*',\s*'((?:[^'\\]|\\.)*)'", page)
    texts += re.findall(r"\b(?:confirm|alert|ab_alert)\('((?:[^'\\]|\\.)*)'\)", page)
    return texts


def visible(page: str, path: str = "") -> str:
    """The words a user reads: text outside scripts/styles (the dialogs FAB shows included), the
    attribute texts above; not the model source shown as such (editor text areas, <pre>), e-mail
    addresses, or log-in names on the user pages."""
    extra = " ".join(_attributes(page))
    body = re.sub(r"(?is)<(script|style|textarea|pre)\b.*?</\1>", " ", page)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + extra).split())
    text = EMAIL.sub(" ", text).replace("model.yaml", " ")  # the model's file, named on admin pages
    if UNIT_PAGES.match(path):
        text = re.sub(r"单位代码 [a-z_]+", "单位代码", text)
    if USER_PAGES.match(path):
        text = re.sub(r"\b(%s)\b" % "|".join(map(re.escape, LOGINS)), " ", text)
    return " ".join(text.split())


def problems(page: str, path: str) -> list[str]:
    text = visible(page, path)
    found = []
    if "__None" in text:
        found.append("__None")
    found += [f"condition syntax {m.group(0)!r}" for m in SYNTAX.finditer(text)]
    words = {w for w in re.findall(r"[A-Za-z0-9_]+", text) if not re.search(r"\d", w)}
    found += [f"model key {w!r}" for w in sorted(words) if "_" in w]
    found += [f"English {w!r}" for w in sorted(words - ALLOWED) if "_" not in w]
    if not re.search(r"[\u4e00-\u9fff]", text):
        found.append("no Chinese at all")
    return found


# ------------------------------------------------------------------ the crawl
@pytest.fixture(scope="module")
def demo(backend, tmp_path_factory):
    """The demo data alone, in a database of its own: rows other tests add (names, users) stay out
    of the lists crawled, so that a finding is the app's and not a test's."""
    with demo_app(database_url(backend, tmp_path_factory, "zhcrawl")) as application:
        yield application


def _links(page: str) -> list[str]:
    out: list[str] = []
    for href in re.findall(r'href="([^"#]*)"', page):
        href = html.unescape(href)
        if href.startswith("/") and not href.startswith("//") and not SKIP.search(href) and href not in out:
            out.append(href)
    return out


def _shape(path: str) -> str:
    """One page per address shape: /application/show/12 stands for every application page."""
    return re.sub(r"\d+", "N", path.split("?")[0])


def _client(app, username: str):
    from app.security.limits import limiter

    limiter.reset()  # the sign-in limits count in process memory: other tests' failed sign-ins too
    client = app.test_client()  # a client of its own: shared ones may have switched to English
    signed_in = client.post("/login/", data={"username": username, "password": PASSWORDS[username]}, headers=ZH)
    assert signed_in.status_code == 302, (username, signed_in.status_code)
    client.get("/lang/zh")
    return client


def _get(client, path: str):
    response = client.get(path, headers=ZH)
    if response.status_code in (301, 302, 308) and response.location.startswith("/") \
            and not SKIP.search(response.location):
        response = client.get(response.location, headers=ZH)
    return response


def _stage_pages(app) -> list[str]:
    """One application page per stage of the model (the lowest number at that stage)."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls, field = core.engine.cls, core.model.workflow.state_field
        rows = core.db.session.execute(select(getattr(cls, field), func.min(cls.id)).group_by(getattr(cls, field)))
        pages = [f"/application/show/{pk}" for _, pk in rows]
        core.db.session.rollback()
    return pages


_CRAWLS: dict[tuple[int, str], list[tuple[str, int, str]]] = {}


def crawl(app, username: str) -> list[tuple[str, int, str]]:
    """(address, status, body) of every page the role reaches from its landing page and menu, one
    level further (one page per address shape), capped at MAX_PAGES; then one application per stage."""
    key = (id(app), username)
    if key in _CRAWLS:
        return _CRAWLS[key]
    client = _client(app, username)
    landing = _get(client, "/")
    pages = [("/", landing.status_code, landing.get_data(as_text=True))]
    seen, shapes = {"/"}, {"/"}
    queue = [(href, 1) for href in _links(pages[0][2])]
    while queue and len(pages) < MAX_PAGES:
        href, depth = queue.pop(0)
        if href in seen or (depth > 1 and _shape(href) in shapes):
            continue
        seen.add(href)
        shapes.add(_shape(href))
        response = _get(client, href)
        body = response.get_data(as_text=True)
        pages.append((href, response.status_code, body))
        if depth == 1 and response.status_code == 200:
            queue += [(link, 2) for link in _links(body)]
    for href in _stage_pages(app):
        if href not in seen:
            response = client.get(href, headers=ZH)
            pages.append((href, response.status_code, response.get_data(as_text=True)))
    _CRAWLS[key] = pages
    return pages


@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_role_reaches_reads_in_chinese(demo, username):
    pages = crawl(demo, username)
    assert len(pages) >= 10, [p for p, _, _ in pages]
    bad = {}
    for path, status, body in pages:
        if path.startswith("/application/show/") and status == 404:
            # an application out of the role's row scope: the Chinese "not found" page
            assert "页面不存在" in visible(body) or "未找到" in visible(body), path
        elif status != 200:
            bad[path] = [f"status {status}"]
            continue
        found = problems(body, path)
        if found:
            bad[path] = found
    assert not bad, bad


#: Pages a role may not open: the refusal is the app's Chinese page inside the layout.
REFUSED = {"clerk": ["/users/list/", "/versions/", "/fines/pending/", "/actionlog/list/"],
           "manager": ["/users/list/", "/calendar/"],
           "metering": ["/roles/list/", "/fines/pending/"],
           "billing": ["/users/list/", "/versions/editor"]}


@pytest.mark.parametrize("username", sorted(REFUSED))
def test_refusals_and_missing_pages_are_chinese(demo, username):
    client = _client(demo, username)
    for path in REFUSED[username] + ["/application/show/999999", "/no-such-page/"]:
        response = client.get(path, headers=ZH)
        assert response.status_code in (403, 404), (path, response.status_code)
        body = response.get_data(as_text=True)
        assert not problems(body, path), (path, problems(body, path))
        text = visible(body)
        assert ("无权访问" if response.status_code == 403 else "页面不存在") in text, (path, text[-200:])
        assert "返回工作台" in text and "我的待办" in text, path  # inside the layout, a way back


def test_the_delete_confirmation_is_chinese(demo):
    """FAB's delete buttons open its confirmation dialog with a text its scripts insert: 请确认, the
    question, 取消 / 确定."""
    client = _client(demo, "admin")
    body = client.get("/unit/list/", headers=ZH).get_data(as_text=True)
    asked = re.findall(r"execute_single_delete\('[^']*',\s*'([^']*)'", body)
    assert asked and all(a == "确定要删除这条记录吗？" for a in asked), asked[:3]
    dialog = body[body.index('id="modal-confirm"'):]
    dialog = visible(dialog[:dialog.index("</div>\n</div>") if "</div>\n</div>" in dialog else 2000])
    assert "请确认" in dialog and "取消" in dialog and "确定" in dialog
    for english in ("Cancel", "OK", "User confirmation needed"):
        assert english not in dialog


def test_the_crawl_catches_what_it_must():
    """The checks themselves: each kind of slip is found, plain Chinese passes."""
    assert problems("<p>申请已受理，容量 16 kW</p>", "/") == []
    assert problems("<p>条件未满足：documents_complete()</p>", "/")
    assert problems("<p>需满足 fixed is false</p>", "/")
    assert problems('<select><option value="__None">__None</option></select><p>请选择</p>', "/")
    assert problems("<p>阶段 plan_reply</p>", "/") == ["model key 'plan_reply'"]
    assert problems('<p>列表</p><input placeholder="Search">', "/") == ["English 'Search'"]
    assert problems("<p>列表</p><script>onclick=x.execute_single_delete('/a/1','Are you sure?')</script>", "/")
    assert problems('<svg><g><title>报送初审 (forward)</title></g></svg>', "/") == ["English 'forward'"]
    assert problems("""<p>删除</p><form onsubmit="return confirm('Remove it?');">""", "/")
    assert problems("<p>用户名 clerk</p>", "/users/show/1") == []
    assert problems("<p>角色 clerk</p>", "/application/show/1") == ["English 'clerk'"]
    assert problems("<p>命令行（%s）</p>" % _account(), "/actionlog/show/1") == []
    assert problems("<p>由 model apply 应用</p>", "/versions/") == ["English 'apply'", "English 'model'"]
    assert problems("<details><summary>技术细节</summary><pre>create table ab_user</pre></details>", "/") == []
