"""The REST API of a generated entity: FAB's ModelRestApi with the model's schemas, row scope,
checked arguments and saving that answers in Chinese (422 per field, 404 out of scope, no SQL)."""
from __future__ import annotations

from flask import g, request
from flask_appbuilder import ModelRestApi
from flask_babel import gettext as _
from marshmallow import ValidationError

from app.generated.views import args
from app.generated.views.columns import API_PERMISSIONS, Generated
from app.generated.views.refusals import GeneratedInterface, SaveRefused
from app.generated.views.schemas import read_schema, write_schema
from app.generated.views.scoping import scope_filters
from app.model.naming import class_name
from app.security.errors import error_response


def plain(messages):
    """marshmallow's messages (lazy strings inside dicts and lists) as JSON-ready text: each field
    with a list of messages."""
    if isinstance(messages, dict):
        return {str(k): plain(v) if isinstance(v, (dict, list, tuple)) else [str(v)] for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [plain(m) if isinstance(m, (dict, list, tuple)) else str(m) for m in messages]
    return [str(messages)]


class GeneratedApi(ModelRestApi):
    """Base of every generated entity's API (`/api/v1/<entity>/`)."""

    generated: Generated = None
    allow_browser_login = True
    method_permission_name = API_PERMISSIONS
    page_size = 25
    max_page_size = args.MAX_PAGE_SIZE

    def create_blueprint(self, appbuilder, *a, **kw):
        blueprint = super().create_blueprint(appbuilder, *a, **kw)
        blueprint.before_request(self._check_arguments)
        return blueprint

    def _check_arguments(self):
        """Refuse a bad id or `q` before FAB's parsers and queries see it."""
        view_args = request.view_args or {}
        if "pk" in view_args and args.record_id(view_args["pk"]) is None:
            return error_response(404, _("Not found: there is nothing at this address."))
        method = (request.endpoint or "").rsplit(".", 1)[-1]
        problem = args.api_problem(self, self.generated, method)
        if problem:
            return error_response(400, problem)
        return None

    def _handle_columns_args(self, rison_args, default_select_columns, default_response_columns):
        # `columns`/`select_columns` would make FAB build a schema of its own (whole related rows).
        return default_select_columns, []

    def _merge_update_item(self, model_item, data):
        # A PUT changes the keys it sends (the schema loads them onto the row); FAB would first copy
        # every other column from a dump, which has no private fields.
        return dict(data)

    def _refused(self, refused: SaveRefused):
        return self.response(refused.status, message=refused.message, **(
            {"errors": refused.errors} if refused.errors else {}))

    def _invalid(self, err: ValidationError):
        errors = plain(err.messages)
        if not isinstance(errors, dict):
            errors = {"_schema": errors}
        return self.response(422, message=_("Some values are not valid; nothing was saved."), errors=errors)

    def _body(self):
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else None

    def post_headless(self):
        body = self._body()
        if body is None:
            return self.response(400, message=_("Send a JSON object."))
        try:
            item = self.add_model_schema.load(body)
        except ValidationError as err:
            return self._invalid(err)
        try:
            self.pre_add(item)
            self.datamodel.add(item)
            self.post_add(item)
        except SaveRefused as refused:
            self.datamodel.session.rollback()
            return self._refused(refused)
        return self.response(201, id=item.id, result=self.add_model_schema.dump(item))

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        body = self._body()
        if body is None:
            return self.response(400, message=_("Send a JSON object."))
        try:
            item = self.edit_model_schema.load(body, instance=item)
        except ValidationError as err:
            self.datamodel.session.rollback()
            return self._invalid(err)
        try:
            self.pre_update(item)
            self.datamodel.edit(item)
            self.post_update(item)
        except SaveRefused as refused:
            self.datamodel.session.rollback()
            return self._refused(refused)
        return self.response(200, result=self.edit_model_schema.dump(item))

    def delete_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        try:
            self.pre_delete(item)
            self.datamodel.delete(item)
            self.post_delete(item)
        except SaveRefused as refused:
            self.datamodel.session.rollback()
            return self._refused(refused)
        return self.response(200, message=_("Deleted."))

    def pre_add(self, item) -> None:
        if getattr(item, "created_by_fk", None) is None and getattr(g, "user", None) is not None:
            item.created_by_fk = g.user.id


def make_api(model, key: str, orm_class, hooks: dict | None = None, bases: tuple = ()) -> type:
    gen = Generated(model, key)
    name = class_name(key)
    attrs = dict(
        generated=gen,
        datamodel=GeneratedInterface(orm_class),
        resource_name=key,
        class_permission_name=name,
        list_columns=gen.api_list, show_columns=gen.api_show,
        add_columns=gen.api_form, edit_columns=gen.api_form,
        search_columns=gen.api_search,
        order_columns=[c for c in gen.api_list if gen.column_type(c) != "reference"],
        label_columns={k: v for k, v in gen.labels.items()},
        base_filters=scope_filters(model, key),
        list_model_schema=read_schema(gen, gen.api_list, f"{name}ApiList"),
        show_model_schema=read_schema(gen, gen.api_show, f"{name}ApiShow"),
        add_model_schema=write_schema(gen, orm_class, f"{name}ApiAdd"),
        edit_model_schema=write_schema(gen, orm_class, f"{name}ApiEdit"),
    )
    order = gen.entity.order_by or ("number" if gen.is_workflow else None)
    attrs["base_order"] = (order, "desc" if gen.is_workflow else "asc") if order else ("id", "desc")
    attrs.update(hooks or {})
    return type(f"{name}Api", bases + (GeneratedApi,), attrs)
