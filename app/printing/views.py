"""Printed forms on screen and by API, the public verification page, and the print buttons.

Screens
    POST /print/<form>/<pk>       (with the page's CSRF token) records the print and answers the PDF
                                  (inline); refused: flash + redirect to the application page (409
                                  kinds), or a 403/404 page; JSON when the client asks for it
                                  (``Accept: application/json``)
    GET /print/<form>/<pk>        the same checks, then a page with the print button: a link or an
                                  image on a foreign site cannot make a print record
    GET /verify/<code>            public, rate limited: does the printed form still match the data?
                                  (404 if unknown); codes are normalised once (normalize_code)
    GET /verify/?code=...         public: the same, from a typed code
API (session cookie or JWT; can_show on the application's entity)
    GET /api/v1/<entity>/<pk>/forms           every form with allowed/reached/printable
    POST /api/v1/<entity>/<pk>/print/<form>   the PDF, or JSON {"message"} with 403/404/409 (with the
                                              session cookie: the X-CSRFToken header, as every
                                              unsafe API call)
"""
from __future__ import annotations

import logging

from flask import (Response, current_app, flash, g, jsonify, redirect, render_template_string, request,
                   url_for)
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi, protect
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from app import i18n
from app.printing.forms import FormRefused, Printing
from app.security.scope import may_act
from app.printing.verify import normalize_code
from app.security.limits import limiter
from app.model.naming import class_name
from app.printing.render import PdfRenderError

log = logging.getLogger(__name__)

REFUSED_PAGE = """{% extends "appbuilder/base.html" %}
{% block content %}
<div class="panel panel-danger" id="print-refused">
  <div class="panel-heading"><h4 class="panel-title">{{ title }}</h4></div>
  <div class="panel-body"><p>{{ message }}</p>
  {% if back %}<a class="btn btn-default" href="{{ back }}">{{ back_label }}</a>{% endif %}</div>
</div>
{% endblock %}"""

CONFIRM_PAGE = """{% extends "appbuilder/base.html" %}
{% block content %}
<div class="panel panel-default" id="print-confirm">
  <div class="panel-heading"><h4 class="panel-title">{{ title }}</h4></div>
  <div class="panel-body"><p>{{ message }}</p>
  <form method="post" action="{{ action }}">
    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
    <button type="submit" class="btn btn-primary" id="print-confirm-button"><i class="fa fa-print"></i> {{ button }}</button>
    <a class="btn btn-default" href="{{ back }}">{{ back_label }}</a>
  </form></div>
</div>
{% endblock %}"""


def printing() -> Printing:
    return current_app.extensions["ykt_printing"]


def _session():
    return current_app.extensions["yekuotong"].db.session


def _entity_cls():
    core = current_app.extensions["yekuotong"]
    return core.orm[core.model.workflow.entity]


def _in_scope(row) -> bool:
    """Row scope (model roles' `scope`): a case out of the user's scope answers as a missing one."""
    return may_act(current_app.extensions["yekuotong"], g.user, row)


def _can_show() -> bool:
    entity = current_app.extensions["yekuotong"].model.workflow.entity
    return current_app.appbuilder.sm.has_access("can_show", class_name(entity))


def _show_url(pk: int) -> str:
    entity = current_app.extensions["yekuotong"].model.workflow.entity
    return url_for(f"{class_name(entity)}View.show", pk=pk)


def verify_url_for(code: str) -> str:
    """The public address printed as the QR code: PUBLIC_BASE_URL if set, else this request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("VerifyView.verify", code=code)
    if base:
        return base.rstrip("/") + path
    return url_for("VerifyView.verify", code=code, _external=True)


def _pdf_response(result) -> Response:
    response = Response(result.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename={result.filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


def produce(pk: int, form: str):
    """Print form ``form`` of application ``pk`` as g.user: (PrintResult, None) or (None, FormRefused)."""
    session = _session()
    row = session.get(_entity_cls(), pk)
    if row is None or not _in_scope(row):
        return None, FormRefused(404, _("Application not found."))
    if not _can_show():
        return None, FormRefused(403, _("You may not see this application."))
    service = printing()
    try:
        return service.print_form(session, row, form, g.user, verify_url_for), None
    except FormRefused as refused:
        return None, refused
    except PdfRenderError:
        log.exception("form %s of application %s could not be rendered", form, pk)
        return None, FormRefused(409, _("%(form)s could not be produced; nothing was recorded. "
                                        "The error has been logged for the administrator.",
                                        form=service.form_label(form)))


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def check_printable(pk: int, form: str) -> FormRefused | None:
    """Why g.user may not print ``form`` of ``pk`` now (None: may), without recording anything."""
    session = _session()
    row = session.get(_entity_cls(), pk)
    if row is None or not _in_scope(row):
        return FormRefused(404, _("Application not found."))
    if not _can_show():
        return FormRefused(403, _("You may not see this application."))
    try:
        printing().check(session, row, form, g.user)
    except FormRefused as refused:
        return refused
    return None


class PrintView(BaseView):
    """打印表单: one URL per form and application; POST returns the PDF inline, GET asks first."""

    route_base = "/print"
    default_view = "print_form"

    @expose("/<form>/<int:pk>", methods=["GET", "POST"])
    def print_form(self, form, pk):
        user = g.user
        if user is None or not getattr(user, "is_authenticated", False):
            if _wants_json():
                return jsonify(message=_("Sign in first.")), 401
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.__class__.__name__}.login", next=request.url))
        if request.method == "GET":  # a print is recorded only by a POST carrying the CSRF token
            refused = check_printable(pk, form)
            if refused is None:
                return self._confirm(form, pk)
            return self._refused(refused, pk)
        result, refused = produce(pk, form)
        if refused is None:
            return _pdf_response(result)
        return self._refused(refused, pk)

    def _confirm(self, form, pk):
        label = printing().form_label(form)
        if _wants_json():
            return jsonify(message=_("Print %(form)s by POST with the CSRF token.", form=label),
                           form=form, method="POST")
        return render_template_string(
            CONFIRM_PAGE, appbuilder=self.appbuilder, current_app=current_app,
            base_template=self.appbuilder.base_template, title=_("Print"),
            message=_("Print %(form)s? The print is recorded in the history of the application.", form=label),
            action=url_for("PrintView.print_form", form=form, pk=pk), button=_("Print"),
            back=_show_url(pk), back_label=_("Back"))

    def _refused(self, refused: FormRefused, pk: int):
        if _wants_json():
            return jsonify(message=refused.message), refused.status
        if refused.status == 409:
            flash(refused.message, "danger")
            return redirect(_show_url(pk))
        back = _show_url(pk) if refused.status == 403 and _can_show() else self.appbuilder.get_url_for_index
        page = render_template_string(REFUSED_PAGE, appbuilder=self.appbuilder, current_app=current_app,
                                      base_template=self.appbuilder.base_template, title=_("Print"),
                                      message=refused.message, back=back, back_label=_("Back"))
        return page, refused.status


def make_print_api(resource: str) -> type:
    class PrintApi(BaseApi):
        resource_name = resource
        allow_browser_login = True
        class_permission_name = class_name(resource)
        method_permission_name = {"print_form": "show", "forms": "show"}
        openapi_spec_tag = "Printed forms"

        @expose("/<int:pk>/forms", methods=["GET"])
        @protect()
        def forms(self, pk):
            """Every printed form of the application: allowed for the caller, stage reached, printable."""
            session = _session()
            row = session.get(_entity_cls(), pk)
            if row is None or not _in_scope(row):
                return self.response_404()
            items = printing().status(session, row, g.user)
            for item in items:
                item["url"] = url_for("PrintView.print_form", form=item["form"], pk=pk)
            return self.response(200, id=row.id, number=row.number, forms=items)

        @expose("/<int:pk>/print/<form>", methods=["POST"])
        @protect()
        def print_form(self, pk, form):
            """The form as a PDF; refused: JSON {"message": ...} with 403, 404 or 409."""
            result, refused = produce(pk, form)
            if refused is not None:
                return self.response(refused.status, message=refused.message)
            return _pdf_response(result)

    return PrintApi


class VerifyView(BaseView):
    """核验: public, no sign-in. Shows only the application number, the form and the print time."""

    route_base = "/verify"
    default_view = "lookup"

    @expose("/", methods=["GET"])
    def lookup(self):
        code = (request.args.get("code") or "").strip()
        if code:
            return redirect(url_for("VerifyView.verify", code=code))
        return self.render_template("verify.html", state="ask", code="", result=None,
                                    title=_("Verify a printed form"))

    @expose("/<code>", methods=["GET"])
    def verify(self, code):
        normal = normalize_code(code)  # the one normalisation, for form and fine-notice codes alike
        if not normal or len(normal) > MAX_CODE:
            return self.render_template("verify.html", state="unknown", code=code[:MAX_CODE], result=None,
                                        title=_("Verify a printed form")), 404
        result = printing().verify(_session(), normal)
        _session().rollback()  # read only
        if not result.found:
            return self.render_template("verify.html", state="unknown", code=code, result=None,
                                        title=_("Verify a printed form")), 404
        return self.render_template("verify.html", state="match" if result.matches else "changed",
                                    code=code, result=result, title=_("Verify a printed form"))


def print_panel(row) -> Markup:
    """Print buttons on the application page: the forms the current user may print now."""
    user = g.user
    service = printing()
    forms = service.printable(_session(), row, user)
    if not forms:
        return Markup("")
    token = generate_csrf()
    buttons = Markup("").join(
        Markup('<form method="post" target="_blank" class="print-form-post" style="display: inline" '
               'action="{action}"><input type="hidden" name="csrf_token" value="{token}">'
               '<button type="submit" class="btn btn-default btn-sm print-form" data-form="{key}">'
               '<i class="fa fa-print"></i> {label}</button></form> ').format(
            key=key, action=url_for("PrintView.print_form", form=key, pk=row.id), token=token, label=label)
        for key, label in forms)
    return Markup('<div class="well well-sm" id="print-forms"><strong>{title}</strong>{colon}{buttons}</div>').format(
        title=escape(_("Print forms")), colon=i18n.punctuation()["colon"], buttons=buttons)


def _verify_limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "30 per minute")


# Per address, over the whole verification page (codes typed or scanned); registered once.
_VERIFY_LIMIT = limiter.shared_limit(_verify_limit, "verify")
MAX_CODE = 16


def register_printing(appbuilder, core, service: Printing) -> None:
    appbuilder.add_view_no_menu(PrintView())
    verify_view = appbuilder.add_view_no_menu(VerifyView())
    if not getattr(VerifyView, "_limited", False):
        _VERIFY_LIMIT(verify_view.blueprint)
        VerifyView._limited = True
    appbuilder.add_api(make_print_api(core.model.workflow.entity))
    if print_panel not in core.page_panels:
        core.page_panels.append(print_panel)
