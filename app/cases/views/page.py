"""Cases on screen and by API: the application page's step buttons, history and diagram; the workflow API."""
from __future__ import annotations

import json

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.api import BaseApi, protect
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from markupsafe import Markup
from wtforms.validators import ValidationError
from sqlalchemy import select

from app import i18n
from app.security import scope
from app.cases.views.fieldsets import stage_fieldsets
from app.cases.views.reasons import step_reasons
from app.cases.views.records import accepted_by, handle, records_panel
from app.cases.views.signoffs import history_entry
from app.model.naming import class_name
from app.security.user import StaffUser


def core():
    return current_app.extensions["yekuotong"]


def engine():
    return core().engine


def _session():
    return core().db.session


def field_inputs(fields: tuple[str, ...], required: tuple[str, ...], row) -> list[dict]:
    """What the step form shows for each field: label, input kind, options, current value."""
    eng = engine()
    items = []
    for name in fields:
        spec = eng.entity.fields[name]
        item = {"name": name, "label": i18n.label(spec), "type": spec.type, "required": name in required,
                "value": getattr(row, f"{name}_id" if spec.type == "reference" else name, None)}
        if spec.type == "choice":
            item["options"] = [(c.value, i18n.label(c)) for c in spec.choices]
        elif spec.type == "reference":
            item["options"] = reference_options(spec.to, name)
        items.append(item)
    return items


OPTIONS_LIMIT = 500  # a select never carries more rows than this


def reference_options(target: str, name: str) -> list[tuple[int, str]]:
    session = _session()
    if target == "user":
        query = select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.id).limit(OPTIONS_LIMIT)
        definition = engine().definition
        if name == definition.owner_field and definition.owner_role:  # the role is matched in SQL, not per user
            query = query.where(StaffUser.roles.any(name=definition.owner_role))
        return [(u.id, str(u)) for u in session.scalars(query)]
    cls = core().orm[target]
    return [(r.id, str(r)) for r in session.scalars(select(cls).order_by(cls.id).limit(OPTIONS_LIMIT))]


def involved_people(row) -> list[tuple[int, str]]:
    """Whom a suspension may name as responsible: the staff who have handled this application (its
    history) and its owner — a handful of names, not every user of a province (one query)."""
    history = core().orm["workflow_history"]
    owner_field = engine().definition.owner_field
    ids = select(history.user_id).where(history.application_id == row.id, history.user_id.is_not(None))
    clause = StaffUser.id.in_(ids)
    owner_id = getattr(row, f"{owner_field}_id", None) if owner_field else None
    if owner_id is not None:
        clause = clause | (StaffUser.id == owner_id)
    users = _session().scalars(select(StaffUser).where(StaffUser.active.is_(True), clause).order_by(StaffUser.id))
    return [(u.id, str(u)) for u in users]


def history_rows(row) -> list[dict]:
    eng = engine()
    rows = []
    history = eng.history(_session(), row)
    units = _unit_names(h.unit_name for h in history)
    enum = i18n.punctuation()["enum"]
    for h in history:
        changes = json.loads(h.changes) if h.changes else {}
        fields = _fields_of(h.trigger) if h.kind == "record" else eng.entity.fields
        labels = {k: i18n.label(fields[k]) if k in fields else _column_label(k) for k in changes}
        rows.append({"at": i18n.fmt_datetime(h.at), "user": h.user_name,
                     "unit": units.get(h.unit_name, h.unit_name),
                     "roles": enum.join(str(i18n.label(eng.model.roles[r])) for r in h.roles.split(",")
                                       if r in eng.model.roles),
                     "from": eng.stage_label(h.from_stage), "to": eng.stage_label(h.to_stage),
                     "step": engine().step_label(h.trigger, h.from_stage), "comment": h.comment or "",
                     "changes": [(labels[k], _change(k, v, fields)) for k, v in changes.items()]})
        rows[-1].update(history_entry(h))  # a sign-off (会签) row names the party it signed for
    return rows


def _unit_names(stored) -> dict[str, str]:
    """The history keeps a unit's name as it was then: in English, the English name of each unit that
    still goes by it (one query per page); a name no unit has any more stays as stored."""
    names = {n for n in stored if n}
    if not names or not i18n.is_english():
        return {}
    cls = core().orm["unit"]
    return {u.name: i18n.unit_name(u) for u in _session().scalars(select(cls).where(cls.name.in_(names)))}


def _fields_of(trigger: str) -> dict:
    """The fields of the sub-record entity a history row of kind 'record' is about."""
    _action, _sep, key = trigger.partition("_")
    entity = engine().model.entities.get(key)
    return entity.fields if entity is not None else {}


def _change(name: str, values, fields) -> str:
    """'before → after' when there was a value before (corrections, edits), else the new value."""
    before, after = (values + [None, None])[:2] if isinstance(values, list) else (None, values)
    shown_after = _display(name, after, fields)
    if before is None:
        return str(shown_after) if after is not None else _("(removed)")
    empty = _("(empty)")
    return f"{_display(name, before, fields)} → {shown_after if after is not None else empty}"


def _column_label(name: str):
    """Labels of the columns the engine keeps itself (not fields of the model)."""
    return {"suspended": i18n.text("流程中止", "Suspended"), "number": i18n.text("申请编号", "Application no.")
            }.get(name, name)


def _display(name: str, value, fields=None):
    """A recorded value as the user knows it: names for references, labels for choices."""
    spec = (fields if fields is not None else engine().entity.fields).get(name)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None or spec is None:
        return "" if value is None else value
    if spec.type == "reference":
        target = StaffUser if spec.to == "user" else core().orm[spec.to]
        obj = _session().get(target, value)
        return str(obj) if obj is not None else value
    if spec.type == "choice":
        return next((str(i18n.label(c)) for c in spec.choices if c.value == value), value)
    if spec.type == "boolean":
        return _("Yes") if value else _("No")
    return value


def workflow_panel(row) -> dict:
    """Everything the application page shows about its workflow for the current user."""
    eng = engine()
    session = _session()
    user = g.user
    roles = eng.roles_of(user)
    stage = getattr(row, eng.definition.state_field)
    steps = []
    for spec, decision in eng.available(session, row, user):
        steps.append({"trigger": spec.trigger, "label": eng.label(spec), "ok": decision.ok,
                      "failed": step_reasons(row, spec, decision),
                      "comment_required": spec.comment_required,
                      "fields": field_inputs(spec.fields, spec.required, row)})
    steps.sort(key=lambda s: not s["ok"])  # what the user can do now first, greyed steps after (stable)
    wf = eng.wf
    return {
        "stage": eng.stage_label(stage), "suspended": row.suspended,
        "steps": steps,
        "can_suspend": wf.can_suspend(stage, row.suspended, roles, None).kind in (None, "unknown_reason"),
        "can_resume": wf.can_resume(row.suspended, roles).ok,
        "can_cancel": wf.can_cancel(stage, roles, None).kind in (None, "unknown_reason"),
        "suspension_reasons": [(r.key, eng.label(r)) for r in wf.suspension_reasons],
        "cancellation_reasons": [(r.key, eng.label(r)) for r in wf.cancellation_reasons],
        "users": involved_people(row), "units": reference_options("unit", ""),
        "history": history_rows(row),
        "records": records_panel(row),
        "corrections": [{"trigger": c.trigger, "label": eng.label(c),
                         "fields": field_inputs(tuple(c.fields), (), row)}
                        for c in eng.corrections.available(row, roles)],
        "accepted_by": accepted_by(row),
        "suspension": _open_suspension(row) if row.suspended else None,
        "diagram": Markup(wf.diagram_svg(stage)),
        "extra": [panel(row) for panel in core().page_panels],
    }


class WorkflowViewMixin:
    """Added to the workflow entity's generated ModelView."""

    show_template = "workflow_show.html"

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        row = self.datamodel.get(pk, self._base_filters)
        if row is None:
            abort(404)
        # The fields grouped by the stage that fills them (later, empty stages left out): FAB's _show
        # with this case's fieldsets.
        widgets = self._get_show_widget(pk, row, show_fieldsets=stage_fieldsets(row, self.show_columns))
        self.update_redirect()
        widgets = self._get_related_views_widgets(row, orders=get_order_args(), pages=get_page_args(),
                                                  page_sizes=get_page_size_args(), widgets=widgets)
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, wfp=workflow_panel(row), row=row)

    @expose("/step/<int:pk>/<trigger>", methods=["POST"])
    @has_access
    def step(self, pk, trigger):
        form = request.form
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            try:
                validate_csrf(form.get("csrf_token"))
            except ValidationError:
                flash(_("The form has expired; please try again."), "danger")
                return redirect(url_for(f"{self.__class__.__name__}.show", pk=pk))
        data = {k: v for k, v in form.items() if k not in ("comment", "csrf_token")}
        outcome = engine().fire(_session(), pk, trigger, g.user, data, form.get("comment"))
        if outcome.ok:
            flash(outcome.message, "success")
        else:
            p = i18n.punctuation()
            details = p["semicolon"].join(f"{_field_label(k)}{p['colon']}{v}" for k, v in outcome.errors.items())
            flash(outcome.message + (f"{p['open']}{details}{p['close']}" if details else ""), "danger")
        return redirect(url_for(f"{self.__class__.__name__}.show", pk=pk))


    @expose("/record/<int:pk>/<key>/<action>", methods=["POST"])
    @has_access
    def record(self, pk, key, action):
        """The case's documents, defects and fees, changed from its page (see records.py)."""
        row = self.datamodel.get(pk, self._base_filters)
        if row is None:
            abort(404)
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            try:
                validate_csrf(request.form.get("csrf_token"))
            except ValidationError:
                flash(_("The form has expired; please try again."), "danger")
                return redirect(url_for(f"{self.__class__.__name__}.show", pk=pk))
        handle(self, row, key, action)
        return redirect(url_for(f"{self.__class__.__name__}.show", pk=pk) + "#records")


def _public_changes(eng, h) -> dict:
    """A history row's changes for the API: never a field the model marks private (e.g. an address)."""
    changes = json.loads(h.changes) if h.changes else {}
    fields = _fields_of(h.trigger) if h.kind == "record" else eng.entity.fields
    return {k: v for k, v in changes.items() if not getattr(fields.get(k), "private", False)}


def _open_suspension(row) -> dict | None:
    """The running suspension: reason, who or which unit is responsible, since when."""
    eng = engine()
    cls = core().orm["suspension"]
    sus = _session().scalars(select(cls).where(cls.application_id == row.id, cls.ended_at.is_(None))
                             .order_by(cls.id.desc())).first()
    if sus is None:
        return None
    unit = _session().get(core().orm["unit"], sus.responsible_unit_id) if sus.responsible_unit_id else None
    return {"reason": eng.reason_label("suspend", sus.reason), "since": i18n.fmt_datetime(sus.started_at),
            "person": str(sus.responsible_user) if sus.responsible_user is not None else "",
            "unit": unit.name if unit is not None else "", "note": sus.note or ""}


def _field_label(name: str) -> str:
    eng = engine()
    special = {"comment": _("Comment"), "reason": _("Reason"), "responsible_user": _("Responsible person"),
               "responsible_unit": _("Responsible unit")}
    if name in special:
        return special[name]
    spec = eng.entity.fields.get(name)
    return str(i18n.label(spec)) if spec else name


def make_workflow_api(resource: str) -> type:
    class WorkflowApi(BaseApi):
        resource_name = resource
        allow_browser_login = True
        class_permission_name = class_name(resource)
        method_permission_name = {"get_workflow": "show", "post_workflow": "show"}
        openapi_spec_tag = "Workflow"

        @expose("/<int:pk>/workflow", methods=["GET"])
        @protect()
        def get_workflow(self, pk):
            """Current stage, the steps the caller may take now, and the history."""
            eng = engine()
            session = _session()
            row = session.get(eng.cls, pk)
            if row is None or not scope.may_act(core(), g.user, row):
                return self.response_404()
            steps = [{"trigger": spec.trigger, "label": eng.label(spec), "dest": spec.dest,
                      "allowed_now": decision.ok, "failed_conditions": list(decision.failed_conditions),
                      "fields": list(spec.fields), "required": list(spec.required)}
                     for spec, decision in eng.available(session, row, g.user)]
            history = [{"at": h.at.isoformat() if h.at else None, "user": h.user_name, "roles": h.roles,
                        "unit": h.unit_name, "kind": h.kind, "trigger": h.trigger, "from": h.from_stage,
                        "to": h.to_stage, "comment": h.comment,
                        "changes": _public_changes(eng, h)}
                       for h in eng.history(session, row)]
            return self.response(200, id=row.id, number=row.number,
                                 stage=getattr(row, eng.definition.state_field),
                                 suspended=row.suspended, triggers=steps, history=history)

        @expose("/<int:pk>/workflow/<trigger>", methods=["POST"])
        @protect()
        def post_workflow(self, pk, trigger):
            """Take one step: JSON {"comment": ..., "data": {...}}."""
            body = request.get_json(silent=True) or {}
            if not isinstance(body, dict) or not isinstance(body.get("data", {}), dict):
                return self.response(400, message=_("Send a JSON object with 'data' as an object."))
            outcome = engine().fire(_session(), pk, trigger, g.user, body.get("data") or {},
                                    body.get("comment"))
            return self.response(outcome.status, **outcome.as_json())

    return WorkflowApi
