"""Issue 9, points 6 and 7, and issue 10, row 13: what the generated screens and APIs accept.

A reference must name a record that exists (and that the caller may see); texts, numbers and decimal
places stay within the model's limits; a database refusal is a Chinese sentence, never SQL. Each bad
input: the answer a user sees, and nothing saved. Same answers on SQLite and PostgreSQL."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from api_support import api_app, api_login, body_text, case_of, core_of, count, ids  # noqa: F401
from app.model import limits
from app.model.schema import Field

NO_SUCH = "所选记录不存在。"
SQL_WORDS = ("insert", "update ", "delete from", "constraint", "unique", "foreign key", "sqlite", "psycopg",
             "duplicate key", "detail:", "integrity")


def field_errors(html: str) -> list[str]:
    """The messages FAB shows beside form fields."""
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<div class="alert alert-danger">(.*?)</div>', html, re.S)]


def no_sql(text: str) -> bool:
    return not any(word in text.lower() for word in SQL_WORDS)


def capacity_of(app, pk: int) -> Decimal:
    with app.app_context():
        return core_of(app).db.session.get(core_of(app).orm["application"], pk).capacity_kw


# ------------------------------------------------------------------ the limits themselves (pure)
def test_limits_from_the_model():
    capacity = Field(type="decimal", label_zh="容量", label_en="Capacity", digits=10, places=2, min=Decimal("0.01"))
    assert limits.problem(capacity, Decimal("0.01")) is None and limits.problem(capacity, Decimal("99999999.99")) is None
    assert limits.problem(capacity, Decimal("0")) == ("At least %(min)s.", {"min": "0.01"})
    assert limits.problem(capacity, Decimal("100000000")) == ("At most %(max)s.", {"max": "99999999.99"})
    assert limits.problem(capacity, Decimal("1.005"))[1] == {"places": 2}
    assert limits.problem(capacity, Decimal("Infinity"))[0] == "Enter a finite number."
    assert limits.problem(capacity, float("nan"))[0] == "Enter a finite number."
    note = Field(type="text", label_zh="备注", label_en="Note")
    assert limits.problem(note, "x" * 2000) is None and limits.problem(note, "x" * 2001)[1] == {"n": 2000}
    pages = Field(type="integer", label_zh="页", label_en="Pages")
    assert limits.problem(pages, 2 ** 31)[1] == {"max": str(2 ** 31 - 1)}


# ------------------------------------------------------------------ references must exist
def test_an_unknown_reference_creates_nothing_by_api(api_app, api_login):
    client = api_login("admin")
    before = (count(api_app, "application"), count(api_app, "document"), count(api_app, "customer"))
    posted = client.post("/api/v1/document/", json={"application": 777777, "kind": "id_card_copy"})
    assert posted.status_code == 422 and posted.get_json()["errors"] == {"application": [NO_SUCH]}
    pk = ids(api_app, "application")[0]
    put = client.put(f"/api/v1/application/{pk}", json={"customer": 888888})
    assert put.status_code == 422 and put.get_json()["errors"] == {"customer": [NO_SUCH]}
    assert (count(api_app, "application"), count(api_app, "document"), count(api_app, "customer")) == before
    assert count(api_app, "application", id=777777) == 0 and count(api_app, "customer", id=888888) == 0


def test_an_unknown_reference_creates_nothing_by_screen(api_app, api_login):
    before = (count(api_app, "application"), count(api_app, "document"))
    page = api_login("clerk").post("/document/add", data={"application": "777777", "kind": "id_card_copy",
                                                          "received": "y", "pages": "1"})
    assert page.status_code == 200 and NO_SUCH in field_errors(page.get_data(as_text=True))
    assert (count(api_app, "application"), count(api_app, "document")) == before


def test_a_record_out_of_scope_cannot_be_referenced(api_app, api_login):
    """A customer manager of the supply station cannot attach a document to another unit's case."""
    foreign = case_of(api_app, "manager")
    before = count(api_app, "document", application_id=foreign)
    posted = api_login("manager2").post("/api/v1/document/", json={"application": foreign, "kind": "id_card_copy"})
    assert posted.status_code == 422 and posted.get_json()["errors"] == {"application": [NO_SUCH]}
    page = api_login("manager2").post("/document/add", data={"application": str(foreign), "kind": "id_card_copy"})
    assert NO_SUCH in field_errors(page.get_data(as_text=True))
    assert count(api_app, "document", application_id=foreign) == before


# ------------------------------------------------------------------ limits by API and by screen
BAD_CAPACITIES = [  # JSON value, expected message
    (1e400, "请输入有限的数值。"), ("Infinity", "请输入有限的数值。"), ("NaN", "请输入有限的数值。"),
    (-5, "不能小于 0.01。"), (0, "不能小于 0.01。"), (1.234, "最多 2 位小数。"),
    (123456789, "不能大于 99999999.99。"), ("1e30", "不能大于 99999999.99。"), (True, "请输入数值。"),
]


@pytest.mark.parametrize("value,message", BAD_CAPACITIES, ids=[str(v) for v, _ in BAD_CAPACITIES])
def test_a_capacity_out_of_bounds_is_422_and_nothing_changes(api_app, api_login, value, message):
    pk = ids(api_app, "application")[1]
    before = capacity_of(api_app, pk)
    response = api_login("admin").put(f"/api/v1/application/{pk}", json={"capacity_kw": value})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"capacity_kw": [message]}
    assert capacity_of(api_app, pk) == before


@pytest.mark.parametrize("value,message", [("1e400", "不能大于 99999999.99。"), ("Infinity", "请输入有限的数值。"),
                                           ("NaN", "请输入有限的数值。"), ("-5", "不能小于 0.01。"),
                                           ("1.234", "最多 2 位小数。")])
def test_a_capacity_out_of_bounds_is_refused_beside_the_field(api_app, api_login, value, message):
    customer = ids(api_app, "customer")[0]
    before = count(api_app, "application")
    page = api_login("clerk").post("/application/add", data={
        "customer": str(customer), "business_type": "new", "customer_type": "residential",
        "address": "潢川县测试路1号", "capacity_kw": value})
    assert page.status_code == 200 and message in field_errors(page.get_data(as_text=True))
    assert count(api_app, "application") == before


def test_texts_and_whole_numbers_keep_to_their_limits(api_app, api_login):
    client = api_login("admin")
    pk = ids(api_app, "application")[0]
    long_note = client.put(f"/api/v1/application/{pk}", json={"description": "说" * 1001})
    assert long_note.status_code == 422 and long_note.get_json()["errors"] == {"description": ["最多 1000 个字符。"]}
    before = count(api_app, "document")
    for pages, message in ((0, "不能小于 1。"), (10 ** 12, "不能大于 999。"), (True, "请输入整数。"), ("2.5", "请输入整数。")):
        response = client.post("/api/v1/document/", json={"application": pk, "kind": "id_card_copy", "pages": pages})
        assert response.status_code == 422 and response.get_json()["errors"] == {"pages": [message]}, pages
    defect = {"application": str(pk), "inspection": "intermediate", "description": "缺" * 2001,
              "rectify_by": "2026-12-01"}
    page = api_login("auditor").post("/inspection_defect/add", data=defect)
    assert "最多 2000 个字符。" in field_errors(page.get_data(as_text=True))
    assert count(api_app, "document") == before and count(api_app, "inspection_defect", description="缺" * 2001) == 0


def test_a_body_that_is_not_an_object_is_400(api_app, api_login):
    response = api_login("admin").post("/api/v1/customer/", json=[1, 2])
    assert response.status_code == 400 and response.get_json()["message"] == "请发送一个 JSON 对象。"
    unknown = api_login("admin").put(f"/api/v1/application/{ids(api_app, 'application')[0]}", json={"stage": "archive"})
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {"stage": ["不接受此字段。"]}


# ------------------------------------------------------------------ database refusals in words
def test_a_duplicate_value_is_named_and_not_saved(api_app, api_login):
    with api_app.app_context():
        taken = core_of(api_app).db.session.get(core_of(api_app).orm["customer"], ids(api_app, "customer")[0]).id_card
    body = {"name": "重号客户", "customer_type": "residential", "phone": "13800000001", "address": "某路1号",
            "id_card": taken}
    response = api_login("clerk").post("/api/v1/customer/", json=body)
    assert response.status_code == 422 and response.get_json()["errors"] == {"id_card": ["该值已被其他记录使用。"]}
    assert count(api_app, "customer", name="重号客户") == 0


def test_a_race_on_a_unique_value_is_a_sentence_not_sql(api_app, api_login, monkeypatch):
    """The database's own refusal (the check before it lost a race) reaches nobody as SQL."""
    from app.generated.views.schemas import WriteSchema

    monkeypatch.setattr(WriteSchema, "_taken", lambda self, name, value, instance: False)
    with api_app.app_context():
        taken = core_of(api_app).db.session.get(core_of(api_app).orm["customer"], ids(api_app, "customer")[0]).id_card
    body = {"name": "竞争客户", "customer_type": "residential", "phone": "13800000002", "address": "某路2号",
            "id_card": taken}
    response = api_login("clerk").post("/api/v1/customer/", json=body)
    assert response.status_code == 422 and response.get_json()["message"].startswith("数据库拒绝了本次修改")
    assert no_sql(body_text(response)) and count(api_app, "customer", name="竞争客户") == 0


def test_deleting_a_referenced_record_is_refused_in_words(api_app, api_login):
    customer = ids(api_app, "customer")[0]
    response = api_login("admin").delete(f"/api/v1/customer/{customer}")
    assert response.status_code == 422
    assert response.get_json()["message"] == "仍有其他记录引用该记录（用电申请 1 条），未删除。"
    page = api_login("admin").post(f"/customer/delete/{customer}", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert "仍有其他记录引用该记录" in html and no_sql(html.split("<body", 1)[-1].split("<footer")[0])
    assert count(api_app, "customer", id=customer) == 1
    unit = ids(api_app, "unit")[0]
    refused = api_login("admin").delete(f"/api/v1/unit/{unit}")
    assert refused.status_code == 422 and "用户" in refused.get_json()["message"] and no_sql(body_text(refused))
