"""What one entity needs on screen and in the API: columns, labels, formatters, permission names."""
from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext
from markupsafe import Markup

from app import i18n
from app.generated.views.files import display_name
from app.generated.views.reference import reference_cell
from app.model.naming import class_name

VIEW_PERMISSIONS = {"list": "list", "show": "show", "add": "add", "edit": "edit",
                    "delete": "delete", "download": "show", "action": "edit",
                    "action_post": "edit", "api_read": "list", "api_get": "show",
                    "api": "list", "api_column_add": "add", "api_column_edit": "edit",
                    "api_readvalues": "list", "api_create": "add", "api_update": "edit",
                    "api_delete": "delete", "step": "show", "record": "show",
                    "signoff": "show"}
API_PERMISSIONS = {"get_list": "list", "get": "show", "post": "add", "put": "edit",
                   "delete": "delete", "info": "list"}
#: Columns the engine keeps on the workflow entity, and how the API types them.
WORKFLOW_TYPES = {"number": "string", "suspended": "boolean"}


def _choice_labels(field) -> dict:
    return {ch.value: i18n.label(ch) for ch in field.choices or []}


def _formatter(key: str, field):
    base = _typed_formatter(key, field)
    if base is None:
        return lambda v: "" if v is None else v
    return base


def _typed_formatter(key: str, field):
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
        return reference_cell(field)
    if field.type == "file":
        endpoint = f"{class_name(key)}View.download"
        return lambda v: Markup('<a class="file-download" href="{}">{}</a>').format(
            url_for(endpoint, filename=v), display_name(v)) if v else ""
    return None


class Generated:
    """Columns, labels and formatters of one entity, for its screen and its API."""

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
        self.private = {n for n, f in fields.items() if f.private}
        self.labels = {n: i18n.label(f) for n, f in fields.items()}
        self.state_field = wf.state_field if self.is_workflow else None
        if self.is_workflow:
            state = wf.state_field
            self.list = ["number", state] + self.list
            self.search = ["number", state] + self.search
            self.show = ["number", state, "suspended"] + self.show
            self.labels.update(number=i18n.text("申请编号", "Application no."),
                               suspended=i18n.text("流程中止", "Suspended"))
            self.labels[state] = i18n.text("当前环节", "Stage")
            stages = {k: i18n.label(s) for k, s in wf.stages.items()}
        self.labels.update(id=i18n.text("编号", "ID"), created_on=i18n.text("创建时间", "Created"),
                           changed_on=i18n.text("修改时间", "Changed"))
        self.formatters = {n: fmt for n, f in fields.items() if (fmt := _formatter(key, f))}
        self.formatters["created_on"] = i18n.fmt_datetime
        if key == "unit":  # the unit list and page: a unit's name in the request's language
            self.formatters["name"] = i18n.unit_text
        self.formatters["changed_on"] = i18n.fmt_datetime
        if self.is_workflow:
            self.formatters[wf.state_field] = lambda v: stages.get(v, v)
            self.formatters["suspended"] = lambda v: lazy_gettext("Yes") if v else lazy_gettext("No")

    # ------------------------------------------------------------------ the REST API's columns
    def public(self, columns: list[str]) -> list[str]:
        """`columns` without the private fields: what an API body may hold."""
        return [c for c in columns if c not in self.private]

    @property
    def api_list(self) -> list[str]:
        return ["id"] + self.public(self.list)

    @property
    def api_show(self) -> list[str]:
        return ["id"] + self.public(self.show)

    @property
    def api_search(self) -> list[str]:
        return self.public(self.search)

    @property
    def api_form(self) -> list[str]:
        return [n for n in self.form if self.entity.fields[n].type != "file"]

    def column_type(self, name: str) -> str | None:
        """The model type of a column (fields, the engine's workflow columns), None if unknown."""
        field = self.entity.fields.get(name)
        if field is not None:
            return field.type
        if name == self.state_field:
            return "choice"
        return WORKFLOW_TYPES.get(name) or ("integer" if name == "id" else None)
