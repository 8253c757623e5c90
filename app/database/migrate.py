"""Bring the database to the model's schema with Alembic, refusing to lose data unless forced."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import Operations, ops
from sqlalchemy import String, func, inspect, select, table, column, text
from sqlalchemy.engine import Connection

from app.model.problems import N_
from app.database import builtin  # noqa: F401  (registers its tables on the metadata)

log = logging.getLogger(__name__)


@dataclass
class Plan:
    steps: list = field(default_factory=list)       # alembic operations, in order
    changes: list[str] = field(default_factory=list)  # human-readable, one per step
    losses: list[tuple[str, dict]] = field(default_factory=list)  # (template, params) of data lost



class MigrationError(RuntimeError):
    """A migration that cannot complete; the transaction is rolled back and nothing changed."""

def _flatten(upgrade_ops) -> list:
    out = []
    for op in upgrade_ops.ops:
        if isinstance(op, ops.ModifyTableOps):
            out.extend((op.table_name, sub) for sub in op.ops)
        else:
            out.append((getattr(op, "table_name", None), op))
    return out


def _count(conn: Connection, table_name: str, column_name: str | None = None) -> int:
    t = table(table_name, *( [column(column_name)] if column_name else []))
    query = select(func.count()).select_from(t)
    if column_name:
        query = query.where(t.c[column_name].isnot(None))
    return conn.execute(query).scalar_one()


def _narrowing(op: ops.AlterColumnOp) -> bool:
    old, new = op.existing_type, op.modify_type
    if isinstance(old, String) and isinstance(new, String):
        return (new.length or 0) < (old.length or 0)
    return type(old).__name__.lower() != type(new).__name__.lower()


def _for_dialect(dialect: str):
    """Leave out objects meant for another backend (info={"dialect": ...}: PostgreSQL's trigram indexes)."""
    def include(obj, _name, _type, _reflected, _compare_to) -> bool:
        wanted = getattr(obj, "info", {}).get("dialect")
        return wanted is None or wanted == dialect
    return include


def _trigram(op) -> bool:
    return isinstance(op, ops.CreateIndexOp) and "gin_trgm_ops" in str(op.kw.get("postgresql_ops", ""))


def _extensions(conn: Connection, steps: list) -> list:
    """pg_trgm before the first trigram index (a no-op when it is there already). A server without
    the extension (PostgreSQL's contrib not installed) gets the other steps and a warning: searches
    still work there, by scanning."""
    if not any(_trigram(op) for _table, op in steps):
        return steps
    available = conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if available is None:
        log.warning("pg_trgm is not available on this PostgreSQL server: trigram search indexes skipped")
        return [(table, op) for table, op in steps if not _trigram(op)]
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    return steps


def plan(conn: Connection, metadata) -> Plan:
    """Compare the database with the metadata and describe every step."""
    context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                    "include_object": _for_dialect(conn.dialect.name)})
    script = produce_migrations(context, metadata)
    result = Plan()
    for table_name, op in _flatten(script.upgrade_ops):
        if isinstance(op, ops.CreateTableOp):
            result.changes.append(f"create table {op.table_name}")
        elif isinstance(op, ops.AddColumnOp):
            result.changes.append(f"add column {table_name}.{op.column.name}")
        elif isinstance(op, ops.DropColumnOp):
            rows = _count(conn, table_name, op.column_name)
            result.changes.append(f"drop column {table_name}.{op.column_name}")
            if rows:
                result.losses.append((N_("dropping field {table}.{column} would lose its values in {rows} row(s)"),
                                      {"table": table_name, "column": op.column_name, "rows": rows}))
        elif isinstance(op, ops.DropTableOp):
            rows = _count(conn, op.table_name)
            result.changes.append(f"drop table {op.table_name}")
            if rows:
                result.losses.append((N_("dropping entity {table} would delete {rows} row(s)"),
                                      {"table": op.table_name, "rows": rows}))
        elif isinstance(op, ops.AlterColumnOp):
            if op.modify_type is None:
                continue  # nullability/default drift only: not a schema change we make
            result.changes.append(f"change type of {table_name}.{op.column_name} "
                                  f"from {op.existing_type} to {op.modify_type}")
            rows = _count(conn, table_name, op.column_name)
            if _narrowing(op) and rows:
                result.losses.append((N_("narrowing {table}.{column} from {old} to {new} may cut values in {rows} row(s)"),
                                      {"table": table_name, "column": op.column_name, "rows": rows,
                                       "old": str(op.existing_type), "new": str(op.modify_type)}))
        elif isinstance(op, (ops.CreateIndexOp, ops.DropIndexOp, ops.AddConstraintOp,
                             ops.DropConstraintOp)):
            result.changes.append(f"{type(op).__name__} on {table_name}")
        else:
            result.changes.append(f"{type(op).__name__} on {table_name}")
        result.steps.append((table_name, op))
    return result


def execute(conn: Connection, steps: list, metadata=None) -> None:
    """Run the steps in the caller's transaction; SQLite alters tables in batch (copy) mode."""
    if metadata is not None and conn.dialect.name == "postgresql":
        # Autogenerate does not compare sequences; FAB's tables take their ids from named ones.
        for sequence in metadata._sequences.values():
            sequence.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        steps = _extensions(conn, steps)
    operations = Operations(MigrationContext.configure(conn))
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        steps = _without_unnamed_drops(steps)
        # A batch step copies the table, drops it and renames the copy; SQLite >= 3.26 then re-reads
        # every trigger naming the table (the integrity triggers of app/database/integrity.py) and fails
        # between drop and rename. The legacy rename does not; receivers of schema_migrated recreate them.
        conn.exec_driver_sql("PRAGMA legacy_alter_table=ON")
    added: set[str] = set()  # tables that got a column: alembic creates an indexed column's index with it
    try:
        for table_name, op in steps:
            if isinstance(op, ops.AddColumnOp):
                added.add(table_name)
            elif isinstance(op, ops.CreateIndexOp) and table_name in added and _index_exists(conn, op):
                continue
            needs_batch = sqlite and isinstance(op, (ops.DropColumnOp, ops.AlterColumnOp,
                                                     ops.AddConstraintOp, ops.DropConstraintOp))
            if needs_batch:
                with operations.batch_alter_table(table_name) as batch:
                    batch.invoke(op)
            else:
                operations.invoke(op)
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA legacy_alter_table=OFF")


def _index_exists(conn: Connection, op: ops.CreateIndexOp) -> bool:
    return any(i["name"] == op.index_name for i in inspect(conn).get_indexes(op.table_name))


def _without_unnamed_drops(steps: list) -> list:
    """SQLite's foreign keys have no name, and batch mode cannot drop an unnamed constraint; the table
    rebuild of dropping its columns (a dropped reference field) leaves it out anyway. A foreign key
    added (a reference field added again) gets a name, as batch mode requires."""
    dropped = {(t, op.column_name) for t, op in steps if isinstance(op, ops.DropColumnOp)}

    def redundant(table_name, op) -> bool:
        if not isinstance(op, ops.DropConstraintOp) or op.constraint_name is not None:
            return False
        columns = [c.name for c in getattr(op.to_constraint(), "columns", [])]
        return bool(columns) and all((table_name, c) in dropped for c in columns)
    for table_name, op in steps:
        if isinstance(op, ops.CreateForeignKeyOp) and op.constraint_name is None:
            op.constraint_name = f"fk_{table_name}_{'_'.join(op.local_cols)}_{op.referent_table}"
    return [(t, op) for t, op in steps if not redundant(t, op)]


def lock(conn: Connection) -> None:
    """Two `model apply` at once (two machines deploying) must not interleave."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7460211)"))


def complete(conn: Connection, metadata, after_schema) -> list[str]:
    """After the planned steps: the second pass (foreign keys added after their tables, use_alter),
    then `after_schema()` (e.g. installing triggers), then on SQLite a check that no row refers to a
    missing one (raises MigrationError, rolling the caller's transaction back). Returns the second
    pass's changes."""
    late = plan(conn, metadata)
    if late.steps and not late.losses:
        execute(conn, late.steps, None)
    after_schema()
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise MigrationError(f"the migration would leave {len(broken)} row(s) referring to "
                                 f"missing rows (first: table {broken[0][0]}); nothing was changed")
    return late.changes if late.steps and not late.losses else []
