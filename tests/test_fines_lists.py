"""Fine lists as their readers use them: application numbers open the case, a unit head sees whom each
fine of the unit is on (考核对象)."""
from __future__ import annotations

import re


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)


def test_pending_fines_link_their_applications(login, db, orm):
    html = login("auditor").get("/fines/pending/").get_data(as_text=True)
    links = re.findall(r'<a href="(/application/show/(\d+))">(YK\d+)</a>', html)
    assert links, "no application number links on the pending fines page"
    for _href, pk, number in links:
        assert db.get(orm["application"], int(pk)).number == number


def test_unit_fines_name_the_target(login):
    html = login("head").get("/fines/unit/").get_data(as_text=True)
    assert "<th>考核对象</th>" in html
    targets = re.findall(r'<td class="fine-target">([^<]*)</td>', html)
    assert targets and all(t.strip() for t in targets)
    assert any(name in targets for name in ("李经理", "王业扩", "客户服务中心"))
    assert re.search(r'<a href="/application/show/\d+">YK\d+</a>', html)


def test_my_fines_have_no_target_column(login):
    html = login("manager").get("/fines/mine/").get_data(as_text=True)
    assert "考核对象" not in html
    assert 'class="fine-target"' not in html
