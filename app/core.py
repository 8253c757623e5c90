"""The app's state built from one loaded model: generated classes, the step engine, the to-do queue.

Kept on ``app.extensions['yekuotong']``; the capability packages hang their services on it
(``core.sla``, ``core.ledger``, ``core.printing``, ``core.calendar_service``) in ``create_app``.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import relationship

from app import i18n
from app.cases.engine import Engine
from app.cases.numbering import next_number
from app.generated.classes import build_orm
from app.portal.todo import Todo
from app.security.user import StaffUser

log = logging.getLogger(__name__)


class YeKuoTong:
    """Everything generated from one loaded model, kept on app.extensions['yekuotong']."""

    def __init__(self, app: Flask, loaded):
        self.loaded = loaded
        self.model = loaded.model
        self.orm = build_orm(loaded)
        self.db = None
        # The stored model version this app serves (None: started from MODEL_PATH, nothing stored yet).
        self.version_number: int | None = app.config.get("MODEL_VERSION_NUMBER")
        self.engine: Engine | None = None
        self.todo: Todo | None = None
        self.page_panels: list[Callable] = []  # callables(row) -> Markup shown on the application page
        # Services of the capability packages, set by their init_app (None when the model has no such part).
        self.printing = None  # app.printing.forms.Printing
        self.calendar_service = None  # app.deadlines.calendar_store.CalendarService
        self.sla = None  # app.deadlines.timers.Sla
        self.ledger = None  # app.assessment.ledger.Ledger
        self.recorder = None  # app.cases.records.CaseRecorder
        if self.model.workflow is not None:
            self.engine = Engine(self)
            self.todo = Todo(self)
        # The user's unit: added here because the unit class is generated from the model.
        StaffUser.__mapper__.add_property(
            "unit", relationship(self.orm["unit"], foreign_keys=[StaffUser.__table__.c.unit_id]))
        app.extensions["yekuotong"] = self
        wf = self.model.workflow
        if wf is not None and not getattr(self.orm[wf.entity], "_numbering", False):
            event.listen(self.orm[wf.entity], "before_insert", self._number_on_insert)
            self.orm[wf.entity]._numbering = True

    def _number_on_insert(self, _mapper, connection, target) -> None:
        if not target.number:
            target.number = next_number(connection, self.model.workflow.number_prefix)
        if getattr(target, "model_version", "absent") is None:
            # The version it was accepted under: the serving app's (the classes may be shared by apps).
            serving = current_app.extensions["yekuotong"] if has_app_context() else self
            target.model_version = serving.version_number
        if getattr(target, "accepted_on", "absent") is None:
            target.accepted_on = dt.datetime.now(i18n.SHANGHAI).date()

    def next_number(self, session) -> str:
        return next_number(session.connection(), self.model.workflow.number_prefix)

    def unit_name(self, user) -> str:
        return i18n.unit_name(getattr(user, "unit", None))  # in the request's language
