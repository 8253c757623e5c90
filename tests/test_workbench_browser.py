"""In headless Chromium, as each demo role: the workbench (工作台) and the to-do (我的待办) read in Chinese,
show no `__None`, and load nothing from another host."""
from __future__ import annotations

import os
import re
import shutil
import threading

import pytest

from conftest import PASSWORDS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Latin words a Chinese page may show: the brand of the menu's language switch, units, formats, numbers.
ALLOWED = {"kw", "kva", "kv", "yk", "pdf", "csv", "id"}
# What each role must read on its workbench.
EXPECTED = {
    "clerk": ["工作台", "角色：业扩员", "我的待办", "待我处理", "已超期", "即将到期"],
    "manager": ["工作台", "角色：客户经理", "我的待办", "待我处理", "已超期", "即将到期", "处理"],
    "metering": ["工作台", "角色：计量装表", "我的待办", "待我处理"],
    "auditor": ["工作台", "角色：营销审核", "我的待办", "待决定的考核", "待决定"],
    "head": ["工作台", "角色：单位负责人", "本单位时限", "在办申请", "考核", "已确认金额"],
    "admin": ["工作台", "角色：系统管理员", "系统", "模型版本", "操作日志"],
}


@pytest.fixture(scope="module")
def server(app):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it")
        pytest.skip("chromium not installed")
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
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


def english_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in ALLOWED}


def check_page(page, base: str, requests: list[str]) -> str:
    body = page.content()
    assert "__None" not in body
    visible = page.inner_text("body")
    assert not english_words(visible), f"English on a Chinese page {page.url}: {sorted(english_words(visible))}"
    away = [u for u in requests if not u.startswith(base) and not u.startswith(("data:", "blob:"))]
    assert not away, f"requests leaving the machine: {away}"
    return visible


@pytest.mark.parametrize("user", list(EXPECTED))
def test_workbench_and_to_do_in_chinese(browser, server, user):
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
        assert page.url.rstrip("/") == server, f"{user} did not land on the workbench: {page.url}"
        workbench = check_page(page, server, requests)
        for words in EXPECTED[user]:
            assert words in workbench, f"{user}'s workbench lacks {words!r}"
        page.goto(f"{server}/todo/")
        todo = check_page(page, server, requests)
        assert "我的待办" in todo
        assert re.search(r"（\d+）", todo)
        if page.locator("table a.btn-primary").count():  # the first row's 处理 opens the application
            page.locator("table a.btn-primary").first.click()
            page.wait_for_load_state()
            assert "/application/show/" in page.url
    finally:
        context.close()
