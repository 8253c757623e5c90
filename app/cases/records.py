"""The case record kept closed: creating a case is its acceptance step, and every change made outside
a workflow step (a generic edit, a document, defect or fee added, changed or removed) writes a
history row with who, when and before -> after — whatever path the write takes (screen, API, CLI).

One `before_flush` listener per process does the recording for whichever app is current; the engine
marks the session while it fires a step (it writes that step's history itself). Where changes are
allowed at all (a stage's `editable` fields, the stages of `workflow.records`, read-only closed
cases) is `ChangePolicy`, asked by the screens and APIs before they save.
"""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import gettext as _
from sqlalchemy import event, func, inspect, select, update as sa_update
from sqlalchemy.orm import Session

from app.database.types import now_utc

#: session.info key: the user a script or the engine acts as (requests use g.user).
ACTOR = "ykt_actor"
#: session.info key: set while the engine fires a step; its history is written by the engine.
IN_STEP = "ykt_in_step"


def json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "id"):
        return value.id
    return value


def acting_user(session):
    """Who makes the change: the user set on the session (scripts, demo data), else the request's."""
    actor = session.info.get(ACTOR)
    if actor is not None:
        return actor
    if has_request_context():
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user
    return None


@contextmanager
def acting_as(session, user):
    """Changes made in this block are recorded as `user`'s (scripts, imports, demo data)."""
    previous = session.info.get(ACTOR)
    session.info[ACTOR] = user
    try:
        yield
    finally:
        session.info[ACTOR] = previous


class ChangePolicy:
    """Which changes outside workflow steps a case allows now; every refusal in plain Chinese."""

    def __init__(self, core):
        self.core = core
        self.wf = core.model.workflow

    def is_closed(self, row) -> bool:
        stage = self.wf.stages.get(getattr(row, self.wf.state_field, None) or "")
        return bool(stage and stage.terminal)

    def editable(self, row) -> set[str]:
        """Fields a generic edit may change now: none before the case exists in a stage, the stage's
        `editable` list after, none when closed."""
        stage = self.wf.stages.get(getattr(row, self.wf.state_field, None) or "")
        return set() if stage is None or stage.terminal else set(stage.editable)

    def edit_refusals(self, row, names) -> dict[str, str]:
        """{field: why} for every field in `names` that a generic edit may not change now."""
        if self.is_closed(row):
            return {name: _("The application is closed (archived or cancelled) and cannot be changed.")
                    for name in names}
        allowed = self.editable(row)
        corrections = {f for c in self.wf.corrections for f in c.fields}
        result = {}
        for name in names:
            if name in allowed:
                continue
            if name in corrections:
                result[name] = _("This field changes only through a correction with a reason.")
            else:
                result[name] = _("This field cannot be changed at the current stage.")
        return result

    def record_refusal(self, entity_key: str, parent, roles: set[str]) -> str | None:
        """Why a document/defect/fee of `parent` may not be added, changed or removed now (None: it may)."""
        if parent is None:
            return _("The application does not exist.")
        if self.is_closed(parent):
            return _("The application is closed (archived or cancelled) and cannot be changed.")
        rule = self.wf.records.get(entity_key)
        if rule is None:
            return None
        stage = getattr(parent, self.wf.state_field)
        if rule.stages is not None and stage not in rule.stages:
            from app.i18n import punctuation

            labels = punctuation()["enum"].join(self._stage_label(s) for s in rule.stages)
            return _("These records can be changed only at: %(stages)s.", stages=labels)
        if rule.roles is not None and not (roles & set(rule.roles)) and "admin" not in roles:
            return _("Your role may not change these records.")
        return None

    def link_field(self, entity_key: str) -> str | None:
        """The field of a sub-record entity that names its case."""
        entity = self.core.model.entities.get(entity_key)
        if entity is None:
            return None
        return next((n for n, f in entity.fields.items() if f.type == "reference" and f.to == self.wf.entity), None)

    def _stage_label(self, key: str) -> str:
        return self.core.engine.stage_label(key)


class CaseRecorder:
    """Writes the history rows of changes made outside workflow steps (see the module docstring)."""

    def __init__(self, core):
        self.core = core
        self.policy = ChangePolicy(core)
        wf = core.model.workflow
        self.links = {key: self.policy.link_field(key) for key in core.model.entities
                      if key != wf.entity and self.policy.link_field(key)}

    # ------------------------------------------------------------------ the listener
    def before_flush(self, session: Session) -> None:
        if session.info.get(IN_STEP):
            return
        app_cls = self.core.engine.cls
        records = {self.core.orm[key]: key for key in self.links}
        for obj in list(session.new):
            if isinstance(obj, app_cls):
                self._accepted(session, obj)
            elif type(obj) in records:
                self._record_changed(session, obj, records[type(obj)], "add")
        for obj in list(session.dirty):
            if not session.is_modified(obj, include_collections=False):
                continue
            if isinstance(obj, app_cls):
                self._edited(session, obj)
            elif type(obj) in records:
                self._record_changed(session, obj, records[type(obj)], "edit")
        for obj in list(session.deleted):
            if type(obj) in records:
                self._record_changed(session, obj, records[type(obj)], "delete")

    # ------------------------------------------------------------------ what is written
    def _history(self, session, user, *, kind, trigger, stage_from, stage_to, comment=None, changes=None,
                 application=None, application_id=None, at=None):
        roles = sorted(r.name for r in getattr(user, "roles", []) or [])
        unit = getattr(user, "unit", None)
        history = self.core.orm["workflow_history"](
            user_id=getattr(user, "id", None), at=at or now_utc(), user_name=str(user) if user is not None else "",
            roles=",".join(roles), unit_name=unit.name if unit is not None else "", kind=kind, trigger=trigger,
            from_stage=stage_from, to_stage=stage_to, comment=comment,
            changes=json.dumps(changes, ensure_ascii=False) if changes else None)
        if application is not None:
            history.application = application
        else:
            history.application_id = application_id
        session.add(history)

    def _accepted(self, session, row) -> None:
        """The initial step: the case enters its first stage, accepted by whoever creates it."""
        wf = self.core.model.workflow
        user = acting_user(session)
        field = wf.accepted_by_field
        if field and user is not None and getattr(row, f"{field}_id", None) is None:
            setattr(row, f"{field}_id", user.id)
        initial = next(k for k, s in wf.stages.items() if s.initial)
        if not getattr(row, wf.state_field, None):
            setattr(row, wf.state_field, initial)
        values = {name: json_value(getattr(row, f"{name}_id" if f.type == "reference" else name, None))
                  for name, f in self.core.engine.entity.fields.items()}
        changes = {k: [None, v] for k, v in values.items() if v not in (None, "")}
        self._history(session, user, kind="create", trigger="accept", stage_from=None,
                      stage_to=getattr(row, wf.state_field), changes=changes, application=row,
                      at=getattr(row, "_created_at", None))

    def _edited(self, session, row) -> None:
        changes = field_changes(row, self.core.engine.entity.fields)
        if not changes:
            return
        stage = getattr(row, self.core.model.workflow.state_field)
        self._history(session, acting_user(session), kind="edit", trigger="edit", stage_from=stage,
                      stage_to=stage, changes=changes, application_id=row.id)

    def _record_changed(self, session, obj, key: str, action: str) -> None:
        link = self.links[key]
        fields = self.core.model.entities[key].fields
        if action == "edit":
            changes = field_changes(obj, fields)
            if not changes:
                return
        else:
            values = {name: json_value(getattr(obj, f"{name}_id" if f.type == "reference" else name, None))
                      for name, f in fields.items() if name != link}
            changes = {k: ([None, v] if action == "add" else [v, None]) for k, v in values.items()
                       if v not in (None, "")}
        parent_id = getattr(obj, f"{link}_id", None)
        parent = getattr(obj, link, None)
        if parent is None and parent_id is not None:
            parent = session.get(self.core.engine.cls, parent_id)
        if parent is None:
            return  # no case to record on: the reference check refuses such a row before saving
        stage = getattr(parent, self.core.model.workflow.state_field)
        # Records entered together with a backdated case (paper records, demo data) share its time;
        # a record may carry its own backdated time (`_recorded_at`: demo data).
        at = getattr(obj, "_recorded_at", None) or (getattr(parent, "_created_at", None) if parent_id is None else None)
        self._history(session, acting_user(session), kind="record", trigger=f"{action}_{key}",
                      stage_from=stage, stage_to=stage, changes=changes, at=at,
                      application=parent if parent_id is None else None,
                      application_id=parent_id)


def field_changes(obj, fields) -> dict[str, list]:
    """{field: [before, after]} of the model fields `obj` changes before its flush. A reference set
    through its relationship (as forms do) counts too: its id column moves only at the flush."""
    state = inspect(obj)
    changes = {}
    for name, spec in fields.items():
        attrs = [f"{name}_id", name] if spec.type == "reference" else [name]
        for attr in attrs:
            if attr not in state.attrs or not state.attrs[attr].history.has_changes():
                continue
            history = state.attrs[attr].history
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if attr == name and spec.type == "reference":  # related objects: compare their ids
                before, after = json_value(before), json_value(after)
            if before != after:
                changes[name] = [json_value(before), json_value(after)]
            break
    return changes


def has_history(session, core, app_id: int) -> bool:
    cls = core.orm["workflow_history"]
    return bool(session.execute(select(func.count()).select_from(cls).where(cls.application_id == app_id)).scalar())


def install_listener() -> None:
    """One listener per process; it serves whichever app is current (tests run several)."""
    if getattr(Session, "_ykt_case_recorder", False):
        return
    Session._ykt_case_recorder = True

    @event.listens_for(Session, "before_flush")
    def _before_flush(session, _context, _instances) -> None:
        if not has_app_context():
            return
        core = current_app.extensions.get("yekuotong")
        recorder = getattr(core, "recorder", None)
        if recorder is not None:
            recorder.before_flush(session)


def backfill_accepted_by(core, session) -> int:
    """Cases from before acceptance was recorded: the accepting clerk is whoever wrote their first
    history row (the clerk who forwarded them); cases without history stay empty (and are listed)."""
    field = core.model.workflow.accepted_by_field
    if not field:
        return 0
    cls, hist = core.engine.cls, core.orm["workflow_history"]
    first = (select(hist.user_id).where(hist.application_id == cls.id, hist.user_id.isnot(None))
             .order_by(hist.id).limit(1).scalar_subquery())
    column = getattr(cls, f"{field}_id")
    result = session.execute(sa_update(cls).where(column.is_(None)).values({column: first})
                             .execution_options(synchronize_session=False))
    session.commit()
    return max(result.rowcount or 0, 0)


def data_warnings(core, session) -> list[tuple[str, str]]:
    """(application number, what is wrong) for data the closed loop cannot vouch for."""
    field = core.model.workflow.accepted_by_field
    if not field:
        return []
    cls = core.engine.cls
    rows = session.execute(select(cls.number).where(getattr(cls, f"{field}_id").is_(None)).order_by(cls.id))
    return [(number, _("accepted by: not recorded")) for (number,) in rows]
