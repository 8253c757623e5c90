"""Schema changes by editing model.yaml: `flask model apply` keeps data and refuses to lose it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from conftest import database_url

BASE = open("model.yaml", encoding="utf-8").read()
NEW_FIELD = "      address: {type: string, label_zh: 联系地址"
ADDED = BASE.replace(NEW_FIELD, "      wechat: {type: string, label_zh: 微信号, label_en: WeChat, max_length: 40}\n" + NEW_FIELD, 1) \
    .replace("\nworkflow:\n", """
  complaint:
    label_zh: 客户投诉
    label_en: Complaint
    menu: customers
    fields:
      customer: {type: reference, to: customer, label_zh: 客户, label_en: Customer, required: true, list: true}
      content: {type: text, label_zh: 投诉内容, label_en: Content, required: true, list: true}
    permissions:
      clerk: [list, show, add]
      admin: [list, show, add, edit, delete]

workflow:
""", 1)


def apply(url: str, text: str, tmp_path, *flags: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"model-{abs(hash(text))}.yaml"
    path.write_text(text, encoding="utf-8")
    env = dict(os.environ, DATABASE_URL=url, MODEL_PATH=str(path), YKT_DEMO="1", BABEL_LOCALE="zh")
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "model", "apply", *flags],
                          capture_output=True, text=True, env=env, timeout=180)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path_factory):
    return database_url(request.param, tmp_path_factory, name="migrate")


def columns(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def sql(url: str, statement: str, **params):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return result.fetchall() if result.returns_rows else None
    finally:
        engine.dispose()


def test_adding_a_field_and_an_entity_keeps_data_then_dropping_is_refused(fresh_url, tmp_path):
    first = apply(fresh_url, BASE, tmp_path)
    assert first.returncode == 0, first.stderr
    sql(fresh_url, "INSERT INTO customer (name, customer_type, phone, address, licence_no) "
                   "VALUES ('老客户', 'residential', '13800000000', '旧地址', 'L-1')")

    added = apply(fresh_url, ADDED, tmp_path)
    assert added.returncode == 0, added.stderr
    assert "wechat" in columns(fresh_url, "customer")
    assert {"customer_id", "content"} <= columns(fresh_url, "complaint")
    assert sql(fresh_url, "SELECT name, licence_no FROM customer") == [("老客户", "L-1")]
    again = apply(fresh_url, ADDED, tmp_path)
    assert again.returncode == 0 and ("up to date" in again.stdout or "已是最新" in again.stdout)

    # Dropping a field that holds data is refused, names the field, and changes nothing.
    dropped = ADDED.replace("      licence_no: {type: string, label_zh: 营业执照号, label_en: Business licence no., max_length: 40}\n", "")
    assert dropped != ADDED
    refused = apply(fresh_url, dropped, tmp_path)
    assert refused.returncode == 1
    assert "customer.licence_no" in refused.stderr and "1" in refused.stderr
    assert "licence_no" in columns(fresh_url, "customer")

    # Narrowing a string that holds data is refused too.
    narrowed = ADDED.replace("address: {type: string, label_zh: 联系地址, label_en: Address, required: true, max_length: 200",
                             "address: {type: string, label_zh: 联系地址, label_en: Address, required: true, max_length: 2")
    assert narrowed != ADDED
    refused = apply(fresh_url, narrowed, tmp_path)
    assert refused.returncode == 1 and "customer.address" in refused.stderr

    # Dropping an entity with rows is refused; --force accepts the loss explicitly.
    sql(fresh_url, "INSERT INTO complaint (customer_id, content) SELECT id, '停电' FROM customer")
    refused = apply(fresh_url, dropped.replace(ADDED[ADDED.index("  complaint:"):ADDED.index("\nworkflow:")], ""), tmp_path)
    assert refused.returncode == 1 and "complaint" in refused.stderr
    forced = apply(fresh_url, dropped, tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "licence_no" not in columns(fresh_url, "customer")
    assert sql(fresh_url, "SELECT name FROM customer") == [("老客户",)]
    assert len(sql(fresh_url, "SELECT id FROM model_revision")) >= 3
