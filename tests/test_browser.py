"""In headless Chromium: a residential application clicked through every step, in Chinese."""
from __future__ import annotations

import os
import shutil
import threading

import pytest

from test_workflow_api import new_application

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORDS = {"clerk": "clerk-2026", "manager": "manager-2026", "metering": "metering-2026",
             "auditor": "auditor-2026", "billing": "billing-2026", "station": "station-2026"}


@pytest.fixture()
def server(app):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it")
        pytest.skip("chromium not installed")
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture()
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


def act(browser, base: str, user: str, pk: int, button: str, fill: dict | None = None,
        select: dict | None = None) -> str:
    """Sign in as `user`, open the application, fill the step's form and press its button."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("[type=submit]")
    page.goto(f"{base}/application/show/{pk}")
    form = page.locator("form.step-form", has=page.locator(f"button:has-text('{button}')"))
    for name, value in (fill or {}).items():
        form.locator(f"[name={name}]").fill(value)
    for name, label in (select or {}).items():
        form.locator(f"select[name={name}]").select_option(label=label)
    form.locator(f"button:has-text('{button}')").click()
    page.wait_for_load_state()
    text = page.locator("#workflow").inner_text() + page.locator(".alert").first.inner_text()
    context.close()
    return text


def sign(browser, base: str, user: str, pk: int, trigger: str) -> str:
    """Sign in as `user` and press 会签 in the case page's sign-off box for `trigger`."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("[type=submit]")
    page.goto(f"{base}/application/show/{pk}")
    form = page.locator(f"form.signoff-form[data-trigger={trigger}]")
    form.locator("[name=comment]").fill("同意")
    form.locator("button").click()
    page.wait_for_load_state()
    text = page.locator("#signoffs").inner_text() + page.locator(".alert").first.inner_text()
    context.close()
    return text


def test_residential_case_clicked_through_in_chinese(app, server, browser):
    pk = new_application(app, "residential", engineering=False)
    day = "2026-11-27"
    steps = [
        ("clerk", "报送初审", {}, {}, "登记初审"),
        ("auditor", "初审通过并指定客户经理", {}, {"owner": "李经理"}, "现场勘查"),
        ("manager", "完成现场勘查", {"survey_date": day, "survey_participants": "客服中心、供电所",
                                   "survey_findings": "具备接电条件"}, {}, "供电方案制定"),
        ("manager", "提交方案审批", {"approved_capacity_kw": "8", "supply_point": "城关线3号台区"},
         {"supply_voltage": "220V", "metering_method": "直接接入式", "billing_method": "单一制电价",
          "tariff_category": "居民生活用电"}, "方案审批"),
        # the survey participants sign the plan (会签) before it is approved
        ("manager", "approve_plan"), ("billing", "approve_plan"), ("metering", "approve_plan"),
        ("station", "approve_plan"),
        ("auditor", "审批通过", {"approval_opinion": "同意"}, {}, "方案答复"),
        ("manager", "书面答复（直接装表）", {"reply_date": day}, {}, "安装计量装置"),
        ("metering", "安装计量装置", {"meter_no": "3410001", "meter_type": "DDZY285", "initial_reading": "0"}, {},
         "签订供用电合同"),
        ("manager", "签订供用电合同", {"contract_no": "HT-1", "contract_signed_on": day}, {}, "联合确定电价类别"),
        ("auditor", "set_tariff"), ("billing", "set_tariff"), ("manager", "set_tariff"),
        ("manager", "确定电价类别", {}, {"tariff_category": "居民生活用电"}, "送电"),
        ("metering", "送电", {"power_on_date": day}, {}, "建立电费账户"),
        ("manager", "建立电费账户", {"account_no": "ZH-1"}, {}, "建立电费账户"),
        ("clerk", "资料归档", {"archive_no": "DA-1", "archived_on": day}, {}, "归档"),
    ]
    for item in steps:
        if len(item) == 2:  # a sign-off
            text = sign(browser, server, item[0], pk, item[1])
            assert "已会签" in text, (item, text[:300])
            continue
        user, button, fill, select, stage = item
        text = act(browser, server, user, pk, button, fill, select)
        assert "已完成" in text, (button, text[:300])
        assert f"环节：{stage}" in text.replace(" ", "").replace("\n", "") or stage in text, (button, stage)
    with app.app_context():
        core = app.extensions["yekuotong"]
        assert core.db.session.get(core.engine.cls, pk).stage == "archive"
