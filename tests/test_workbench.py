"""The workbench (工作台): each role's panels, counts that match the lists they link to, count queries only;
and the add screen of an application that opens the new application with its number."""
from __future__ import annotations

import html
import re

from sqlalchemy import event, func, select

ZH = {"Accept-Language": "zh"}


def text(response) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def figure(page: str, href: str) -> int:
    """The number shown on the workbench figure that links to `href`."""
    match = re.search(r'<a href="' + re.escape(href) + r'" class="ykt-figure">\s*<div[^>]*>\s*<div[^>]*>([\d,]+)</div>',
                      page)
    assert match, f"no figure linking to {href}"
    return int(match.group(1).replace(",", ""))


def statuses(app, username: str) -> dict[int, set[str]]:
    """The deadline statuses (as the badges show them) of every application in the user's to-do."""
    with app.app_context():
        core = app.extensions["yekuotong"]
        user = app.appbuilder.sm.find_user(username=username)
        ids = [r["id"] for r in core.todo.rows(user)]
        timers = core.sla.running_for(core.db.session, ids)
        return {i: {core.sla.status(t)["status"] for t in timers.get(i, [])} for i in ids}


def test_the_to_do_panel_counts_what_its_links_list(app, login):
    client = login("manager")
    page = client.get("/", headers=ZH).get_data(as_text=True)
    by_case = statuses(app, "manager")
    overdue = {i for i, s in by_case.items() if "overdue" in s}
    soon = {i for i, s in by_case.items() if "due_soon" in s}
    assert overdue, "the demo data has overdue work for the customer manager"
    assert figure(page, "/todo/") == len(by_case)
    assert figure(page, "/todo/?due=overdue") == len(overdue)
    assert figure(page, "/todo/?due=soon") == len(soon)
    listed = client.get("/todo/?due=overdue", headers=ZH)
    shown = {int(pk) for pk in re.findall(r'href="/application/show/(\d+)"', listed.get_data(as_text=True))}
    assert shown == overdue
    words = text(listed)
    assert "我的待办：已超期" in words and "全部待办" in words
    soon_page = text(client.get("/todo/?due=soon", headers=ZH))
    assert "我的待办：即将到期" in soon_page and "即将到期" in soon_page


def test_the_to_do_on_the_workbench_is_oldest_due_first(app, login):
    page = login("manager").get("/", headers=ZH).get_data(as_text=True)
    section = page[page.index('id="panel-todo"'):]
    dates = re.findall(r"(\d{4}-\d{2}-\d{2}) 到期", section[:section.index("全部待办")])
    assert len(dates) >= 3 and dates == sorted(dates)
    assert "已超期" in section and "处理" in section


def test_each_role_sees_its_own_panels(app, login):
    clerk = text(login("clerk").get("/", headers=ZH))
    assert "我的待办" in clerk and "待我处理" in clerk
    for other in ("待决定的考核", "本单位时限", "模型版本"):
        assert other not in clerk
    auditor = login("auditor").get("/", headers=ZH).get_data(as_text=True)
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        from app.assessment.entries import FineEntry

        proposed = session.scalar(select(func.count()).select_from(FineEntry).where(FineEntry.status == "proposed"))
    assert "待决定的考核" in auditor and figure(auditor, "/fines/pending/") == proposed
    assert "本单位时限" not in auditor
    head = text(login("head").get("/", headers=ZH))
    assert "本单位时限" in head and "在办申请" in head and re.search(r"本单位 \d{4}-\d{2} 考核", head)
    assert "待我处理" not in head and "待决定的考核" not in head  # no stage of theirs, no decision of theirs
    assert "角色：单位负责人" in head and "单位：客户服务中心" in head


def test_the_admin_sees_model_version_and_calendar_warning(app, login):
    page = text(login("admin").get("/", headers=ZH))
    with app.app_context():
        core = app.extensions["yekuotong"]
        version = core.model.version
        years = core.calendar_service.unloaded_years_within(days=60)
    assert "模型版本" in page and version in page and "操作日志" in page
    if years:
        assert f"{years[0]} 年的法定节假日安排尚未载入" in page
    else:
        assert "尚未载入" not in page
    assert "待我处理" not in page and "本单位时限" not in page


def test_the_workbench_runs_count_queries_only(app, login):
    """No statement of the workbench reads the applications or timers row by row without a limit."""
    client = login("head")
    client.get("/", headers=ZH)  # warm up (menus, permissions)
    with app.app_context():
        engine = app.extensions["yekuotong"].db.engine
    seen: list[str] = []

    def grab(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", grab)
    try:
        for user in ("manager", "auditor", "head", "admin"):
            assert login(user).get("/", headers=ZH).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    heavy = [s for s in seen if re.search(r"\bfrom (application|sla_timer|fine_entry)\b", s)
             and "count(" not in s and " limit " not in s and "exists" not in s and "min(" not in s
             and "application_id in (" not in s]  # the timers of the few rows shown
    assert seen and not heavy, heavy


def test_saving_a_new_application_opens_it_with_its_number(app, login):
    with app.app_context():
        core = app.extensions["yekuotong"]
        customer = core.db.session.scalars(select(core.orm["customer"].id)).first()
    response = login("clerk").post("/application/add", data={
        "customer": str(customer), "business_type": "new", "customer_type": "residential",
        "address": "潢川县工作台路8号", "capacity_kw": "6", "needs_engineering": "n"}, headers=ZH)
    assert response.status_code == 302
    with app.app_context():
        cls = app.extensions["yekuotong"].orm["application"]
        row = app.extensions["yekuotong"].db.session.scalars(select(cls).order_by(cls.id.desc())).first()
        pk, number = row.id, row.number
    assert row.address == "潢川县工作台路8号"
    assert response.headers["Location"].endswith(f"/application/show/{pk}")
    page = text(login("clerk").get(response.headers["Location"], headers=ZH))
    assert f"已受理：{number}" in page and number.startswith("YK")
    assert "记录已添加" not in page  # one message, the one with the number


def test_a_refused_application_stays_on_the_form(app, login):
    with app.app_context():
        cls = app.extensions["yekuotong"].orm["application"]
        before = app.extensions["yekuotong"].db.session.scalar(select(func.count()).select_from(cls))
    response = login("clerk").post("/application/add", data={"business_type": "new"}, headers=ZH)
    assert response.status_code == 200 and "已受理" not in text(response)
    with app.app_context():
        assert app.extensions["yekuotong"].db.session.scalar(select(func.count()).select_from(cls)) == before
