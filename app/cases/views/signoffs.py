"""Joint decisions (会签) on screen and by API: the sign-off panel of the case page, its form post,
and `GET/POST /api/v1/<entity>/<pk>/signoffs[/<trigger>]`. The domain is app/cases/signoffs.py."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.api import BaseApi, protect
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from markupsafe import Markup
from wtforms.validators import ValidationError

from app import i18n
from app.cases.signoffs import history_party
from app.model.naming import class_name
from app.security.scope import may_act


def _core():
    return current_app.extensions["yekuotong"]


def signoff_panel(row) -> Markup:
    """The case page's 会签 box: each party of the current stage's joint steps, signed or not."""
    core = _core()
    steps = core.signoffs.open_steps(core.db.session, row, g.user)
    if not steps:
        return Markup("")
    for step in steps:
        for party in step["parties"]:
            party["at"] = i18n.fmt_datetime(party["at"]) if party["at"] else ""
    return Markup(render_template("signoffs_panel.html", steps=steps, pk=row.id,
                                  endpoint=request.blueprint + ".signoff"))


def missing_labels(decision) -> list[str]:
    """Why a step waiting for sign-offs is greyed out, in the user's language."""
    if not decision.missing_signoffs:
        return []
    signoffs = _core().signoffs
    return [_("Sign-offs still missing: %(list)s", list=i18n.punctuation()["enum"].join(signoffs.label(k) for k in decision.missing_signoffs))]


def history_entry(h) -> dict:
    """What a sign-off history row shows: 会签 · <step>, and the party signed for (empty otherwise)."""
    party = history_party(h)
    if party is None:
        return {}
    core = _core()
    step = core.engine.step_label(h.trigger, h.from_stage)
    return {"step": _("Sign-off: %(step)s", step=step), "changes": [(_("Signed for"), core.signoffs.label(party))]}


class SignoffViewMixin:
    """Added to the workflow entity's generated ModelView: POST /<view>/signoff/<pk>/<trigger>."""

    @expose("/signoff/<int:pk>/<trigger>", methods=["POST"])
    @has_access
    def signoff(self, pk, trigger):
        back = redirect(url_for(f"{self.__class__.__name__}.show", pk=pk))
        if self.datamodel.get(pk, self._base_filters) is None:
            abort(404)
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            try:
                validate_csrf(request.form.get("csrf_token"))
            except ValidationError:
                flash(_("The form has expired; please try again."), "danger")
                return back
        core = _core()
        outcome = core.signoffs.sign(core.db.session, pk, trigger, g.user, request.form.get("comment"))
        flash(outcome.message, "success" if outcome.ok else "danger")
        return back


def make_signoff_api(resource: str) -> type:
    class SignoffApi(BaseApi):
        resource_name = resource
        allow_browser_login = True
        class_permission_name = class_name(resource)
        method_permission_name = {"get_signoffs": "show", "post_signoff": "show"}
        openapi_spec_tag = "Workflow"

        def _row(self, pk):
            core = _core()
            row = core.db.session.get(core.engine.cls, pk)
            return row if row is not None and may_act(core, g.user, row) else None

        @expose("/<int:pk>/signoffs", methods=["GET"])
        @protect()
        def get_signoffs(self, pk):
            """The joint steps of the current stage: each party, who signed and when, whether you may sign."""
            row = self._row(pk)
            if row is None:
                return self.response_404()
            core = _core()
            steps = core.signoffs.open_steps(core.db.session, row, g.user)
            for step in steps:
                for party in step["parties"]:
                    party["at"] = party["at"].isoformat() if party["at"] else None
            return self.response(200, id=row.id, stage=getattr(row, core.engine.definition.state_field), steps=steps)

        @expose("/<int:pk>/signoffs/<trigger>", methods=["POST"])
        @protect()
        def post_signoff(self, pk, trigger):
            """Sign a joint step off for your unit or role: JSON {"comment": ...} (optional)."""
            if self._row(pk) is None:
                return self.response_404()
            body = request.get_json(silent=True) or {}
            if not isinstance(body, dict):
                return self.response(400, message=_("Send a JSON object."))
            core = _core()
            outcome = core.signoffs.sign(core.db.session, pk, trigger, g.user, body.get("comment"))
            return self.response(outcome.status, **outcome.as_json())

    return SignoffApi
