"""The floor for workflow steps over HTTP (bench/scale.py): bare Flask + SQLAlchemy, no FAB, no model.
Each POST /step/<id> locks a row, updates it and inserts a history row in one transaction, on tables
of its own (bench_bare_case, bench_bare_history) in the benchmark database (BARE_DATABASE_URL)."""
from __future__ import annotations

import datetime as dt
import os

from flask import Flask, jsonify
from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, String, Table, create_engine, insert, select, update

metadata = MetaData()
case = Table("bench_bare_case", metadata, Column("id", Integer, primary_key=True),
             Column("stage", String(40), nullable=False), Column("lock_version", Integer, nullable=False))
history = Table("bench_bare_history", metadata, Column("id", Integer, primary_key=True),
                Column("case_id", Integer, ForeignKey("bench_bare_case.id"), nullable=False, index=True),
                Column("at", DateTime(timezone=True), nullable=False), Column("trigger", String(40)),
                Column("from_stage", String(40)), Column("to_stage", String(40)))
engine = create_engine(os.environ["BARE_DATABASE_URL"], pool_size=5)
metadata.create_all(engine)
app = Flask(__name__)


@app.get("/login/")
def ready():
    return "ok"


@app.get("/ids/<int:n>")
def ids(n: int):
    with engine.begin() as conn:
        rows = conn.execute(insert(case).returning(case.c.id), [{"stage": "a", "lock_version": 1}] * n).scalars()
        return jsonify(list(rows))


@app.post("/step/<int:pk>")
def step(pk: int):
    with engine.begin() as conn:
        row = conn.execute(select(case).where(case.c.id == pk).with_for_update()).one()
        conn.execute(update(case).where(case.c.id == pk).values(stage="b", lock_version=row.lock_version + 1))
        conn.execute(insert(history).values(case_id=pk, at=dt.datetime.now(dt.timezone.utc), trigger="forward",
                                            from_stage=row.stage, to_stage="b"))
    return jsonify({"ok": True})
