"""Issue 10, rows 12 and 17: bad list arguments, ids and page numbers on the generated screens and
APIs are 400/404 with a Chinese message (never a 500, never a long traceback in the log); a page holds
at most 100 rows; lists are ordered only by their listed columns."""
from __future__ import annotations

import logging
import re

import pytest

from api_support import api_app, api_login, count  # noqa: F401

API_BAD = [  # q, status, message
    ("(((((", 400, "查询参数 q 不是有效的 Rison 或 JSON。"),
    ("(page:99999999999999999999)", 400, "页码太大（最多 100000）。"),
    ("(page:-1)", 400, "页码或每页条数无效。"),
    ("(page_size:0)", 400, "页码或每页条数无效。"),
    ("(page:1.5)", 400, "查询参数 q 在“page”处无效。"),
    ("(order_column:owner.password)", 400, "列表不能按“owner.password”排序。"),
    ("(order_column:customer_type,order_direction:sideways)", 400, "查询参数 q 在“order_direction”处无效。"),
    ("(filters:!((col:customer,opr:rel_o_m,value:abc)))", 400, "请按整数筛选。"),
    ("(filters:!((col:customer,opr:rel_o_m,value:99999999999999)))", 400, "请按整数筛选。"),
    ("(filters:!((col:number,opr:nope,value:x)))", 400, "筛选条件无效。"),
    ("(filters:!((col:capacity_kw,opr:gt,value:1)))", 400, "筛选条件无效。"),
    ("(filters:!((col:number,opr:sw)))", 400, "查询参数 q 在“filters.0”处无效。"),
    ("!(1,2)", 400, "查询参数 q 必须是一个对象，例如 q=(page:0,page_size:25)。"),
    ("(bogus:1)", 400, "查询参数 q 不接受“bogus”。"),
    ("(" * 5000, 400, "查询参数 q 不是有效的 Rison 或 JSON。"),
]
SCREEN_BAD = [  # query string of /application/list/, status, message
    ("page_ApplicationView=99999999999999999999", 400, "页码太大（最多 100000）。"),
    ("page_ApplicationView=-1", 400, "页码或每页条数无效。"),
    ("page_ApplicationView=abc", 400, "页码或每页条数无效。"),
    ("psize_ApplicationView=0", 400, "页码或每页条数无效。"),
    ("_oc_ApplicationView=owner.password&_od_ApplicationView=asc", 400, "列表不能按“owner.password”排序。"),
    ("_oc_ApplicationView=number&_od_ApplicationView=sideways", 400, "排序方向只能是 asc（升序）或 desc（降序）。"),
    ("_flt_0_customer=abc", 400, "请按整数筛选。"),
    ("_flt_99_number=x", 400, "筛选条件无效。"),
    ("_flt_0_number=" + "x" * 300, 400, "筛选条件的值太长（最多 200 个字符）。"),
]
NOT_FOUND = ["/application/show/abc", "/application/show/99999999999999999999", "/application/edit/0",
             "/customer/show/-1", "/application/action/bogus/1", "/api/v1/application/99999999999999999999",
             "/document/download/..%2F..%2Fconfig.py", "/document/download/nothing_sep_here.pdf"]


def page_message(html: str) -> str:
    found = re.search(r'id="error-message">(.*?)<', html, re.S)
    return found.group(1).strip() if found else ""


@pytest.fixture()
def log_records(caplog):
    caplog.set_level(logging.INFO)
    yield caplog
    for record in caplog.records:
        assert record.levelno < logging.ERROR, record.getMessage()[:300]
        assert len(record.getMessage()) < 8000 and not record.exc_info, record.getMessage()[:300]


@pytest.mark.parametrize("q,status,message", API_BAD, ids=[q[:40] for q, _, _ in API_BAD])
def test_a_bad_api_query_is_refused_in_chinese(api_app, api_login, log_records, q, status, message):
    response = api_login("admin").get("/api/v1/application/", query_string={"q": q})
    assert (response.status_code, response.get_json()["message"]) == (status, message)


@pytest.mark.parametrize("query,status,message", SCREEN_BAD, ids=[q[:40] for q, _, _ in SCREEN_BAD])
def test_a_bad_list_argument_is_refused_in_chinese(api_app, api_login, log_records, query, status, message):
    response = api_login("admin").get(f"/application/list/?{query}")
    assert response.status_code == status and page_message(response.get_data(as_text=True)) == message


def test_ids_no_record_can_have_are_404(api_app, api_login, log_records):
    client = api_login("admin")
    for url in NOT_FOUND:
        assert client.get(url).status_code == 404, url
    assert client.put("/api/v1/application/abc", json={}).status_code == 404
    assert client.delete("/api/v1/customer/0").status_code == 404
    assert client.post("/application/action_post", data={"action": "bogus", "rowid": "1"}).status_code == 404
    refused = client.get("/api/v1/application/99999999999999999999")
    assert refused.get_json()["message"] == "未找到：此地址没有内容。"


def test_a_page_holds_at_most_100_rows(api_app, api_login):
    assert count(api_app, "document") > 100
    client = api_login("admin")
    api = client.get("/api/v1/document/?q=(page_size:1000000)").get_json()
    assert len(api["result"]) == 100 and api["count"] == count(api_app, "document")
    html = client.get("/document/list/?psize_DocumentView=1000000").get_data(as_text=True)
    assert len(set(re.findall(r'/document/show/(\d+)', html))) == 100


def test_lists_order_only_by_listed_columns(api_app, api_login):
    client = api_login("admin")
    ordered = client.get("/api/v1/application/?q=(order_column:number,order_direction:asc)").get_json()
    numbers = [row["number"] for row in ordered["result"]]
    assert numbers == sorted(numbers) and "address" not in ordered["order_columns"]
    assert "owner" not in ordered["order_columns"]  # a related column would sort by whatever FAB joins
    page = client.get("/application/list/?_oc_ApplicationView=number&_od_ApplicationView=asc")
    assert page.status_code == 200
