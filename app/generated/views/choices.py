"""`/choices/<entity>/<field>/?q=…&page=N`: the records a reference field may name, found by their label
as the user types (select2's JSON: results and whether there are more). Only for users who may list,
add or edit the entity, and only the records in their scope (app/security/scope.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.generated import labels
from app.generated.views.reference import display_label, reference_target, visible
from app.model.naming import class_name

choices = Blueprint("choices", __name__, url_prefix="/choices", static_folder="../static",
                    static_url_path="/static", template_folder="../templates")
#: The furthest page a search goes (20 records a page): type more instead.
MAX_PAGE = 50
MAX_TEXT = 100


def _refuse(status: int, message: str):
    response = jsonify(message=message)
    response.status_code = status
    return response


def _may_use(entity_key: str) -> bool:
    sm = current_app.appbuilder.sm
    return any(sm.has_access(f"can_{action}", class_name(entity_key)) for action in ("list", "add", "edit"))


@choices.route("/<entity>/<name>/")
def search(entity: str, name: str):
    if not current_user.is_authenticated:
        return _refuse(401, _("Sign in first."))
    core = current_app.extensions["yekuotong"]
    spec = core.model.entities.get(entity)
    field = spec.fields.get(name) if spec is not None else None
    if field is None or field.type != "reference":
        return _refuse(404, _("Not found: there is nothing at this address."))
    if not _may_use(entity):
        return _refuse(403, _("You may not do this."))
    text = (request.args.get("q") or "")[:MAX_TEXT]
    page = request.args.get("page", "1")
    page = min(int(page), MAX_PAGE) if page.isdigit() and 0 < len(page) < 4 and int(page) > 0 else 1
    target = reference_target(field)
    target_entity = None if field.to == "user" else core.model.entities[field.to]
    query = visible(field, select(target))
    clause = labels.search_clause(target_entity, target, text)
    if clause is not None:
        query = query.where(clause)
    query = query.order_by(*labels.order_columns(target_entity, target))
    rows = core.db.session.scalars(query.offset((page - 1) * labels.PAGE).limit(labels.PAGE + 1)).all()
    return jsonify(results=[{"id": row.id, "text": display_label(field, row)} for row in rows[:labels.PAGE]],
                   pagination={"more": len(rows) > labels.PAGE and page < MAX_PAGE})
