"""Flask-AppBuilder screens and REST APIs generated from the model's entities."""
from __future__ import annotations

import logging

from flask_appbuilder import ModelRestApi, ModelView
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.upload import FileUploadField
from flask_babel import lazy_gettext
from markupsafe import Markup, escape
from marshmallow import ValidationError as MarshmallowError
from marshmallow import validate as mvalidate
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional, ValidationError

from app import i18n
from app.model.checks import WORKFLOW_COLUMNS
from app.model.naming import class_name
from app.model.formats import FORMAT_CHECKS

log = logging.getLogger(__name__)

VIEW_PERMISSIONS = {"list": "list", "show": "show", "add": "add", "edit": "edit",
                    "delete": "delete", "download": "show", "action": "edit",
                    "action_post": "edit", "api_read": "list", "api_get": "show",
                    "api": "list", "api_column_add": "add", "api_column_edit": "edit",
                    "api_readvalues": "list", "api_create": "add", "api_update": "edit",
                    "api_delete": "delete", "step": "show"}
API_PERMISSIONS = {"get_list": "list", "get": "show", "post": "add", "put": "edit",
                   "delete": "delete", "info": "list"}


class FormatCheck:
    """A format check usable by WTForms (form, field) and marshmallow (value)."""

    def __init__(self, fmt: str):
        self.check = FORMAT_CHECKS[fmt]

    def __call__(self, *args):
        if len(args) == 2:  # WTForms
            value = args[1].data
            if value:
                error = self.check(str(value).strip())
                if error:
                    raise ValidationError(lazy_gettext(error))
            return None
        value = args[0]
        if value:
            error = self.check(str(value).strip())
            if error:
                raise MarshmallowError(str(lazy_gettext(error)))
        return value


def _choice_labels(field) -> dict:
    return {ch.value: i18n.label(ch) for ch in field.choices or []}


def _formatter(field):
    base = _typed_formatter(field)
    if base is None:
        return lambda v: "" if v is None else v
    return base


def _typed_formatter(field):
    if field.type == "choice":
        labels = _choice_labels(field)
        return lambda v: labels.get(v, v or "")
    if field.type == "boolean":
        return lambda v: lazy_gettext("Yes") if v else (lazy_gettext("No") if v is not None else "")
    if field.type in ("date", "datetime"):
        return i18n.fmt_date
    if field.format == "money":
        return i18n.fmt_money
    if field.type == "reference":
        return lambda v: str(v) if v is not None else ""
    if field.type == "file":
        return lambda v: Markup('<a href="/{}/download/{}">{}</a>').format(
            "files", escape(v), lazy_gettext("Download")) if v else ""
    return None


class Generated:
    """What one entity needs in FAB: columns, labels, validators, formatters."""

    def __init__(self, model, key: str):
        self.key = key
        self.entity = model.entities[key]
        wf = model.workflow
        self.is_workflow = wf is not None and wf.entity == key
        fields = self.entity.fields
        stage_fields = {f for s in wf.stages.values() for f in s.fields} if self.is_workflow else set()
        owner = {wf.owner_field} if self.is_workflow and wf.owner_field else set()
        self.form = [n for n, f in fields.items() if f.form and n not in stage_fields | owner]
        self.list = [n for n, f in fields.items() if f.list]
        self.search = [n for n, f in fields.items() if f.search and f.type != "file"]
        self.show = list(fields)
        self.labels = {n: i18n.label(f) for n, f in fields.items()}
        if self.is_workflow:
            state = wf.state_field
            self.list = ["number", state] + self.list
            self.search = ["number", state] + self.search
            self.show = ["number", state, "suspended"] + self.show
            self.labels.update(number=i18n.text("申请编号", "Application no."),
                               suspended=i18n.text("流程中止", "Suspended"))
            self.labels[state] = i18n.text("当前环节", "Stage")
            stages = {k: i18n.label(s) for k, s in wf.stages.items()}
        self.labels.update(created_on=i18n.text("创建时间", "Created"),
                           changed_on=i18n.text("修改时间", "Changed"))
        self.formatters = {n: fmt for n, f in fields.items() if (fmt := _formatter(f))}
        self.formatters["created_on"] = i18n.fmt_datetime
        self.formatters["changed_on"] = i18n.fmt_datetime
        if self.is_workflow:
            self.formatters[wf.state_field] = lambda v: stages.get(v, v)
            self.formatters["suspended"] = _formatter(type("B", (), {"type": "boolean", "format": None})())

    def form_validators(self) -> dict:
        result = {}
        for name, field in self.entity.fields.items():
            if name not in self.form or field.type in ("choice", "file"):
                continue
            checks = [DataRequired(message=lazy_gettext("This field is required."))] if field.required \
                else [Optional()]
            if field.format and field.format in FORMAT_CHECKS:
                checks.append(FormatCheck(field.format))
            result[name] = checks
        return result

    def extra_form_fields(self) -> dict:
        extra = {}
        for name, field in self.entity.fields.items():
            if name not in self.form:
                continue
            if field.type == "choice":
                required = [DataRequired(message=lazy_gettext("This field is required."))] \
                    if field.required else [Optional()]
                blank = [] if field.required else [("", "—")]
                extra[name] = SelectField(
                    self.labels[name], choices=blank + [(ch.value, i18n.label(ch)) for ch in field.choices],
                    default=field.default, widget=Select2Widget(), validators=required)
            elif field.type == "file":
                extra[name] = FileUploadField(self.labels[name])
        return extra

    def api_validators(self) -> dict:
        result = {}
        for name, field in self.entity.fields.items():
            checks = []
            if field.format and field.format in FORMAT_CHECKS:
                checks.append(FormatCheck(field.format))
            if field.type == "choice":
                checks.append(mvalidate.OneOf([ch.value for ch in field.choices]))
            if checks:  # FAB takes one marshmallow validator per column
                result[name] = checks[0] if len(checks) == 1 else mvalidate.And(*checks)
        return result

    def api_form(self) -> list[str]:
        return [n for n in self.form if self.entity.fields[n].type != "file"]


def make_view(model, key: str, orm_class, hooks: dict | None = None, bases: tuple = ()) -> type:
    g = Generated(model, key)
    title = i18n.label(g.entity)
    attrs = dict(
        datamodel=SQLAInterface(orm_class),
        route_base=f"/{key}",
        class_permission_name=class_name(key),
        method_permission_name=VIEW_PERMISSIONS,
        list_title=title, show_title=title, add_title=title, edit_title=title,
        list_columns=g.list, search_columns=g.search, show_columns=g.show,
        add_columns=g.form, edit_columns=g.form,
        label_columns=g.labels, formatters_columns=g.formatters,
        validators_columns=g.form_validators(),
        add_form_extra_fields=g.extra_form_fields(),
        edit_form_extra_fields=g.extra_form_fields(),
        page_size=25,
    )
    order = g.entity.order_by or ("number" if g.is_workflow else None)
    attrs["base_order"] = (order, "desc" if g.is_workflow else "asc") if order else ("id", "desc")
    attrs.update(hooks or {})
    return type(f"{class_name(key)}View", bases + (ModelView,), attrs)


def make_api(model, key: str, orm_class, hooks: dict | None = None) -> type:
    g = Generated(model, key)
    api_form = g.api_form()
    attrs = dict(
        datamodel=SQLAInterface(orm_class),
        resource_name=key,
        allow_browser_login=True,
        class_permission_name=class_name(key),
        method_permission_name=API_PERMISSIONS,
        list_columns=["id"] + [c for c in g.list if c not in WORKFLOW_COLUMNS or c == "number"],
        show_columns=["id"] + g.show,
        add_columns=api_form, edit_columns=api_form,
        search_columns=g.search,
        validators_columns=g.api_validators(),
        page_size=25,
        max_page_size=100,
    )
    if g.is_workflow:
        attrs["list_columns"] = ["id"] + g.list
    required = [n for n in api_form if g.entity.fields[n].required]

    def _init_model_schemas(self):
        ModelRestApi._init_model_schemas(self)
        # Columns stay nullable in the database (see orm.generate); the API still demands them.
        for name in required:
            self.add_model_schema.fields[name].required = True

    attrs["_init_model_schemas"] = _init_model_schemas
    attrs.update(hooks or {})
    return type(f"{class_name(key)}Api", (ModelRestApi,), attrs)
