"""`model apply`: migrate the schema, then make sure roles and units from the model exist."""
from __future__ import annotations

import logging

from flask import current_app
from flask_appbuilder import Model
from sqlalchemy import insert, select

from app import events
from app.database import migrate
from app.database.builtin import ModelRevision

log = logging.getLogger(__name__)


def apply_model(force: bool = False, dry_run: bool = False) -> migrate.Plan:
    core = current_app.extensions["yekuotong"]
    with core.db.engine.begin() as conn:
        migrate.lock(conn)
        result = migrate.plan(conn, Model.metadata)
        if dry_run or (result.losses and not force):
            return result
        migrate.execute(conn, result.steps, Model.metadata)
        if result.changes:
            conn.execute(insert(ModelRevision).values(
                digest=core.loaded.digest, version=core.model.version,
                changes="\n".join(result.changes)))
            log.info("model %s applied: %d change(s)", core.model.version, len(result.changes))
    seed_reference_data()
    events.model_applied.send(core, session=core.db.session)
    return result


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
    for unit in core.model.units:
        if unit.key not in existing:
            session.add(unit_cls(code=unit.key, name=unit.name_zh, kind=unit.kind))
    session.commit()
