"""Issue 12, "English mode is complete": each demo role switches to English and opens its landing
page, the pages its menu and landing page link to (one level further, one page per address shape),
an application at every stage, and the English-only pages it is meant to use; what it reads there holds
no Chinese except user data — names, addresses, comments people typed — read from the database
(SQLite and PostgreSQL). The Chinese direction is tests/test_zh_crawl.py."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import String, Text, func, select

from conftest import PASSWORDS, database_url, demo_app

ROLES = ("clerk", "manager", "metering", "auditor", "head", "admin", "billing")
MAX_PAGES = 40
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
SKIP = re.compile(r"^/(logout|lang|static|api|swagger|appbuilder|back\b)|\.(pdf|csv)\b|/download|/export|csv|/print/")
#: Pages every role is meant to reach besides its menu (the brief's list: to-do, dashboard, fines, calendar).
#: The language menu names Chinese in Chinese on purpose.
LANGUAGE_MENU = "简体中文"
EXTRA = ("/todo/", "/sla/dashboard/", "/fines/", "/fines/summary/", "/calendar/", "/users/list/", "/roles/list/")


@pytest.fixture(scope="module")
def demo(backend, tmp_path_factory):
    with demo_app(database_url(backend, tmp_path_factory, "encrawl")) as application:
        yield application


def user_data(app) -> list[str]:
    """Every Chinese text people typed: text columns of the model's entities (not the units, which
    have English names), staff names, and what the history keeps (names, comments, changed values);
    longest first, so that a name inside an address goes with the address."""
    from app.security.user import StaffUser

    core = app.extensions["yekuotong"]
    texts: set[str] = set()
    with app.app_context():
        session = core.db.session
        for key, cls in core.orm.classes.items():
            if key == "unit" or not hasattr(cls, "__table__"):
                continue
            for column in cls.__table__.columns:
                if isinstance(column.type, (String, Text)):
                    texts.update(v for v in session.scalars(select(column).distinct()) if isinstance(v, str))
        # Typed by people too: incident descriptions, decision reasons, the names admins give calendar days.
        from app.assessment.entries import FineEntry, Incident
        from app.deadlines.calendar_tables import CalendarDay, CalendarYear

        for column in (Incident.description, FineEntry.decision_reason, CalendarDay.name, CalendarYear.note):
            texts.update(v for v in session.scalars(select(column).distinct()) if isinstance(v, str))
        for last, first in session.execute(select(StaffUser.last_name, StaffUser.first_name)):
            texts.update({f"{last or ''}{first or ''}", last or "", first or ""})
        session.rollback()
    # Unit names are the model's, with English names: never data (the history keeps them as text).
    units = {u.name_zh for u in core.model.units}
    texts -= units
    found = ({t for text in texts for t in CJK.findall(text)} | {t for t in texts if CJK.search(t)}) - units
    return sorted(found, key=len, reverse=True)


def visible(page: str) -> str:
    texts = re.findall(r'\s(?:title|placeholder|alt|data-original-title)="([^"]*)"', page)
    texts += re.findall(r'<input[^>]*type="(?:submit|button|reset)"[^>]*value="([^"]*)"', page)
    body = re.sub(r"(?is)<(script|style|textarea|pre)\b.*?</\1>", " ", page)
    body = re.sub(r'(?is)<option[^>]*value="zh"[^>]*>.*?</option>', " ", body)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + " ".join(texts)).split())


def _links(page: str) -> list[str]:
    out: list[str] = []
    for href in re.findall(r'href="([^"#]*)"', page):
        href = html.unescape(href)
        if href.startswith("/") and not href.startswith("//") and not SKIP.search(href) and href not in out:
            out.append(href)
    return out


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path.split("?")[0])


def crawl(app, username: str) -> list[tuple[str, int, str]]:
    client = app.test_client()
    assert client.post("/login/", data={"username": username, "password": PASSWORDS[username]}).status_code == 302
    client.get("/lang/en")

    def get(path):
        response = client.get(path)
        if response.status_code in (301, 302, 308) and response.location.startswith("/") \
                and not SKIP.search(response.location):
            response = client.get(response.location)
        return response

    landing = get("/")
    pages = [("/", landing.status_code, landing.get_data(as_text=True))]
    seen, shapes = {"/"}, {"/"}
    queue = [(href, 1) for href in _links(pages[0][2]) + list(EXTRA)]
    while queue and len(pages) < MAX_PAGES:
        href, depth = queue.pop(0)
        if href in seen or (depth > 1 and _shape(href) in shapes):
            continue
        seen.add(href)
        shapes.add(_shape(href))
        response = get(href)
        body = response.get_data(as_text=True)
        pages.append((href, response.status_code, body))
        if depth == 1 and response.status_code == 200:
            queue += [(link, 2) for link in _links(body)]
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls, field = core.engine.cls, core.model.workflow.state_field
        stages = [pk for _, pk in core.db.session.execute(
            select(getattr(cls, field), func.min(cls.id)).group_by(getattr(cls, field)))]
        core.db.session.rollback()
    for pk in stages:
        href = f"/application/show/{pk}"
        if href not in seen:
            response = client.get(href)
            pages.append((href, response.status_code, response.get_data(as_text=True)))
    return pages


@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_role_reaches_reads_in_english(demo, username):
    allowed = user_data(demo)
    pages = crawl(demo, username)
    assert len(pages) >= 8, [p for p, _, _ in pages]
    assert any(p.startswith("/application/show/") and s == 200 for p, s, _ in pages)
    bad = {}
    for path, status, body in pages:
        if status != 200:
            continue
        text = visible(body)
        assert "YeKuoTong" in text, path
        for data in allowed:
            text = text.replace(data, " ")
        left = sorted(set(CJK.findall(text.replace(LANGUAGE_MENU, " "))))
        if left:
            bad[path] = left
    assert not bad, "\n".join(f"{p}: {w}" for p, w in bad.items())


def test_unit_names_are_english_wherever_a_unit_is_named(demo):
    """The unit list and page, the workbench, the deadline dashboard's unit column, a reference cell."""
    pages = {path: visible(body) for path, status, body in crawl(demo, "head") if status == 200}
    assert "Customer Service Center" in pages["/unit/list/"] and "Metering Center" in pages["/unit/list/"]
    assert "Unit: " in pages["/"] and re.search(r"Unit: (Customer Service Center|Supply Station|Marketing)", pages["/"])
    dashboard = pages["/sla/dashboard/"]
    assert "By unit" in dashboard and re.search(r"Customer Service Center|Supply Station", dashboard)
    for name in (u.name_zh for u in demo.extensions["yekuotong"].model.units):
        # (an application's free-text fields, e.g. survey participants, may name units as typed)
        assert not any(name in text for path, text in pages.items() if not path.startswith("/application/show/")), name
