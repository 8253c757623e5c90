"""Stage-aware editing of the generated screens and APIs: a case's generic edit changes only the fields
its stage declares `editable` (the rest read-only on screen, 422 naming the field by API); closed cases
and their documents, defects and fees are read-only; a case with history is never deleted."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.api import ModelRestApi, protect, safe
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import inspect

from app.cases.records import field_changes, has_history


def _core():
    return current_app.extensions["yekuotong"]


def _roles() -> set[str]:
    return {r.name for r in getattr(g.user, "roles", [])}


def _delete_refusal(row) -> str | None:
    core = _core()
    if has_history(core.db.session, core, row.id):
        return _("This application has a recorded history and cannot be deleted; cancel it instead.")
    return None


class CaseEditMixin:
    """Added to the workflow entity's generated ModelView: FAB's edit() calls these hooks."""

    def _edit(self, pk):
        core = _core()
        item = self.datamodel.get(pk, self._base_filters)
        if item is not None and core.recorder.policy.is_closed(item):
            flash(_("The application is closed (archived or cancelled) and cannot be changed."), "danger")
            return None
        # Per request (the view instance is shared by every request): fields this stage keeps read-only.
        g.ykt_locked = [] if item is None else [n for n in self.edit_columns
                                                if n not in core.recorder.policy.editable(item)]
        try:
            return super()._edit(pk)
        finally:
            g.ykt_locked = []

    def prefill_form(self, form, pk):
        """Fields the stage does not allow are shown read-only (the browser does not send them back)."""
        for name in getattr(g, "ykt_locked", []):
            if name in form:
                form[name].render_kw = {**(form[name].render_kw or {}), "disabled": True}
        super().prefill_form(form, pk)

    def _fill_form_exclude_cols(self, exclude_cols, form):
        """On save (before validation), read-only fields leave the form: their stored value stays."""
        super()._fill_form_exclude_cols(exclude_cols, form)
        for name in getattr(g, "ykt_locked", []):
            if name in form:
                if request.form.get(name) not in (None, ""):
                    flash(_("%(field)s cannot be changed at the current stage.", field=form[name].label.text),
                          "warning")
                del form[name]

    def pre_update(self, item):
        core = _core()
        refusals = core.recorder.policy.edit_refusals(item, list(field_changes(item, core.engine.entity.fields)))
        if refusals:
            fields = core.engine.entity.fields
            raise ValueError("；".join(f"{fields[k].label_zh if k in fields else k}：{v}" for k, v in refusals.items()))
        super().pre_update(item)

    def pre_delete(self, item):
        refusal = _delete_refusal(item)
        if refusal:
            raise ValueError(refusal)
        super().pre_delete(item)

    def post_add(self, item):
        g.ykt_added = (item.id, item.number)  # per request: the message and the redirect name the new case
        super().post_add(item)

    @property
    def add_row_message(self):
        """FAB flashes this after post_add: 已受理：YK… instead of a bare "record added"."""
        added = getattr(g, "ykt_added", None)
        return _("Accepted: %(number)s", number=added[1]) if added else _("Added Row")

    def post_add_redirect(self):
        added = getattr(g, "ykt_added", None)
        if added is None:  # the save failed: FAB has flashed why; back where the user came from
            return super().post_add_redirect()
        return redirect(url_for(f"{type(self).__name__}.show", pk=added[0]))


class CaseApiMixin:
    """Added to the workflow entity's generated ModelRestApi."""

    @expose("/<pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        refused = self._stage_refusal(pk)
        return refused if refused is not None else self.put_headless(pk)

    @expose("/<pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is not None:
            refusal = _delete_refusal(item)
            if refusal:
                return self.response_422(message=refusal)
        return self.delete_headless(pk)

    def _stage_refusal(self, pk):
        """422 naming every field the body would change that the case's stage does not allow."""
        body = request.get_json(silent=True)
        item = self.datamodel.get(pk, self._base_filters)
        if item is None or not isinstance(body, dict):
            return None  # put_headless answers 404 / 400
        core = _core()
        session = core.db.session
        try:
            self.edit_model_schema.load(self._merge_update_item(item, body), instance=item)
            changed = list(field_changes(item, core.engine.entity.fields))
        except (ValidationError, TypeError, ValueError):
            changed = None  # put_headless reports the invalid body
        session.rollback()
        if changed is None:
            return None
        item = self.datamodel.get(pk, self._base_filters)
        refusals = core.recorder.policy.edit_refusals(item, changed)
        return self.response_422(message=refusals) if refusals else None


CaseApiMixin.put.__doc__ = ModelRestApi.put.__doc__
CaseApiMixin.delete.__doc__ = ModelRestApi.delete.__doc__


class RecordViewMixin:
    """Added to the generated screens of a case's sub-records (documents, defects, fees)."""

    record_key: str = ""

    def _check(self, item, parent=None):
        core = _core()
        link = core.recorder.links[self.record_key]
        parent = parent if parent is not None else getattr(item, link, None)
        if parent is None and getattr(item, f"{link}_id", None) is not None:
            parent = core.db.session.get(core.engine.cls, getattr(item, f"{link}_id"))
        refusal = core.recorder.policy.record_refusal(self.record_key, parent, _roles())
        if refusal:
            raise ValueError(refusal)

    def pre_add(self, item):
        self._check(item)
        super().pre_add(item)

    def pre_update(self, item):
        self._check(item)
        link = _core().recorder.links[self.record_key]
        previous = inspect(item).attrs[f"{link}_id"].history.deleted
        if previous and previous[0] is not None:  # moved to another case: the old one must allow it too
            self._check(item, _core().db.session.get(_core().engine.cls, previous[0]))
        super().pre_update(item)

    def pre_delete(self, item):
        self._check(item)
        super().pre_delete(item)


class RecordApiMixin:
    """Added to the generated REST APIs of a case's sub-records."""

    record_key: str = ""

    def _refusal(self, parent_ids) -> str | None:
        core = _core()
        for parent_id in parent_ids:
            parent = core.db.session.get(core.engine.cls, parent_id) if parent_id is not None else None
            if parent is None:
                continue  # a missing case is the reference check's 422
            refusal = core.recorder.policy.record_refusal(self.record_key, parent, _roles())
            if refusal:
                return refusal
        return None

    def _stored_parent(self, pk):
        """The case the stored record belongs to (None when there is no such record: a 404 follows)."""
        item = self.datamodel.get(pk, self._base_filters)
        return getattr(item, f"{_core().recorder.links[self.record_key]}_id", None) if item is not None else None

    def _body_parent(self):
        body = request.get_json(silent=True)
        link = _core().recorder.links[self.record_key]
        value = body.get(link) if isinstance(body, dict) else None
        valid = isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2 ** 31
        return value if valid else None  # anything else is the reference check's 422

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        refusal = self._refusal([self._body_parent()])
        return self.response_422(message=refusal) if refusal else self.post_headless()

    @expose("/<pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        refusal = self._refusal([self._stored_parent(pk), self._body_parent()])
        return self.response_422(message=refusal) if refusal else self.put_headless(pk)

    @expose("/<pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        refusal = self._refusal([self._stored_parent(pk)])
        return self.response_422(message=refusal) if refusal else self.delete_headless(pk)


RecordApiMixin.post.__doc__ = ModelRestApi.post.__doc__
RecordApiMixin.put.__doc__ = ModelRestApi.put.__doc__
RecordApiMixin.delete.__doc__ = ModelRestApi.delete.__doc__


def screen_bases(core) -> dict[str, tuple]:
    """Mixins for the generated screens: the case's entity and its sub-record entities."""
    from app.cases.views.page import WorkflowViewMixin

    bases = {core.model.workflow.entity: (WorkflowViewMixin, CaseEditMixin)}
    for key in core.recorder.links:
        bases[key] = (type(f"{key.title().replace('_', '')}RecordView", (RecordViewMixin,), {"record_key": key}),)
    return bases


def api_bases(core) -> dict[str, tuple]:
    bases = {core.model.workflow.entity: (CaseApiMixin,)}
    for key in core.recorder.links:
        bases[key] = (type(f"{key.title().replace('_', '')}RecordApi", (RecordApiMixin,), {"record_key": key}),)
    return bases
