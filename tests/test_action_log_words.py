"""操作日志 in words (app/security/audit_words.py): each kind of entry shows its details as Chinese
"key：value" lines, a model apply its version, remark, who applied it and a count of schema operations
(never the JSON kept in the row, the migration tool's text or `root@cli`), the channel 命令行/网页
(SQLite and PostgreSQL)."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from conftest import PASSWORDS

JSON_OR_TOOL = re.compile(r'[{}]|"\w+":|CreateIndexOp|create table|applied_by|@cli|\bcli\b|model apply')


def _text(body: str) -> str:
    body = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", body)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _admin(app):
    client = app.test_client()
    assert client.post("/login/", data={"username": "admin", "password": PASSWORDS["admin"]}).status_code == 302
    client.get("/lang/zh")
    return client


def _record(app, action: str, target: str, details: dict) -> int:
    from app.security import audit

    with app.app_context():
        entry = audit.record(action, target, details)
        return entry.id


def test_a_model_apply_reads_as_version_remark_applier_and_counts(app):
    from app.database.builtin import ModelRevision
    from app.security.audit import AuditEntry

    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        pk = session.scalars(select(AuditEntry.id).where(AuditEntry.action == "model.apply",
                                                         AuditEntry.details.like('%"number"%'))
                             .order_by(AuditEntry.id)).first()
        version = app.extensions["yekuotong"].model.version
        operations = session.scalars(select(ModelRevision.operations).order_by(ModelRevision.id)).first()
        session.rollback()
    tables = sum(op.startswith("create table ") for op in operations.splitlines())
    indexes = sum(op.startswith("CreateIndexOp ") for op in operations.splitlines())
    assert pk is not None  # the fixture's apply wrote version 1 and its schema operations
    admin = _admin(app)
    for path in (f"/actionlog/show/{pk}", "/actionlog/list/"):
        body = admin.get(path, headers={"Accept-Language": "zh"}).get_data(as_text=True)
        text = _text(body)
        assert f"模型版本：{version}" in text and "版本号：" in text and "备注：" in text, path
        assert "应用人：命令行" in text, path
        assert f"数据库结构变更：新建表 {tables} 张、新建索引 {indexes} 个" in text, path  # all, not the first 50
        assert "应用业务模型" in text and "命令行（" in text, path  # the action, who ran it (its account)
        assert not JSON_OR_TOOL.search(text), (path, JSON_OR_TOOL.search(text).group(0))


@pytest.mark.parametrize("action, details, lines", [
    ("user.edit", {"active": False, "roles": ["营销审核（auditor）"], "work_phone": "0376-3123456"},
     ["办公电话：0376-3123456", "角色：营销审核（auditor）", "状态：停用"]),
    ("user.locked", {"failures": 5, "until": "2026-11-30 10:15"}, ["连续密码错误次数：5", "锁定至：2026-11-30 10:15"]),
    ("fine.decide", {"action": "waive", "reason": "系统故障", "amount": "", "count": 2},
     ["处理结果：已免除", "金额：—", "原因：系统故障", "条数：2"]),
    ("fine.reverse", {"reason": "重复登记"}, ["原因：重复登记"]),
    ("calendar.edit", {"action": "workday", "name": "国庆调休"}, ["处理结果：调休上班日", "名称：国庆调休"]),
])
def test_each_kind_of_entry_reads_as_chinese_lines(app, action, details, lines):
    pk = _record(app, action, "对象", details)
    body = _admin(app).get(f"/actionlog/show/{pk}", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    shown = re.findall(r'<div class="ykt-detail">(.*?)</div>', body)
    assert [html.unescape(line) for line in shown] == lines
    assert not JSON_OR_TOOL.search(_text(body))
    assert "渠道 命令行" in _text(body)  # recorded outside a request: the command line


def test_the_words_themselves(app):
    from app.security import audit_words

    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert audit_words.actor("root@cli") == "命令行（root）"
        assert audit_words.actor("model apply") == "命令行"
        assert audit_words.actor("admin（系统 管理员）") == "admin（系统 管理员）"
        assert audit_words.channel("web") == "网页" and audit_words.channel("cli") == "命令行"
        ops = ["create table a", "create table b", "add column a.x", "CreateIndexOp on a", "drop column b.y",
               "change type of a.x from INTEGER to TEXT", "AddConstraintOp on b", "SomethingOp on c"]
        assert audit_words.schema_summary(ops) == ("新建表 2 张、新增字段 1 个、删除字段 1 个、修改字段类型 1 个、"
                                                   "新建索引 1 个、新增约束 1 个、其他变更 1 项")
        assert audit_words.schema_summary([]) == "无"
        assert audit_words.schema_counts(ops[:4]) == {"create table": 2, "add column": 1, "CreateIndexOp": 1}
        assert audit_words.schema_summary({"CreateIndexOp": 3, "create table": 1}) == "新建表 1 张、新建索引 3 个"
        assert audit_words.detail_lines('{"version": "1", "changes": ["create ta') == [("备注", "（内容过长，无法显示）")]
        assert audit_words.detail_lines("not json") == [("备注", "not json")]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from flask import session

        session["locale"] = "en"
        summary = audit_words.schema_summary(["create table a", "create table b", "CreateIndexOp on a"])
        assert summary == "2 tables created, 1 index created"


def test_model_versions_name_the_applier_and_count_schema_operations(app):
    """/versions/ and a version's page say who applied it (命令行 for `flask model apply`), and its
    schema operations as a count per kind; the migration tool's text only under 技术细节, collapsed."""
    admin = _admin(app)
    index = admin.get("/versions/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "由 命令行 于" in _text(index) and "model apply" not in _text(index)
    body = admin.get("/versions/1/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    outside = re.sub(r"(?is)<(details|pre)\b.*?</\1>", " ", body)  # and the model's source, shown as such
    assert re.search(r"新建表 \d+ 张、新建索引 \d+ 个", _text(outside)) and "由 命令行 于" in _text(outside)
    assert not re.search(r"create table|CreateIndexOp|model apply", _text(outside))
    details = re.search(r"(?is)<details\b[^>]*>\s*<summary>(.*?)</summary>(.*?)</details>", body)
    assert details and details.group(1).strip() == "技术细节" and "create table" in details.group(2)
    assert " open" not in body[details.start():details.start() + 40]  # collapsed
