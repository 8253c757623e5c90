"""The workbench (工作台), each role's home page after login, the to-do queue (我的待办) and the
public progress lookup (办事公开, /progress/: no sign-in, rate-limited per IP and per number)."""
from __future__ import annotations

import datetime as dt

from flask import (Blueprint, Response, current_app, g, has_request_context, redirect, render_template, request,
                   url_for)
from flask_appbuilder import BaseView, IndexView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp

from app import i18n
from app.model.naming import class_name
from app.portal import workbench
from app.portal.lookup import MAX_NUMBER, normalise_number
from app.security.limits import limiter


def _core():
    return current_app.extensions["yekuotong"]


WORKBENCH_ROWS = 10  # rows of the to-do shown on the workbench; the rest one click away
TODO_ROWS = 50  # rows per page of the to-do (the earliest deadlines first)
MAX_TODO_PAGE = 199  # pages beyond the 10,000th row are not offered (the lists' cap)


def _figure(label, value, url=None, colour="default") -> dict:
    return {"label": label, "value": value, "url": url, "colour": colour}


def workbench_panels(core, user) -> list[dict]:
    """The panels of the user's workbench, each only when the user's roles may open what it shows:
    the to-do with its overdue and due-soon counts, the fines waiting for a decision (auditors), the
    unit's deadlines and fines (unit heads), the calendar warning and model version (administrators)."""
    sm = current_app.appbuilder.sm
    session = core.db.session
    now = dt.datetime.now(dt.timezone.utc)
    roles = {r.name for r in getattr(user, "roles", [])}
    assessment = core.model.assessment
    panels = []
    if core.todo is not None and sm.has_access("can_list", "Todo") and workbench.has_todo(core, user, roles):
        due = workbench.due_counts(core, user, now)
        g.ykt_todo_count = due["all"]  # the menu label shows it too: counted once per request
        panels.append({"key": "todo", "title": _("My to-do"), "rows": core.todo.rows(user, limit=WORKBENCH_ROWS),
                       "more": url_for("TodoView.index"), "figures": [
                           _figure(_("Waiting for me"), due["all"], url_for("TodoView.index"), "primary"),
                           _figure(_("Overdue"), due["overdue"], url_for("TodoView.index", due="overdue"), "danger"),
                           _figure(_("Due soon"), due["soon"], url_for("TodoView.index", due="soon"), "warning")]})
    if sm.has_access("can_decide", "Fines") and assessment is not None and roles & set(assessment.decide):
        pending = workbench.pending_fines(session)
        if pending is not None:
            panels.append({"key": "fines_pending", "title": _("Fines waiting for a decision"), "figures": [
                _figure(_("Waiting for a decision"), pending, url_for("FinesView.pending"),
                        "warning" if pending else "default")]})
    if (sm.has_access("can_unit", "Fines") and core.engine is not None and assessment is not None
            and roles & set(assessment.unit_view)):
        panels.extend(_unit_panels(core, user, now, sm))
    if sm.has_access("can_edit", "Calendar"):
        years = workbench.unloaded_years(core, now)
        figures = [_figure(_("Model version"), core.model.version)]
        if sm.has_access("can_list", "AuditLogView"):
            figures.append(_figure(_("Action log"), _("Open"), url_for("AuditLogView.list")))
        warning = _("The official holiday schedule of %(years)s is not loaded; deadlines in it are provisional.",
                    years=(", " if i18n.is_english() else "、").join(str(y) for y in years)) if years else None
        panels.append({"key": "admin", "title": _("System"), "figures": figures, "warning": warning,
                       "warning_url": url_for("CalendarView.month")})
    return panels


def _unit_panels(core, user, now, sm) -> list[dict]:
    session = core.db.session
    panels = []
    dashboard = url_for("SlaDashboardView.dashboard") if sm.has_access("can_list", "SlaDashboard") else None
    counts = workbench.unit_due_counts(core, user, now)
    panels.append({"key": "unit_deadlines", "title": _("Deadlines of my unit"), "figures": [
        _figure(_("Open applications"), counts["open"], dashboard, "primary"),
        _figure(_("Overdue"), counts["overdue"], dashboard, "danger"),
        _figure(_("Due soon"), counts["soon"], dashboard, "warning")]})
    fines = workbench.unit_fines(session, getattr(user, "unit_id", None), now)
    if fines is not None:
        url = url_for("FinesView.unit")
        panels.append({"key": "unit_fines", "title": _("Fines of my unit in %(month)s", month=fines["month"]),
                       "figures": [_figure(_("Proposed"), fines["proposed"], url, "warning"),
                                   _figure(_("Confirmed"), fines["confirmed"], url, "danger"),
                                   _figure(_("Confirmed amount"), f"¥{fines['amount']:,.2f}", url)]})
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
                                    unit=core.unit_name(user), panels=workbench_panels(core, user),
                                    show_endpoint=f"{class_name(core.engine.definition.entity)}View.show"
                                    if core.engine is not None else None)


class TodoView(BaseView):
    """我的待办: applications waiting on the user's roles or on the user personally; `?due=overdue` or
    `?due=soon` keeps those with an overdue deadline or one due soon (the workbench's counts link here)."""

    route_base = "/todo"
    default_view = "index"
    class_permission_name = "Todo"
    method_permission_name = {"index": "list"}

    @expose("/")
    @has_access
    def index(self):
        core = _core()
        which = request.args.get("due")
        titles = {"overdue": _("My to-do: overdue"), "soon": _("My to-do: due soon")}
        where = None
        if which in workbench.DUE:
            where = workbench.due_clause(core, which, dt.datetime.now(dt.timezone.utc))
        try:
            page = max(int(request.args.get("page", 0)), 0)
        except ValueError:
            page = 0
        page = min(page, MAX_TODO_PAGE)
        # One row more than a page tells whether there is a next page; a count only when pages are needed.
        rows = core.todo.rows(g.user, limit=TODO_ROWS + 1, where=where, offset=page * TODO_ROWS)
        more = len(rows) > TODO_ROWS
        rows = rows[:TODO_ROWS]
        if page == 0 and not more:
            total = len(rows)
        else:
            total = core.todo.count(g.user, where)
        if where is None:
            g.ykt_todo_count = total  # the menu label needs no second count
        endpoint = f"{class_name(core.engine.definition.entity)}View.show"
        return self.render_template("todo.html", rows=rows, title=titles.get(which, _("My to-do")), total=total,
                                    page=page, more=more, due=which if where is not None else None,
                                    show_endpoint=endpoint, filtered=where is not None)


def todo_label(core):
    """Menu label with the count of waiting applications, computed per request."""
    def label() -> str:
        user = getattr(g, "user", None) if has_request_context() else None
        if user is None or not getattr(user, "is_authenticated", False):
            return _("My to-do")
        if g.get("ykt_todo_count") is None:  # FAB asks for the label more than once per page
            g.ykt_todo_count = core.todo.count(user)
        return f"{_('My to-do')} ({g.ykt_todo_count})"
    return label


# ------------------------------------------------------------------ 办事公开: the public progress lookup
progress = Blueprint("progress", __name__, url_prefix="/progress", template_folder="templates",
                     static_folder="static")


class ProgressForm(FlaskForm):
    number = StringField(lazy_gettext("Application number"), validators=[
        DataRequired(message=lazy_gettext("Enter the application number.")), Length(max=MAX_NUMBER)])
    tail = StringField(lazy_gettext("Last 4 digits of the contact phone"), validators=[
        DataRequired(message=lazy_gettext("Enter the last 4 digits of the contact phone.")),
        Regexp(r"^\s*\d{4}\s*$", message=lazy_gettext("Enter exactly 4 digits."))])


def _page(status: int = 200, **context) -> Response:
    context.setdefault("form", ProgressForm(formdata=None))  # never echo what was typed
    context.setdefault("result", None)
    context.setdefault("message", None)
    context["english"] = i18n.is_english()
    response = Response(render_template("lookup.html", **context), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _number_key() -> str:
    """The per-number limit counts every try at one number, whether it exists or not."""
    return "progress-number:" + normalise_number(request.form.get("number", ""))


def _too_many(error) -> Response:
    response = _page(429, message=_("Too many lookups. Please try again later."))
    limit = getattr(error, "limit", None)
    if limit is not None:
        response.headers["Retry-After"] = str(int(limit.limit.get_expiry()))
    return response


def _expired(_error=None) -> Response:
    return _page(400, message=_("The page has expired. Please reload it and try again."))


# The blueprint's own answers win over the app's generic error pages (a blueprint handler comes first).
progress.register_error_handler(429, _too_many)
progress.register_error_handler(CSRFError, _expired)


@progress.route("/", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PUBLIC_LOOKUP_LIMIT_IP"], methods=["POST"], scope="progress-ip")
@limiter.limit(lambda: current_app.config["PUBLIC_LOOKUP_LIMIT_NUMBER"], key_func=_number_key, methods=["POST"],
               scope="progress-number")
def lookup():
    """GET: the form. POST: the progress of one application, or one answer for every kind of miss."""
    if request.method == "GET":
        return _page()
    form = ProgressForm()
    if not form.validate():
        csrf = getattr(form, "csrf_token", None)
        if csrf is not None and csrf.errors:
            return _expired()
        return _page(400, form=form)
    session = _core().db.session
    try:
        result = current_app.extensions["ykt_progress"].find(session, form.number.data, form.tail.data)
    finally:
        session.rollback()  # read only
    if result is None:
        return _page(404, message=_("No application matches this number and these digits. "
                                    "Please check both and try again."))
    return _page(result=result)
