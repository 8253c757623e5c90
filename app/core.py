"""The app's model-driven core: generated classes, screens, menus and workbench panels."""
from __future__ import annotations

import logging

from flask import Flask, url_for
import datetime as dt

from sqlalchemy import event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import relationship

from flask_babel import LazyString

from . import i18n
from .orm.builtin import NumberCounter
from .orm.generate import build_orm, class_name
from .orm.user import StaffUser

log = logging.getLogger(__name__)


class YeKuoTong:
    """Everything generated from one loaded model, kept on app.extensions['yekuotong']."""

    def __init__(self, app: Flask, loaded):
        self.loaded = loaded
        self.model = loaded.model
        self.orm = build_orm(loaded)
        self.db = None
        self.engine = None
        self.todo = None
        self.page_panels: list = []  # callables(row) -> Markup shown on the application page
        if self.model.workflow is not None:
            from .engine import Engine
            from .todo import Todo

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
        if getattr(target, "accepted_on", "absent") is None:
            target.accepted_on = dt.datetime.now(i18n.SHANGHAI).date()

    def next_number(self, session) -> str:
        return next_number(session.connection(), self.model.workflow.number_prefix)

    def extra_role_permissions(self) -> dict:
        """Screens every business role has besides its entities: the to-do queue."""
        if self.model.workflow is None:
            return {}
        extra = [("Todo", "can_list"), ("todo", "menu_access")]
        if self.model.timers:
            extra += [("SlaDashboard", "can_list"), ("sla_dashboard", "menu_access")]
        result = {role: list(extra) for role in self.model.roles}
        if self.model.fines:
            assessment = self.model.assessment
            for role in result:
                result[role] += [("Fines", "can_mine"), ("fines_mine", "menu_access"), ("assessment", "menu_access")]
                if assessment and role in assessment.decide:
                    result[role] += [("Fines", "can_decide"), ("fines_pending", "menu_access"),
                                     ("fines_incident", "menu_access"), ("fines_sanctions", "menu_access")]
                if assessment and role in assessment.summary:
                    result[role] += [("Fines", "can_summary"), ("fines_summary", "menu_access")]
                if assessment and role in assessment.unit_view:
                    result[role] += [("Fines", "can_unit"), ("fines_unit", "menu_access")]
        return result

    def register_views(self, appbuilder) -> None:
        from .views.generate import make_api, make_view

        wf = self.model.workflow
        if wf is not None:
            from .views.workflow import TodoView, WorkflowViewMixin, make_workflow_api

            appbuilder.add_view(TodoView, "todo", label=LazyString(self._todo_label), icon="fa-check-square-o")
            appbuilder.add_api(make_workflow_api(wf.entity))
        for key, entity in self.model.entities.items():
            menu = self.model.menus[entity.menu]
            bases = (WorkflowViewMixin,) if wf is not None and key == wf.entity else ()
            view = make_view(self.model, key, self.orm[key], bases=bases)
            appbuilder.add_view(view, key, label=i18n.label(entity), icon=entity.icon,
                                category=entity.menu, category_label=i18n.label(menu),
                                category_icon=menu.icon)
            appbuilder.add_api(make_api(self.model, key, self.orm[key]))

    def _todo_label(self) -> str:
        """Menu label with the count of waiting applications, computed per request."""
        from flask import g, has_request_context
        from flask_babel import gettext

        user = getattr(g, "user", None) if has_request_context() else None
        if user is None or not getattr(user, "is_authenticated", False):
            return gettext("My to-do")
        return f"{gettext('My to-do')} ({self.todo.count(user)})"

    def unit_name(self, user) -> str:
        unit = getattr(user, "unit", None)
        return unit.name if unit is not None else ""

    def workbench_panels(self, user) -> list[dict]:
        """One panel per entity the user's roles may list, with its row count."""
        from flask import current_app

        sm = current_app.appbuilder.sm
        panels = []
        session = self.db.session
        for key, entity in self.model.entities.items():
            if not sm.has_access("can_list", class_name(key)):
                continue
            count = session.execute(select(func.count()).select_from(self.orm[key])).scalar_one()
            panels.append({"title": i18n.label(entity), "count": count,
                           "url": url_for(f"{class_name(key)}View.list")})
        return panels


def next_number(connection, prefix: str) -> str:
    """YK + year + month + 4-digit sequence; the counter row lock serialises concurrent creators."""
    month = prefix + dt.datetime.now(i18n.SHANGHAI).strftime("%Y%m")
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(insert(NumberCounter).values(prefix=month, value=0).on_conflict_do_nothing())
    value = connection.execute(update(NumberCounter).where(NumberCounter.prefix == month)
                               .values(value=NumberCounter.value + 1)
                               .returning(NumberCounter.value)).scalar_one()
    return f"{month}{value:04d}"
