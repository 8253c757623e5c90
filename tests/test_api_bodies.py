"""Issue 10, row 1: in every REST API answer a related user or record is `{"id", "name"}` only, and
no body holds a password hash or a field the model marks private (ID numbers, phones, addresses).
Every API route as every role is walked by tests/test_matrix.py; here, the ways a body could widen."""
from __future__ import annotations

from api_support import api_app, api_login, body_text, core_of, case_of, leaks, private_values, user_id  # noqa: F401


def test_a_related_user_or_record_is_its_id_and_name(api_app, api_login):
    pk = case_of(api_app, "manager")
    response = api_login("metering").get(f"/api/v1/application/{pk}")
    assert response.status_code == 200
    body = response.get_json()["result"]
    assert body["owner"] == {"id": user_id(api_app, "manager"), "name": "李经理"}
    assert set(body["customer"]) == {"id", "name"} and body["customer"]["name"]
    assert "address" not in body and "password" not in response.get_data(as_text=True)
    listed = api_login("metering").get("/api/v1/application/?q=(page_size:100)").get_json()["result"]
    owners = [row["owner"] for row in listed if row.get("owner")]
    assert owners and all(set(owner) == {"id", "name"} for owner in owners)


def test_columns_in_q_cannot_widen_a_body(api_app, api_login):
    client = api_login("admin")
    for q in ("(columns:!(owner,customer,address))", "(columns:!(owner.password,owner.email))",
              "(select_columns:!(owner,customer))"):
        response = client.get(f"/api/v1/application/?q={q}")
        text = body_text(response)
        assert response.status_code == 200 and leaks(text, private_values(api_app)) == [], q
        assert "email" not in text and "login_count" not in text


def test_a_new_customer_is_accepted_but_its_private_fields_are_never_echoed(api_app, api_login):
    client = api_login("clerk")
    sent = {"name": "回显测试客户", "customer_type": "residential", "phone": "13712340001",
            "id_card": "110101199003074514", "address": "潢川县回显路1号"}
    created = client.post("/api/v1/customer/", json=sent)
    assert created.status_code == 201, created.get_json()
    text = body_text(created)
    assert all(sent[k] not in text for k in ("phone", "id_card", "address")) and "回显测试客户" in text
    pk = created.get_json()["id"]
    with api_app.app_context():
        row = core_of(api_app).db.session.get(core_of(api_app).orm["customer"], pk)
        assert (row.phone, row.id_card, row.address) == (sent["phone"], sent["id_card"], sent["address"])
    changed = client.put(f"/api/v1/customer/{pk}", json={"address": "潢川县回显路2号"})
    assert changed.status_code == 200 and "回显路" not in body_text(changed)
    shown = client.get(f"/api/v1/customer/{pk}").get_json()["result"]
    assert shown["name"] == "回显测试客户" and not {"phone", "id_card", "address"} & set(shown)


def test_private_fields_are_neither_filters_nor_orderings(api_app, api_login):
    """A prefix filter on an ID number would tell, one digit at a time, whose number it is."""
    client = api_login("admin")
    by_id = client.get("/api/v1/customer/?q=(filters:!((col:id_card,opr:sw,value:'4115')))")
    assert by_id.status_code == 400 and by_id.get_json()["message"] == "筛选条件无效。"
    ordered = client.get("/api/v1/customer/?q=(order_column:phone,order_direction:asc)")
    assert ordered.status_code == 400 and "phone" in ordered.get_json()["message"]
    info = client.get("/api/v1/customer/_info").get_json()
    assert "id_card" not in info["filters"] and "phone" not in info["filters"]
