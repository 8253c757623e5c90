"""Bad input on generated screens and APIs: a clear message beside the field, nothing saved."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.model.formats import id_card_with_check_digit

GOOD_ID = id_card_with_check_digit("41152619900101123")


def count(app, key: str, **where) -> int:
    with app.app_context():
        core = app.extensions["yekuotong"]
        cls = core.orm[key]
        query = select(func.count()).select_from(cls)
        for name, value in where.items():
            query = query.where(getattr(cls, name) == value)
        return core.db.session.execute(query).scalar_one()


def customer_form(**overrides) -> dict:
    data = {"name": "测试客户", "customer_type": "residential", "id_card": GOOD_ID,
            "phone": "13812345678", "address": "潢川县跃进路1号"}
    data.update(overrides)
    return data


def error_near(html: str, field: str) -> str:
    """The error text FAB renders in the field's form group."""
    match = re.search(rf'id="{field}".*?<span class="help-block">(.*?)</span>', html, re.S)
    return match.group(1).strip() if match else ""


def test_missing_required_field_is_explained_in_chinese_and_nothing_saved(app, login):
    before = count(app, "customer")
    html = login("clerk").post("/customer/add", data=customer_form(name="")).get_data(as_text=True)
    assert "此字段为必填项" in html or "必填" in html
    assert count(app, "customer") == before


def test_bad_id_card_check_digit_is_refused(app, login):
    bad = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")
    before = count(app, "customer")
    html = login("clerk").post("/customer/add", data=customer_form(id_card=bad)).get_data(as_text=True)
    assert "身份证" in html and "校验" in html
    assert count(app, "customer") == before


def test_bad_mobile_number_is_refused(app, login):
    before = count(app, "customer")
    html = login("clerk").post("/customer/add", data=customer_form(phone="12345")).get_data(as_text=True)
    assert "手机号" in html
    assert count(app, "customer") == before


def test_valid_customer_is_saved(app, login):
    name = "新增测试客户甲"
    response = login("clerk").post("/customer/add",
                                   data=customer_form(name=name, id_card=id_card_with_check_digit("41152619850203777")))
    assert response.status_code == 302
    assert count(app, "customer", name=name) == 1


def test_unique_clash_is_a_message_not_a_500(app, login):
    client = login("admin")
    response = client.post("/unit/add", data={"code": "service_center", "name": "重复单位", "kind": "marketing"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "已经存在" in html
    assert count(app, "unit", name="重复单位") == 0


def test_api_rejects_bad_id_card_and_missing_required(app, login):
    client = login("clerk")
    before = count(app, "customer")
    response = client.post("/api/v1/customer/", json={"name": "接口客户", "customer_type": "residential",
                                                       "id_card": "123", "phone": "13812345678",
                                                       "address": "x"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["id_card"] == ["身份证号码为 18 位：前 17 位是数字，最后一位是数字或 X。"]
    response = client.post("/api/v1/customer/", json={"customer_type": "residential"})
    assert response.status_code == 422
    assert {"name", "phone", "address"} <= set(response.get_json()["errors"])
    assert count(app, "customer") == before


def test_api_rejects_unknown_choice(app, login):
    response = login("clerk").post("/api/v1/customer/", json={
        "name": "接口客户", "customer_type": "martian", "phone": "13812345678", "address": "x"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["customer_type"] == ["请从列出的选项中选择。"]
