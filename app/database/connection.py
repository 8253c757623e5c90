"""How the app's connections behave: on SQLite, foreign keys enforced and DDL inside transactions;
on PostgreSQL, no JIT compilation.

pysqlite commits DDL as it goes in its default mode, so a failing `model apply` would leave half a
migration behind; SQLAlchemy's documented recipe hands transaction control to SQLAlchemy (driver
autocommit, an explicit BEGIN on every transaction) so that DDL rolls back like DML.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure(engine: Engine) -> None:
    """Idempotent: listeners are added once per engine."""
    if getattr(engine, "_ykt_configured", False):
        return
    if engine.dialect.name == "postgresql":
        engine._ykt_configured = True
        event.listen(engine, "connect", _postgres_session)
        return
    if engine.dialect.name != "sqlite":
        return
    engine._ykt_configured = True

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # "BEGIN IMMEDIATE" where a caller needs the write lock from the start (model apply)
        connection.exec_driver_sql(connection.info.get("ykt_begin", "BEGIN"))


def _postgres_session(dbapi_connection, _record) -> None:
    """No JIT compilation: the app's statements are short, but a plan over a million rows can be
    estimated above jit_above_cost, and compiling then costs 200-300 ms for a query that runs in 20
    (measured on the deadline dashboard at 100,000 applications). Committed so that it outlives the
    first transaction's rollback."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET jit = off")
    cursor.close()
    dbapi_connection.commit()
