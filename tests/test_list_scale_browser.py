"""In headless Chromium: reference selects search on demand (issue 13). The add form's customer and the
application list's customer filter offer nothing until the user types; typing a name finds the
customer by its label (name · 尾号 · number), and choosing it fills the form / filters the list."""
from __future__ import annotations

import os
import re
import shutil
import threading

import pytest
from sqlalchemy import select

from conftest import PASSWORDS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def page_as(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])

        def _open(user: str, path: str):
            context = chromium.new_context(locale="zh-CN")
            page = context.new_page()
            away: list[str] = []
            page.on("request", lambda r: away.append(r.url) if not r.url.startswith(server) else None)
            page.goto(f"{server}/login/")
            page.fill("#username", user)
            page.fill("#password", PASSWORDS[user])
            page.click("[type=submit]")
            page.goto(f"{server}{path}")
            return page, away
        yield _open
        chromium.close()


def a_customer(app) -> tuple[int, str]:
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls, cases = core.orm["customer"], core.orm["application"]
        row = core.db.session.execute(select(cls.id, cls.name).where(cls.id.in_(select(cases.customer_id)))
                                      .order_by(cls.id).limit(1)).one()
        return row.id, row.name


def choose(page, select_id: str, text: str) -> str:
    """Open the select2 of `select_id`, type `text`, pick the first match; returns its label."""
    page.locator(f"#{select_id} + .select2 .select2-selection, select[name$='{select_id}'] + .select2 "
                 ".select2-selection").first.click()
    page.locator(".select2-container--open .select2-search__field").fill(text)
    option = page.locator(".select2-results__option:not(.loading-results)", has_text=text).first
    option.wait_for(timeout=10000)
    label = option.inner_text()
    option.click()
    return label


def test_add_form_finds_the_customer_as_the_user_types(app, page_as):
    pk, name = a_customer(app)
    page, away = page_as("clerk", "/application/add")
    assert page.locator("select#customer option").count() == 1  # only the empty choice until one types
    label = choose(page, "customer", name)
    assert re.fullmatch(rf"{re.escape(name)} · 尾号\d{{4}} · C{pk:06d}", label)
    assert page.locator("select#customer").input_value() == str(pk)
    assert away == []


def test_list_filter_by_customer_searches_on_demand(app, page_as):
    pk, name = a_customer(app)
    page, away = page_as("auditor", "/application/list/")
    page.locator("a.accordion-toggle", has_text="搜索").click()
    page.locator("#filter_form button.dropdown-toggle").click()
    page.locator("a.filter[name=customer]").click()
    choose(page, "customer", name)
    page.locator("#filter_form button[type=submit], #filter_form .btn-primary").first.click()
    page.wait_for_load_state()
    assert f"_flt_0_customer={pk}" in page.url
    rows = page.locator("table.table tbody tr").all_inner_texts()
    assert rows and all(name in row for row in rows)
    assert away == []
