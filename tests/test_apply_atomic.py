"""`model apply` is one transaction on both backends: when a later step fails, the earlier ones are
undone and the active model (model_revision) is the one before — pysqlite would otherwise have
committed each DDL statement as it went."""
from __future__ import annotations

import pytest

from test_migrate import ADDED, BASE, apply, columns, fresh_url, sql  # noqa: F401  (fixture)

PHONE = "      phone: {type: string, label_zh: 联系电话, label_en: Phone, required: true, format: mobile, max_length: 20,"


def test_a_failing_step_leaves_schema_and_active_model_as_before(fresh_url, tmp_path):
    first = apply(fresh_url, BASE, tmp_path)
    assert first.returncode == 0, first.stderr
    revisions = len(sql(fresh_url, "SELECT id FROM model_revision"))
    before = columns(fresh_url, "customer")
    for name in ("甲", "乙"):  # two customers sharing a phone: a unique phone cannot be created
        sql(fresh_url, "INSERT INTO customer (name, customer_type, phone, address) "
                       "VALUES (:n, 'residential', '13800000000', '同一地址')", n=name)
    assert PHONE in ADDED
    # Adds a column and a table first, then fails on the unique constraint over duplicate phones.
    failing = ADDED.replace(PHONE, PHONE.replace("required: true,", "required: true, unique: true,"), 1)
    result = apply(fresh_url, failing, tmp_path)
    assert result.returncode != 0
    assert columns(fresh_url, "customer") == before  # the new 'wechat' column is gone again
    assert "wechat" not in columns(fresh_url, "customer")
    with pytest.raises(Exception):
        sql(fresh_url, "SELECT count(*) FROM complaint")  # the new table was never committed
    assert len(sql(fresh_url, "SELECT id FROM model_revision")) == revisions
    assert sql(fresh_url, "SELECT count(*) FROM customer") == [(2,)]
