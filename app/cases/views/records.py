"""A case's documents, inspection defects and fees on its page: listed, added (with the scan), marked
and removed right there, each change checked by the record rules and written to the history."""
from __future__ import annotations

from flask import current_app, flash, g, request
from flask_babel import gettext as _
from sqlalchemy import select

from app import i18n
from app.generated.views.files import delete_scan
from app.model.naming import class_name
from app.security.user import StaffUser


def _core():
    return current_app.extensions["yekuotong"]


def _generated_view(key: str):
    name = f"{class_name(key)}View"
    return next((v for v in current_app.appbuilder.baseviews if v.__class__.__name__ == name), None)


def _may(action: str, key: str) -> bool:
    return current_app.appbuilder.sm.has_access(f"can_{action}", class_name(key))


def _cell(spec, value) -> str:
    if value is None or value == "":
        return ""
    if spec.type == "boolean":
        return _("Yes") if value else _("No")
    if spec.type == "choice":
        return next((str(i18n.label(c)) for c in spec.choices if c.value == value), str(value))
    if spec.type in ("date", "datetime"):
        return i18n.fmt_date(value)
    if spec.type == "decimal" and spec.format == "money":
        return i18n.fmt_money(value)
    return str(value)


def records_panel(row) -> list[dict]:
    """One section per sub-record entity of the case, with what the user may do in it now."""
    core = _core()
    session = core.db.session
    policy = core.recorder.policy
    roles = {r.name for r in g.user.roles}
    sections = []
    for key, link in core.recorder.links.items():
        if key not in core.model.workflow.records or not _may("list", key):
            continue
        entity = core.model.entities[key]
        cls = core.orm[key]
        columns = [n for n, f in entity.fields.items() if n != link and f.type not in ("file",) and (f.list or f.required)]
        files = [n for n, f in entity.fields.items() if f.type == "file"]
        booleans = [n for n in columns if entity.fields[n].type == "boolean"]
        refusal = policy.record_refusal(key, row, roles)
        items = []
        for obj in session.scalars(select(cls).where(getattr(cls, f"{link}_id") == row.id).order_by(cls.id)):
            items.append({"id": obj.id, "cells": [_cell(entity.fields[n], getattr(obj, n)) for n in columns],
                          "files": [(n, getattr(obj, n)) for n in files if getattr(obj, n)],
                          "flags": [(n, bool(getattr(obj, n))) for n in booleans]})
        view = _generated_view(key)
        form = None
        if refusal is None and _may("add", key) and view is not None:
            form = view.add_form.refresh()
            if link in form:
                del form[link]
        sections.append({
            "key": key, "label": i18n.label(entity), "columns": [i18n.label(entity.fields[n]) for n in columns],
            "rows": items, "form": form, "refusal": refusal, "multipart": bool(files),
            "can_delete": refusal is None and _may("delete", key), "can_edit": refusal is None and _may("edit", key),
            "flag_labels": {n: i18n.label(entity.fields[n]) for n in booleans},
            "download": f"{class_name(key)}View.download",
            "checklist": _checklist(core, session, row, key)})
    return sections


def _checklist(core, session, row, key: str) -> list[dict] | None:
    """For the documents entity: each kind the model requires for this case now, received or missing."""
    docs = core.model.workflow.documents
    if docs is None or docs.entity != key:
        return None
    engine = core.engine
    stage = getattr(row, engine.definition.state_field)
    required_for = getattr(engine.wf, "required_documents", None)
    if required_for is not None:
        record = {name: getattr(row, name, None) for name in engine.wf.documents.fields}
        needed = list(required_for(record, stage))
    else:
        needed = list(docs.by_customer_type.get(getattr(row, "customer_type", None) or "", []))
    cls = core.orm[key]
    link = core.recorder.links[key]
    have = set(session.scalars(select(getattr(cls, docs.kind_field)).where(
        getattr(cls, f"{link}_id") == row.id, getattr(cls, docs.received_field).is_(True))))
    kinds = {c.value: i18n.label(c) for c in core.model.entities[key].fields[docs.kind_field].choices or []}
    return [{"kind": kinds.get(k, k), "received": k in have} for k in needed]


def missing_documents(row) -> list[str]:
    """Names of the documents the model requires for this case now that have not been received."""
    core = _core()
    docs = core.model.workflow.documents
    if docs is None:
        return []
    checklist = _checklist(core, core.db.session, row, docs.entity) or []
    return [str(c["kind"]) for c in checklist if not c["received"]]


def handle(view, row, key: str, action: str) -> None:
    """POST from the case page: add a record, remove one, or flip one of its yes/no fields."""
    core = _core()
    session = core.db.session
    if key not in core.recorder.links or key not in core.model.workflow.records:
        flash(_("There are no such records on an application."), "danger")
        return
    link = core.recorder.links[key]
    needed = {"add": "add", "delete": "delete", "toggle": "edit"}.get(action)
    if needed is None or not _may(needed, key):
        flash(_("Your role may not change these records."), "danger")
        return
    refusal = core.recorder.policy.record_refusal(key, row, {r.name for r in g.user.roles})
    if refusal:
        flash(refusal, "danger")
        return
    cls = core.orm[key]
    if action == "add":
        _add(core, session, row, key, link, cls)
        return
    try:
        rid = int(request.form.get("rid", ""))
    except ValueError:
        rid = None
    obj = session.get(cls, rid) if rid is not None else None
    if obj is None or getattr(obj, f"{link}_id") != row.id:
        flash(_("The selected record does not exist."), "danger")
        return
    if action == "delete":
        for name, spec in core.model.entities[key].fields.items():
            if spec.type == "file":
                delete_scan(getattr(obj, name))  # with the row, in its transaction (database store)
        session.delete(obj)
    else:
        name = request.form.get("field", "")
        spec = core.model.entities[key].fields.get(name)
        if spec is None or spec.type != "boolean":
            flash(_("This value is not valid."), "danger")
            return
        setattr(obj, name, not bool(getattr(obj, name)))
    session.commit()
    flash(_("Saved; the change is in the history."), "success")


def _add(core, session, row, key, link, cls) -> None:
    view = _generated_view(key)
    form = view.add_form.refresh()
    if link in form:
        del form[link]
    if not form.validate():
        details = "；".join(f"{form[n].label.text}：{'，'.join(str(e) for e in errs)}" for n, errs in form.errors.items())
        flash(_("Some values are not valid; nothing was saved.") + f"（{details}）", "danger")
        return
    obj = cls()
    form.populate_obj(obj)
    setattr(obj, f"{link}_id", row.id)
    session.add(obj)
    session.commit()
    flash(_("Saved; the change is in the history."), "success")


def accepted_by(row) -> str | None:
    """Who accepted the case; None when the field is declared but empty (data from before it existed)."""
    core = _core()
    field = core.model.workflow.accepted_by_field
    if not field:
        return ""
    user_id = getattr(row, f"{field}_id", None)
    if user_id is None:
        return None
    user = core.db.session.get(StaffUser, user_id)
    return str(user) if user is not None else None
