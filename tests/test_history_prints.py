"""Issue 12, "creation, sub-record changes and prints appear in 流转记录": on the application page, the
acceptance, a document added, a printed form, a fine decided and its printed notice each have a row
in Chinese with who did it; asking to print (GET) adds none (SQLite and PostgreSQL)."""
from __future__ import annotations

import html
import re

import pytest

from test_forms_print import core_of, new_application, through_survey, user
from test_sla import at
from test_zh_crawl import problems

ZH = {"Accept-Language": "zh"}


def history(client, pk: int) -> list[str]:
    """The rows of 流转记录 on the application page, as text."""
    response = client.get(f"/application/show/{pk}", headers=ZH)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    section = body[body.rindex("<", 0, body.index('id="history"')):]
    section = section[:section.index("</table>")]
    assert not problems(section, f"/application/show/{pk}"), problems(section, f"/application/show/{pk}")
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
            for row in re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>", 1)[1], re.S)]


@pytest.fixture(scope="module")
def surveyed(app):
    """A shop's application past the site survey (its 现场勘查记录 printable), owned by the manager."""
    pk = new_application(app, name="流转记录打印测试商店")
    through_survey(app, pk)
    return pk


def names(app, *usernames) -> list[str]:
    with app.app_context():
        return [str(user(app, u)) for u in usernames]


def test_acceptance_and_a_document_added_are_in_the_history(app, login, surveyed):
    clerk, manager = names(app, "clerk", "manager")
    rows = history(login("manager"), surveyed)
    assert "受理（新建申请）" in rows[0] and clerk in rows[0]
    with app.app_context():
        core = core_of(app)
        from app.cases.records import acting_as

        with acting_as(core.db.session, user(app, "manager")):
            core.db.session.add(core.orm["document"](application_id=surveyed, kind="building_permit",
                                                     received=True, pages=1))
            core.db.session.commit()
    last = history(login("manager"), surveyed)[-1]
    assert "新增" in last and "报装资料" in last and manager in last


def test_a_printed_form_is_in_the_history(app, login, surveyed):
    client = login("manager")
    before = history(client, surveyed)
    asked = client.get(f"/print/survey_record/{surveyed}", headers=ZH)
    assert asked.status_code == 200 and 'id="print-confirm"' in asked.get_data(as_text=True)
    assert history(client, surveyed) == before  # asking is not printing
    printed = client.post(f"/print/survey_record/{surveyed}", headers=ZH)
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    rows = history(client, surveyed)
    assert len(rows) == len(before) + 1
    (manager,) = names(app, "manager")
    assert "打印" in rows[-1] and "现场勘查记录" in rows[-1] and manager in rows[-1] and "客户经理" in rows[-1]


def test_a_fine_decided_and_its_printed_notice_are_in_the_history(app, login, surveyed):
    with app.app_context():
        core = core_of(app)
        session = core.db.session
        number = session.get(core.engine.cls, surveyed).number
        auditor = user(app, "auditor")
        # August 2026: a month no other test sums up
        fine = core.ledger.record_incident(session, auditor, "attitude_no_complaint", user(app, "clerk").id,
                                           "客户反映受理时态度生硬", application_number=number,
                                           at=at("2026-08-12T10:00"))
        fine_id = fine.id
        core.ledger.decide(session, [fine_id], auditor, "confirm", at=at("2026-08-12T11:00"))
    client = login("auditor")
    decided = history(client, surveyed)[-1]
    assert "考核确认" in decided and f"#{fine_id}" in decided and "confirm" not in decided
    assert client.get(f"/fines/notice/{fine_id}", headers=ZH).status_code == 200  # asks only
    assert history(client, surveyed)[-1] == decided
    printed = client.post(f"/fines/notice/{fine_id}", headers=ZH)
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    last = history(client, surveyed)[-1]
    (name,) = names(app, "auditor")
    assert "打印" in last and f"考核通知单 #{fine_id}" in last and name in last and "营销审核" in last
