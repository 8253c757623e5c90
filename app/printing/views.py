"""Printed forms on screen and by API, the public verification page, and the print buttons.

Screens
    GET /print/<form>/<pk>        the PDF (inline); refused: flash + redirect to the application
                                  page (409 kinds), or a 403/404 page; JSON when the client asks
                                  for it (``Accept: application/json``)
    GET /verify/<code>            public: does the printed form still match the data? (404 if unknown)
    GET /verify/?code=...         public: the same, from a typed code
API (session cookie or JWT; can_show on the application's entity)
    GET /api/v1/<entity>/<pk>/forms          every form with allowed/reached/printable
    GET /api/v1/<entity>/<pk>/print/<form>   the PDF, or JSON {"message"} with 403/404/409
"""
from __future__ import annotations

import logging

from flask import (Response, current_app, flash, g, jsonify, redirect, render_template_string, request,
                   url_for)
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi, protect
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.printing.forms import FormRefused, Printing
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


def printing() -> Printing:
    return current_app.extensions["ykt_printing"]


def _session():
    return current_app.extensions["yekuotong"].db.session


def _entity_cls():
    core = current_app.extensions["yekuotong"]
    return core.orm[core.model.workflow.entity]


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
    if row is None:
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


class PrintView(BaseView):
    """打印表单: one URL per form and application; returns the PDF inline."""

    route_base = "/print"
    default_view = "print_form"

    @expose("/<form>/<int:pk>", methods=["GET"])
    def print_form(self, form, pk):
        user = g.user
        if user is None or not getattr(user, "is_authenticated", False):
            if _wants_json():
                return jsonify(message=_("Sign in first.")), 401
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.__class__.__name__}.login", next=request.url))
        result, refused = produce(pk, form)
        if refused is None:
            return _pdf_response(result)
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
            if row is None:
                return self.response_404()
            items = printing().status(session, row, g.user)
            for item in items:
                item["url"] = url_for("PrintView.print_form", form=item["form"], pk=pk)
            return self.response(200, id=row.id, number=row.number, forms=items)

        @expose("/<int:pk>/print/<form>", methods=["GET"])
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
        result = printing().verify(_session(), code)
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
    buttons = Markup("").join(
        Markup('<a class="btn btn-default btn-sm print-form" target="_blank" rel="noopener" '
               'data-form="{key}" href="{href}"><i class="fa fa-print"></i> {label}</a> ').format(
            key=key, href=url_for("PrintView.print_form", form=key, pk=row.id), label=label)
        for key, label in forms)
    return Markup('<div class="well well-sm" id="print-forms"><strong>{title}</strong>：{buttons}</div>').format(
        title=escape(_("Print forms")), buttons=buttons)


def register_printing(appbuilder, core, service: Printing) -> None:
    appbuilder.add_view_no_menu(PrintView())
    appbuilder.add_view_no_menu(VerifyView())
    appbuilder.add_api(make_print_api(core.model.workflow.entity))
    if print_panel not in core.page_panels:
        core.page_panels.append(print_panel)
