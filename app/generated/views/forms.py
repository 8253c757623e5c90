"""The add/edit forms of a generated screen: validators and fields from the model."""
from __future__ import annotations

from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.upload import FileUploadField
from flask_babel import lazy_gettext
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from app import i18n
from app.generated.views.files import ScanStore
from app.generated.views.reference import NO_SUCH_RECORD, ReferenceField, find_reference
from app.generated.views.validators import checks_for
from app.security.views.selects import PLACEHOLDER

__all__ = ["NO_SUCH_RECORD", "REQUIRED", "extra_form_fields", "find_reference", "form_validators"]

REQUIRED = lazy_gettext("This field is required.")


def form_validators(g_) -> dict:
    result = {}
    for name, field in g_.entity.fields.items():
        if name not in g_.form or field.type in ("choice", "file", "reference"):
            continue
        checks = [DataRequired(message=REQUIRED)] if field.required else [Optional()]
        result[name] = checks + checks_for(field)
    return result


def extra_form_fields(g_) -> dict:
    extra = {}
    for name, field in g_.entity.fields.items():
        if name not in g_.form:
            continue
        required = [DataRequired(message=REQUIRED)] if field.required else [Optional()]
        if field.type == "choice":
            extra[name] = SelectField(
                g_.labels[name], choices=[("", PLACEHOLDER)] + [(ch.value, i18n.label(ch)) for ch in field.choices],
                default=field.default, widget=Select2Widget(), validators=required)
        elif field.type == "reference":
            extra[name] = ReferenceField(g_.labels[name], required, field=field, owner=g_.key)
        elif field.type == "file":
            extra[name] = FileUploadField(g_.labels[name], filemanager=ScanStore())
    return extra
