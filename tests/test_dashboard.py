"""The deadline dashboard (时限看板) as a user reads it: applications counted once each, stages in
process order, cases without a unit or manager named as such, each user's own scope, and a brand-new
application not shown as due soon unless its timer's `due_soon` says so."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from conftest import BACKENDS, database_url, demo_app, signed_in_clients
from test_sla import at, create

ZH = {"Accept-Language": "zh"}
ROW = re.compile(r"<tr><td>([^<]+?)\s*<div.*?</td>\s*<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>", re.S)


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    """The demo data on a database of this module's own: the applications these tests add (overdue,
    unassigned, brand-new) stay out of the suite's shared demo database."""
    with demo_app(database_url(request.param, tmp_path_factory, name="dashboard")) as application:
        yield application


@pytest.fixture(scope="module")
def login(app):
    return signed_in_clients(app)


def table(page: str, title: str) -> list[tuple[str, list[int]]]:
    """(row label, [running, due soon, overdue, paused]) of the dashboard table with this title."""
    start = page.index(f"<strong>{title}</strong>")
    section = page[start:page.index("</tbody>", start)]
    return [(html.unescape(label).strip(), [int(n) for n in counts]) for label, *counts in ROW.findall(section)]


def overdue_panel(page: str) -> tuple[int, list[str]]:
    """(the count in the heading 超期申请（N）, the application numbers listed)."""
    start = page.index("超期申请")
    count = int(re.match(r"超期申请（(\d+)）", page[start:]).group(1))
    numbers = re.findall(r'<a href="/application/show/\d+">([^<]+)</a>', page[start:])
    return count, numbers


def dashboard(login, username: str) -> str:
    response = login(username).get("/sla/dashboard/", headers=ZH)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def number_of(app, pk: int) -> str:
    with app.app_context():
        core = app.extensions["yekuotong"]
        return core.db.session.get(core.engine.cls, pk).number


def open_cases(app) -> tuple[int, int, int]:
    """(applications with an open deadline, applications with an overdue one, overdue timers)."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        timer, session = core.sla.cls, core.db.session
        now = dt.datetime.now(dt.timezone.utc)
        late = core.sla.overdue_clause(now)
        open_ = session.scalar(select(func.count(func.distinct(timer.application_id)))
                               .where(timer.status.in_(("running", "paused", "overdue"))))
        late_cases = session.scalar(select(func.count(func.distinct(timer.application_id))).where(late))
        late_timers = session.scalar(select(func.count()).select_from(timer).where(late))
        return open_, late_cases, late_timers


def test_each_application_counts_once_however_many_of_its_deadlines_passed(app, login):
    pk = create(app, at("2026-11-02T09:00"))  # 报送初审, 登记初审 and 供电方案答复 all overdue since
    number = number_of(app, pk)
    page = dashboard(login, "auditor")
    cases, late_cases, late_timers = open_cases(app)
    assert late_timers > late_cases, "the data has an application with several overdue deadlines"
    count, listed = overdue_panel(page)
    assert count == late_cases
    assert listed.count(number) == 1 and len(listed) == len(set(listed)) == min(count, 100)
    for title in ("按环节", "按单位", "按客户经理"):
        rows = table(page, title)
        assert sum(sum(c) for _label, c in rows) == cases, title
        assert sum(c[2] for _label, c in rows) == late_cases, title
    assert "Applications with open deadlines" not in page
    assert "有未结时限的申请，每件申请按其最紧迫的时限计一次" in page


def test_stages_are_in_process_order_and_unassigned_cases_are_named(app, login):
    create(app, at("2026-11-03T09:00"))  # no customer manager, accepted by nobody of a unit
    page = dashboard(login, "auditor")
    with app.app_context():
        engine = app.extensions["yekuotong"].engine
        process = [engine.stage_label(k) for k in engine.definition.stages]
    shown = [label for label, _c in table(page, "按环节")]
    assert len(shown) >= 3 and shown == sorted(shown, key=process.index)
    assert "未分派单位" in [label for label, _c in table(page, "按单位")]
    assert [label for label, _c in table(page, "按客户经理")][-1] == "未分派客户经理"
    assert "（无）" not in page and "(none)" not in page


def test_a_customer_manager_sees_only_the_cases_of_their_scope(app, login):
    pk = create(app, at("2026-11-04T09:00"))  # nobody's: outside the manager's own cases and unit
    number = number_of(app, pk)
    everyone = dashboard(login, "auditor")
    mine = dashboard(login, "manager")
    assert number in overdue_panel(everyone)[1]
    assert number not in overdue_panel(mine)[1]
    assert overdue_panel(mine)[0] < overdue_panel(everyone)[0]
    assert sum(sum(c) for _l, c in table(mine, "按环节")) < sum(sum(c) for _l, c in table(everyone, "按环节"))


def test_a_new_application_is_not_due_soon_in_its_first_minute(app, login, monkeypatch):
    pk = create(app, dt.datetime.now(dt.timezone.utc))
    page = login("clerk").get(f"/application/show/{pk}", headers=ZH).get_data(as_text=True)
    assert "报送初审时限·计时中" in page and "登记初审时限·计时中" in page
    assert "即将到期" not in page[page.index("报送初审时限"):page.index("报送初审时限") + 300]
    with app.app_context():
        core = app.extensions["yekuotong"]
        sla, session = core.sla, core.db.session
        now = dt.datetime.now(dt.timezone.utc)
        forward = session.scalars(select(sla.cls).where(sla.cls.application_id == pk,
                                                        sla.cls.timer == "forward")).one()
        def soon():  # the timer, if the counts' SQL finds it due soon
            return session.scalar(select(sla.cls.id).where(sla.cls.id == forward.id, sla.soon_clause(now)))
        assert sla.status(forward, now)["status"] == "running" and soon() is None
        # A model whose threshold says two working days: the same timer is due soon at once, in the
        # badge and in the counts alike.
        monkeypatch.setitem(sla.timers, "forward", sla.timers["forward"].model_copy(update={"due_soon": 2}))
        assert sla.status(forward, now)["status"] == "due_soon" and soon() == forward.id
