"""Database triggers for what must never happen, whatever path a write takes (ORM, bulk UPDATE, SQL):
evidence rows written once, decided rows frozen. Installed by `model apply`, idempotently."""
from __future__ import annotations

from sqlalchemy.engine import Connection

#: The message the database raises; the web layer translates it (no SQL text reaches a user).
REFUSED = "ykt-integrity: {table} rows are {what}"


def protect(conn: Connection, table: str, *, frozen_when: str | None = None) -> None:
    """Refuse UPDATE and DELETE on `table`; with `frozen_when` (an SQL condition on OLD), only on the
    rows it matches (e.g. "OLD.status <> 'proposed'": decided rows)."""
    what = "frozen once decided" if frozen_when else "append-only"
    message = REFUSED.format(table=table, what=what)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION ykt_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'integrity_constraint_violation'; "
            "END $$")
        when = f" WHEN ({frozen_when})" if frozen_when else ""
        conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS ykt_protect_{table} ON "{table}"')
        conn.exec_driver_sql(
            f'CREATE TRIGGER ykt_protect_{table} BEFORE UPDATE OR DELETE ON "{table}" FOR EACH ROW{when} '
            f"EXECUTE FUNCTION ykt_refuse_change('{message}')")
        return
    when = f" WHEN {frozen_when}" if frozen_when else ""
    for action in ("UPDATE", "DELETE"):
        name = f"ykt_protect_{table}_{action.lower()}"
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(f'CREATE TRIGGER {name} BEFORE {action} ON "{table}"{when} '
                             f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def is_refusal(exc: BaseException) -> bool:
    """Whether a database error is one of these triggers refusing a change."""
    return "ykt-integrity:" in str(getattr(exc, "orig", exc))


def reference(conn: Connection, child: str, column: str, parent: str) -> None:
    """`child.column` must name an existing `parent` row, and a parent so named cannot be deleted:
    a foreign key, as triggers (the parent table is named by the model, not known to the ORM class)."""
    message = REFUSED.format(table=child, what=f"bound to existing {parent} rows")
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION ykt_check_reference() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "DECLARE found boolean; BEGIN "
            "IF TG_OP = 'DELETE' THEN "
            "  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %%I WHERE %%I = $1)', TG_ARGV[0], TG_ARGV[1]) "
            "    INTO found USING OLD.id; "
            "  IF found THEN RAISE EXCEPTION USING MESSAGE = TG_ARGV[2], ERRCODE = 'foreign_key_violation'; END IF; "
            "  RETURN OLD; END IF; "
            "EXECUTE format('SELECT $1.%%I IS NULL OR EXISTS (SELECT 1 FROM %%I WHERE id = $1.%%I)', "
            "  TG_ARGV[1], TG_ARGV[0], TG_ARGV[1]) INTO found USING NEW; "
            "IF NOT found THEN RAISE EXCEPTION USING MESSAGE = TG_ARGV[2], ERRCODE = 'foreign_key_violation'; END IF; "
            "RETURN NEW; END $$")
        conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS ykt_ref_{child}_{column} ON "{child}"')
        conn.exec_driver_sql(
            f'CREATE TRIGGER ykt_ref_{child}_{column} BEFORE INSERT OR UPDATE OF "{column}" ON "{child}" '
            f"FOR EACH ROW EXECUTE FUNCTION ykt_check_reference('{parent}', '{column}', '{message}')")
        conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS ykt_ref_{child}_{column}_parent ON "{parent}"')
        conn.exec_driver_sql(
            f'CREATE TRIGGER ykt_ref_{child}_{column}_parent BEFORE DELETE ON "{parent}" '
            f"FOR EACH ROW EXECUTE FUNCTION ykt_check_reference('{child}', '{column}', '{message}')")
        return
    missing = f'NEW."{column}" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "{parent}" WHERE id = NEW."{column}")'
    for name, timing, when in (
            (f"ykt_ref_{child}_{column}_insert", f'BEFORE INSERT ON "{child}"', missing),
            (f"ykt_ref_{child}_{column}_update", f'BEFORE UPDATE OF "{column}" ON "{child}"', missing),
            (f"ykt_ref_{child}_{column}_parent", f'BEFORE DELETE ON "{parent}"',
             f'EXISTS (SELECT 1 FROM "{child}" WHERE "{column}" = OLD.id)')):
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE TRIGGER {name} {timing} WHEN {when} BEGIN SELECT RAISE(ABORT, '{message}'); END")
