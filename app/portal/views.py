"""The workbench (工作台), each role's home page after login, and the to-do queue (我的待办)."""
from __future__ import annotations

from flask import current_app, g, has_request_context, redirect, url_for
from flask_appbuilder import BaseView, IndexView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import i18n
from app.model.naming import class_name


def _core():
    return current_app.extensions["yekuotong"]


def workbench_panels(core, user) -> list[dict]:
    """One panel per entity the user's roles may list, with its row count."""
    sm = current_app.appbuilder.sm
    panels = []
    session = core.db.session
    for key, entity in core.model.entities.items():
        if not sm.has_access("can_list", class_name(key)):
            continue
        count = session.execute(select(func.count()).select_from(core.orm[key])).scalar_one()
        panels.append({"title": i18n.label(entity), "count": count,
                       "url": url_for(f"{class_name(key)}View.list")})
    return panels


class WorkbenchIndexView(IndexView):
    index_template = "workbench.html"

    @expose("/")
    def index(self):
        user = g.user
        if user is None or not user.is_authenticated:
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.__class__.__name__}.login"))
        core = _core()
        roles = [i18n.label(core.model.roles[r.name]) for r in user.roles if r.name in core.model.roles]
        self.update_redirect()
        return self.render_template(self.index_template, appbuilder=self.appbuilder, roles=roles,
                                    unit=core.unit_name(user), panels=workbench_panels(core, user))


class TodoView(BaseView):
    """我的待办: applications waiting on the user's roles or on the user personally."""

    route_base = "/todo"
    default_view = "index"
    class_permission_name = "Todo"
    method_permission_name = {"index": "list"}

    @expose("/")
    @has_access
    def index(self):
        core = _core()
        rows = core.todo.rows(g.user)
        endpoint = f"{class_name(core.engine.definition.entity)}View.show"
        return self.render_template("todo.html", rows=rows, title=_("My to-do"), show_endpoint=endpoint)


def todo_label(core):
    """Menu label with the count of waiting applications, computed per request."""
    def label() -> str:
        user = getattr(g, "user", None) if has_request_context() else None
        if user is None or not getattr(user, "is_authenticated", False):
            return _("My to-do")
        return f"{_('My to-do')} ({core.todo.count(user)})"
    return label
