"""`model apply`: migrate the schema and install its triggers in one transaction, then make sure roles
and units from the model exist."""
from __future__ import annotations

import hashlib
import logging

from flask import current_app
from flask_appbuilder import Model
from sqlalchemy import func, insert, select, update

from app import events
from app.database import migrate
from app.database.builtin import ModelRevision

log = logging.getLogger(__name__)


def apply_model(force: bool = False, dry_run: bool = False) -> migrate.Plan:
    core = current_app.extensions["yekuotong"]
    with core.db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds altered tables (copy, drop, rename): with foreign keys enforced the drop
            # counts every referencing row as a violation. Off for this connection (only possible
            # outside a transaction), checked as a whole before commit, on again afterwards.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                result = _migrate(core, conn, force, dry_run)
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
    if dry_run or (result.losses and not force):
        return result
    seed_reference_data()
    events.model_applied.send(core, session=core.db.session)
    return result


def _migrate(core, conn, force: bool, dry_run: bool) -> migrate.Plan:
    """Plan and run the migration in the caller's transaction; raises (rolling all of it back) on a
    failing step or a foreign key the new schema breaks."""
    migrate.lock(conn)
    result = migrate.plan(conn, Model.metadata)
    if dry_run or (result.losses and not force):
        return result
    migrate.execute(conn, result.steps, Model.metadata)
    result.changes += migrate.complete(conn, Model.metadata,
                                       lambda: events.schema_migrated.send(core, connection=conn))
    _store_version(core, conn, result.changes)
    return result


def _store_version(core, conn, changes: list[str]) -> None:
    """Store the running app's model as the newest version when it is not the active one already
    (app/versions/apply.py is the full apply; this is the bootstrap of tests, demo and benches)."""
    table = ModelRevision.__table__
    active = conn.execute(select(table.c.digest).where(table.c.content.isnot(None))
                          .order_by(table.c.number.desc()).limit(1)).scalar()
    if active == core.loaded.digest and not changes:
        return
    content = current_app.config.get("MODEL_TEXT")
    if content is None:
        try:
            with open(core.loaded.filename, encoding="utf-8") as handle:
                content = handle.read()
        except OSError:
            content = None
    if content is not None and hashlib.sha256(content.encode("utf-8")).hexdigest()[:16] != core.loaded.digest:
        content = None  # the file changed since the app started: record the operations only
    conn.execute(update(ModelRevision).where(ModelRevision.number.is_(None)).values(number=ModelRevision.id))
    number = (conn.execute(select(func.max(table.c.number))).scalar() or 0) + 1
    conn.execute(insert(ModelRevision).values(
        number=number, digest=core.loaded.digest, version=core.model.version, content=content,
        applied_by="model apply", comment="", changes="\n".join(changes)))
    core.version_number = number if content is not None else core.version_number
    log.info("model %s applied as version %d: %d change(s)", core.model.version, number, len(changes))


def seed_reference_data() -> None:
    """Roles and units declared in the model; existing rows are left as they are."""
    core = current_app.extensions["yekuotong"]
    sm = current_app.appbuilder.sm
    for role in list(core.model.roles) + [sm.auth_role_public]:
        if sm.find_role(role) is None:
            sm.add_role(role)
    session = core.db.session
    unit_cls = core.orm["unit"]
    existing = set(session.scalars(select(unit_cls.code)))
    has_phone = "phone" in core.model.entities["unit"].fields
    for unit in core.model.units:
        if unit.key not in existing:
            extra = {"phone": unit.phone} if has_phone and unit.phone else {}
            session.add(unit_cls(code=unit.key, name=unit.name_zh, kind=unit.kind, **extra))
    session.commit()
