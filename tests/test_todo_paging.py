"""我的待办 in pages: a province's customer manager may have hundreds of cases waiting; the page lists
them in pages with the whole count in the heading, in the same order, none twice."""
from __future__ import annotations

import re

import pytest


@pytest.fixture()
def small_pages(monkeypatch):
    from app.portal import views

    monkeypatch.setattr(views, "TODO_ROWS", 3)


def _numbers(html: str) -> list[str]:
    return re.findall(r"<td>(YK\d+)</td>", html)


def test_to_do_pages_cover_every_case_once(login, small_pages):
    client = login("manager")
    first = client.get("/todo/").get_data(as_text=True)
    total = int(re.search(r"我的待办（(\d+)）", first).group(1))
    assert total > 6, "the demo manager needs more than two pages for this test"
    assert f"我的待办 ({total})" in first  # the menu badge agrees with the heading
    seen, page = [], 0
    while True:
        html = client.get(f"/todo/?page={page}").get_data(as_text=True)
        rows = _numbers(html)
        assert len(rows) <= 3
        seen += rows
        if "下一页" not in html:
            break
        assert f"第 {page + 1} 页" in html
        page += 1
    assert len(seen) == total and len(set(seen)) == total
    assert "上一页" in html


def test_a_bad_page_number_shows_the_first_page(login, small_pages):
    client = login("manager")
    first = _numbers(client.get("/todo/").get_data(as_text=True))
    for bad in ("x", "-3", "1e9"):
        response = client.get(f"/todo/?page={bad}")
        assert response.status_code == 200
        assert _numbers(response.get_data(as_text=True)) == first


def test_a_short_to_do_has_no_pager(login):
    html = login("metering").get("/todo/").get_data(as_text=True)
    total = int(re.search(r"我的待办（(\d+)）", html).group(1))
    assert total == len(_numbers(html)) and total < 50
    assert 'id="todo-pager"' not in html
