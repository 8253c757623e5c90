"""Stored model versions (table ``model_revision``): numbered, with their text, who applied them,
when, why and the schema operations they ran. The newest version with a text is the active model
that every process serves (app/versions/follow.py picks a new one up without a restart)."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from app.database.builtin import ModelRevision

log = logging.getLogger(__name__)

ModelVersion = ModelRevision  # the mapped class; the table keeps its older name

_HAS_TEXT = ModelVersion.content.isnot(None)


def active(session) -> ModelVersion | None:
    """The version in force: the newest stored one with a text (None before the first versioned apply)."""
    return session.scalars(select(ModelVersion).where(_HAS_TEXT)
                           .order_by(ModelVersion.number.desc()).limit(1)).first()


def versions(session) -> list[ModelVersion]:
    """Every stored version, newest first (older rows without a text included)."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.number.desc().nulls_last(),
                                                              ModelVersion.id.desc())))


def get(session, number: int) -> ModelVersion | None:
    return session.scalars(select(ModelVersion).where(ModelVersion.number == number)).first()


def number_legacy_rows(conn: Connection) -> None:
    """Rows written before versions existed are numbered by their id (once, inside `model apply`)."""
    conn.execute(update(ModelVersion).where(ModelVersion.number.is_(None)).values(number=ModelVersion.id))


def next_number(conn: Connection) -> int:
    return (conn.execute(select(func.max(ModelVersion.number))).scalar() or 0) + 1


def active_on(conn: Connection):
    """(number, digest, content, applied_by, applied_at) of the active version read on ``conn``, or
    None — also when the table (or its version columns) does not exist yet."""
    if not _versioned(conn):
        return None
    t = ModelVersion.__table__
    return conn.execute(select(t.c.number, t.c.digest, t.c.content, t.c.applied_by, t.c.applied_on)
                        .where(t.c.content.isnot(None)).order_by(t.c.number.desc()).limit(1)).first()


def active_number(conn: Connection) -> int | None:
    row = active_on(conn)
    return row.number if row is not None else None


def _versioned(conn: Connection) -> bool:
    inspector = sa.inspect(conn)
    if not inspector.has_table("model_revision"):
        return False
    return {"number", "content"} <= {c["name"] for c in inspector.get_columns("model_revision")}


def active_text(url: str) -> tuple[int, str] | None:
    """(number, text) of the active version in the database at ``url``; None when there is none or
    the database cannot be read yet (then the app starts from MODEL_PATH)."""
    if url.startswith("sqlite") and url.rstrip("/") in ("sqlite:", "sqlite:///:memory:"):
        return None
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        if engine.dialect.name == "sqlite":
            import os

            path = engine.url.database
            if not path or not os.path.exists(path):
                return None
        with engine.connect() as conn:
            row = active_on(conn)
        return (row.number, row.content) if row is not None else None
    except sa.exc.SQLAlchemyError as exc:
        log.warning("could not read the active model version (%s); serving MODEL_PATH", exc)
        return None
    finally:
        engine.dispose()
