"""A normal day per role, in headless Chromium (issue 12 "Done when"): sign in, read the landing page,
open the to-do, open an application waiting on the role, take its step, and read only Chinese on the
way — no `__None`, no condition syntax, no English words, no request to another host.

Runs on its own database (steps change the demo data other tests read)."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading

import pytest

from conftest import PASSWORDS, database_url, demo_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ALLOWED = {"kw", "kva", "kv", "yk", "pdf", "csv", "id"}
CONDITION_SYNTAX = re.compile(r"\b[a-z_]+\(|\b(?:is not|is|==|!=)\s+(?:null|true|false)\b|\b[a-z]+_[a-z_]+\b")
# Roles that take steps, and the landing-page words each relies on.
ACTORS = {
    "clerk": ["工作台", "我的待办", "待我处理"],
    "manager": ["工作台", "我的待办", "待我处理"],
    "metering": ["工作台", "我的待办", "待我处理"],
    "auditor": ["工作台", "我的待办", "待决定的考核"],
}


@pytest.fixture(scope="module")
def day_app(backend, tmp_path_factory):
    with demo_app(database_url(backend, tmp_path_factory, name="roleday"),
                           UPLOAD_FOLDER=str(tmp_path_factory.mktemp("roleday-uploads")) + os.sep) as application:
        yield application


@pytest.fixture(scope="module")
def server(day_app):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it")
        pytest.skip("chromium not installed")
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, day_app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


def read_chinese(page, base: str, requests: list[str]) -> str:
    """The visible text of a zh page, after checking it is Chinese and loaded nothing from elsewhere."""
    assert "__None" not in page.content(), page.url
    visible = page.inner_text("body")
    # words, not codes typed as data (meter no. ME94964, model DDZY285)
    english = {w for w in re.findall(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])", visible) if w.lower() not in ALLOWED}
    assert not english, f"English on a Chinese page {page.url}: {sorted(english)}"
    syntax = CONDITION_SYNTAX.findall(visible)
    assert not syntax, f"condition language on {page.url}: {syntax}"
    away = [u for u in requests if not u.startswith(base) and not u.startswith(("data:", "blob:"))]
    assert not away, f"requests leaving the machine: {away}"
    return visible


def fill_step(form) -> None:
    """Fill the step's required fields as a user would: today's date, the first choice, a number, words."""
    for field in form.locator("[required]").all():
        tag = field.evaluate("e => e.tagName.toLowerCase()")
        kind = field.get_attribute("type") or ""
        if tag == "select":
            values = [v for v in field.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
            field.select_option(values[0])
        elif kind == "date":
            field.fill(dt.date.today().isoformat())
        elif kind == "number":
            field.fill("10")
        else:
            field.fill("现场核实无误")


def open_application_with_step(page, base: str, requests: list[str]):
    """From the to-do, the first application on which the role can take a step now (its form)."""
    page.goto(f"{base}/todo/")
    todo = read_chinese(page, base, requests)
    assert "我的待办" in todo
    links = [a.get_attribute("href") for a in page.locator("table a.btn-primary").all()]
    assert links, "the to-do lists nothing for this role"
    for href in links:
        page.goto(href if href.startswith("http") else base + href)
        read_chinese(page, base, requests)
        forms = page.locator("form.step-form:has(button[type=submit]:not([disabled]))")
        if forms.count():
            return forms.first
    pytest.fail("no application in the to-do has a step the role can take now")


@pytest.mark.parametrize("user", list(ACTORS))
def test_role_takes_a_step_in_chinese(browser, server, user):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(f"{server}/login/")
        page.fill("#username", user)
        page.fill("#password", PASSWORDS[user])
        page.click("[type=submit]")
        page.wait_for_load_state()
        landing = read_chinese(page, server, requests)
        for words in ACTORS[user]:
            assert words in landing, f"{user}'s landing page lacks {words!r}"
        form = open_application_with_step(page, server, requests)
        stage_before = page.inner_text("#current-stage")
        step_label = form.locator("button[type=submit]").inner_text().strip()
        number = page.inner_text("#workflow .panel-title")
        fill_step(form)
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        after = read_chinese(page, server, requests)
        assert page.locator(".alert-success").count(), f"{user}: no success message after {step_label}"
        assert page.inner_text("#workflow .panel-title") == number
        stage_after = page.inner_text("#current-stage")
        assert stage_after != stage_before or step_label in after, \
            f"{user}: {step_label} left {number} at {stage_before} and the history does not show it"
        assert step_label in after  # 流转记录 names the step just taken
    finally:
        context.close()


def test_co_signer_signs_from_the_to_do(browser, server):
    """A co-signing clerk of 电费管理中心 finds the case waiting for the unit's signature in the to-do,
    signs it on the application page, and the case leaves the to-do."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(f"{server}/login/")
        page.fill("#username", "billing")
        page.fill("#password", PASSWORDS["billing"])
        page.click("[type=submit]")
        page.wait_for_load_state()
        read_chinese(page, server, requests)
        page.goto(f"{server}/todo/")
        todo = read_chinese(page, server, requests)
        waiting = int(re.search(r"我的待办（(\d+)）", todo).group(1))
        assert waiting >= 1 and "会签：" in todo
        page.locator("table a.btn-primary").first.click()
        page.wait_for_load_state()
        assert "#signoffs" in page.url
        read_chinese(page, server, requests)
        panel = page.locator("#signoffs")
        panel.locator("button[type=submit]").first.click()
        page.wait_for_load_state()
        read_chinese(page, server, requests)
        assert page.locator(".alert-success").count()
        page.goto(f"{server}/todo/")
        after = read_chinese(page, server, requests)
        assert int(re.search(r"我的待办（(\d+)）", after).group(1)) == waiting - 1
    finally:
        context.close()
