"""Issue 10, rows 4 and 5: row scope from model.yaml (`roles: <role>: scope:`).

Customer managers (own_or_unit) see and act on the cases they own or of their unit; unit heads (unit)
see their unit; clerks, auditors and metering (all) see every case. A case out of scope answers like a
missing one (404) in lists, pages, edits, the REST API, printing and steps; its documents and its
customer follow it. Unit head `head2` (supply station) sees only the supply station in the monthly
summary, its CSV and its PDF."""
from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from api_support import MONTH, api_app, api_login, as_json, case_of, core_of, ids, user_id  # noqa: F401
from app.security import scope


def numbers(app, pks) -> set[str]:
    with app.app_context():
        cls = core_of(app).orm["application"]
        return set(core_of(app).db.session.scalars(select(cls.number).where(cls.id.in_(list(pks)))))


def api_ids(client, key: str) -> set[int]:
    body = client.get(f"/api/v1/{key}/?q=(page_size:100)").get_json()
    assert body["count"] <= 100
    return set(body["ids"])


@pytest.fixture(scope="module")
def cases(api_app):
    mine, foreign = case_of(api_app, "manager2"), case_of(api_app, "manager")
    return SimpleNamespace(station=mine, center=foreign, all=set(ids(api_app, "application")))


def test_scope_kinds_from_the_model(api_app):
    model = core_of(api_app).model
    role = lambda name: SimpleNamespace(name=name)  # noqa: E731
    assert scope.kinds(model, SimpleNamespace(roles=[role("customer_manager")])) == {"own", "unit"}
    assert scope.kinds(model, SimpleNamespace(roles=[role("unit_head")])) == {"unit"}
    assert scope.kinds(model, SimpleNamespace(roles=[role("unit_head"), role("auditor")])) == {"all"}
    assert scope.kinds(model, SimpleNamespace(roles=[])) == set()
    assert scope.links(model) == {"document": ("child", ["application"]), "inspection_defect": ("child", ["application"]),
                                  "fee": ("child", ["application"]), "customer": ("parent", ["customer"])}


@pytest.mark.parametrize("username,sees", [("manager2", "station"), ("head2", "station"), ("manager", "center"),
                                           ("head", "center"), ("clerk", "all"), ("auditor", "all"),
                                           ("metering", "all")])
def test_lists_hold_the_cases_in_scope(api_app, api_login, cases, username, sees):
    client = api_login(username)
    listed = api_ids(client, "application")
    html = client.get("/application/list/?psize_ApplicationView=100").get_data(as_text=True)
    shown = set(re.findall(r"YK\d{10}", html))
    if sees == "all":
        assert listed == cases.all
    elif sees == "station":
        assert listed == {cases.station}
    else:
        assert cases.center in listed and cases.station not in listed and len(listed) == len(cases.all) - 1
    assert shown == numbers(api_app, listed)


def test_a_case_out_of_scope_is_not_found_anywhere(api_app, api_login, cases):
    client = api_login("manager2")
    pk = cases.center
    number = numbers(api_app, [pk]).pop()
    for url in (f"/application/show/{pk}", f"/application/edit/{pk}", f"/api/v1/application/{pk}",
                f"/print/application_form/{pk}", f"/api/v1/application/{pk}/forms"):
        response = client.get(url)
        assert response.status_code == 404 and number not in response.get_data(as_text=True), url
    with api_app.app_context():
        before = core_of(api_app).db.session.get(core_of(api_app).orm["application"], pk).description
    assert client.post(f"/application/edit/{pk}", data={"description": "越权修改"}).status_code == 404
    assert client.put(f"/api/v1/application/{pk}", json={"description": "越权修改"}).status_code == 404
    with api_app.app_context():
        assert core_of(api_app).db.session.get(core_of(api_app).orm["application"], pk).description == before
    assert client.get(f"/application/show/{cases.station}").status_code == 200


def test_documents_and_customers_follow_their_case(api_app, api_login, cases):
    client = api_login("manager2")
    own_docs, foreign_docs = ids(api_app, "document", application_id=cases.station), \
        ids(api_app, "document", application_id=cases.center)
    assert api_ids(client, "document") == set(own_docs)
    assert client.get(f"/document/show/{foreign_docs[0]}").status_code == 404
    assert client.get(f"/api/v1/document/{foreign_docs[0]}").status_code == 404
    assert client.put(f"/api/v1/document/{foreign_docs[0]}", json={"pages": 9}).status_code == 404
    with api_app.app_context():
        rows = core_of(api_app).db.session
        cls = core_of(api_app).orm["application"]
        own_customer = rows.get(cls, cases.station).customer_id
        foreign_customer = rows.get(cls, cases.center).customer_id
    assert api_ids(client, "customer") == {own_customer}
    assert client.get(f"/customer/show/{foreign_customer}").status_code == 404
    assert client.get(f"/api/v1/customer/{own_customer}").status_code == 200
    html = client.get("/document/list/").get_data(as_text=True)  # the case filter offers only their cases
    assert set(re.findall(r"YK\d{10}", html)) == numbers(api_app, [cases.station])


def test_steps_and_the_workflow_api_refuse_a_case_out_of_scope(api_app, api_login, cases):
    """The step engine (Engine._fire) and GET .../workflow ask app.security.scope.may_act."""
    client = api_login("manager2")
    with api_app.app_context():
        row = core_of(api_app).db.session.get(core_of(api_app).orm["application"], cases.center)
        stage, before = row.stage, row.lock_version
    stepped = client.post(f"/api/v1/application/{cases.center}/workflow/suspend",
                          json={"data": {"reason": "customer_request", "responsible_user": user_id(api_app, "manager2")}})
    assert stepped.status_code == 404 and stepped.get_json()["message"] == "未找到该申请。"
    assert client.get(f"/api/v1/application/{cases.center}/workflow").status_code == 404
    with api_app.app_context():
        row = core_of(api_app).db.session.get(core_of(api_app).orm["application"], cases.center)
        assert (row.stage, row.lock_version) == (stage, before)


# ------------------------------------------------------------------ row 5: the monthly summary
def summary_text(client, kind: str) -> str:
    fetch = client.post if kind == ".pdf" else client.get  # a print is made (and recorded) by POST
    response = fetch(f"/fines/summary{kind}?month={MONTH}")
    assert response.status_code == 200, kind
    if kind != ".pdf":
        # Without form inputs: a random CSRF token may hold any pair of letters (e.g. "A5").
        return re.sub(r"<input[^>]*>", "", response.get_data(as_text=True))
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


@pytest.mark.parametrize("kind", ["/", ".csv", ".pdf"])
def test_a_unit_head_sees_only_their_unit_in_the_monthly_summary(api_app, api_login, kind):
    station = summary_text(api_login("head2"), kind)
    assert "孙二经理" in station and "A13" in station and "A6" in station
    assert "王业扩" not in station and "A5" not in station and "A10" not in station
    center = summary_text(api_login("head"), kind)
    assert "王业扩" in center and "A10" in center and "孙二经理" not in center and "A13" not in center
    everyone = summary_text(api_login("auditor"), kind)
    assert all(word in everyone for word in ("孙二经理", "王业扩", "A13", "A10"))


def test_a_unit_summary_verifies_against_its_own_unit(api_app, api_login):
    from app.assessment.printing import AssessmentPrint

    assert api_login("head2").post(f"/fines/summary.pdf?month={MONTH}").status_code == 200
    with api_app.app_context():
        session = core_of(api_app).db.session
        record = session.scalars(select(AssessmentPrint).order_by(AssessmentPrint.id.desc())).first()
        head2 = api_app.appbuilder.sm.find_user(username="head2")
        assert record.unit_id == head2.unit_id and record.printed_by_id == head2.id
        assert api_app.extensions["ykt_printing"].verify(session, record.code).matches
    page = api_login("head2").get(f"/verify/{record.code}")
    assert page.status_code == 200 and as_json(page) is None
