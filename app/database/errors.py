"""What a database error means for the user: a real conflict (409), storage trouble (503), a rule the
database enforces (422) — and the start-up check that the database and upload folder are writable."""
from __future__ import annotations

import logging
import os

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.database.integrity import is_refusal

log = logging.getLogger(__name__)

CONFLICT, UNAVAILABLE, REFUSED = "conflict", "unavailable", "refused"
# PostgreSQL SQLSTATEs of a lost race: lock timeout / NOWAIT, serialization failure, deadlock.
_CONFLICT_STATES = {"55P03", "40001", "40P01"}


def classify(exc: BaseException) -> str | None:
    """CONFLICT for a version check or lock that another writer won, REFUSED for a constraint or
    trigger, UNAVAILABLE for storage trouble (disk full, read-only, lost connection), else None."""
    if isinstance(exc, StaleDataError):
        return CONFLICT
    if isinstance(exc, IntegrityError) or is_refusal(exc):
        return REFUSED
    if isinstance(exc, DBAPIError):
        orig = getattr(exc, "orig", None)
        state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
        if state in _CONFLICT_STATES:
            return CONFLICT
        if isinstance(exc, OperationalError) and "database is locked" in str(orig):
            return CONFLICT
        return UNAVAILABLE
    return None


def _sqlite_writes(engine) -> bool:
    """Try a write that is rolled back (DDL is transactional on our SQLite connections)."""
    try:
        with engine.connect() as conn:
            with conn.begin() as tx:
                conn.exec_driver_sql("CREATE TABLE ykt_write_check (x INTEGER)")
                tx.rollback()
        return True
    except DBAPIError:
        return False


def unwritable(engine, upload_folder: str | None) -> list[str]:
    """Why the app could not save anything (empty when it can): checked once at start."""
    problems = []
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = url.database.removeprefix("file:").split("?")[0]
        if not os.path.exists(path):
            if not os.access(os.path.dirname(os.path.abspath(path)) or ".", os.W_OK):
                problems.append(f"the folder of the database file {path} is not writable")
        elif not _sqlite_writes(engine):
            problems.append(f"the database file {path} is read-only")
    else:
        try:
            with engine.connect() as conn:
                if conn.dialect.name == "postgresql" and conn.execute(
                        text("SHOW transaction_read_only")).scalar() == "on":
                    problems.append(f"the database {url.render_as_string(hide_password=True)} is read-only")
        except DBAPIError as exc:
            problems.append(f"the database {url.render_as_string(hide_password=True)} cannot be reached: "
                            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}")
    if upload_folder and not os.access(upload_folder, os.W_OK):
        problems.append(f"the upload folder {upload_folder} is not writable")
    return problems
