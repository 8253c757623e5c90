"""The add/edit forms of a generated screen: validators and fields from the model."""
from __future__ import annotations

from flask import current_app, g
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.upload import FileUploadField
from flask_babel import lazy_gettext
from sqlalchemy import select
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional, StopValidation

from app import i18n
from app.generated.views.files import ScanStore
from app.generated.views.validators import checks_for
from app.model.limits import INTEGER_MAX
from app.security import scope
from app.security.user import StaffUser

REQUIRED = lazy_gettext("This field is required.")
NO_SUCH_RECORD = lazy_gettext("The selected record does not exist.")


def _core():
    return current_app.extensions["yekuotong"]


def reference_target(field):
    return StaffUser if field.to == "user" else _core().orm[field.to]


def visible(field, query):
    """`query` over the field's target kept to what the signed-in user may choose."""
    if field.to == "user":
        return query.where(StaffUser.active.is_(True))
    return scope.restrict(_core(), query, g.user, field.to)


def find_reference(field, pk):
    """The record a reference names, if it exists and the user may see it; else None."""
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= INTEGER_MAX:
        return None
    target = reference_target(field)
    return _core().db.session.scalars(visible(field, select(target).where(target.id == pk))).first()


class ReferenceField(QuerySelectField):
    """A select of the records the user may choose; a posted id that names no such record is
    refused beside the field ("所选记录不存在"), and only that one record is looked up."""

    def __init__(self, label, field, **kwargs):
        self.field = field
        target = reference_target(field)
        super().__init__(label, query_func=lambda: _core().db.session.scalars(
                             visible(field, select(target).order_by(target.id))).all(),
                         get_pk_func=lambda obj: obj.id, allow_blank=not field.required, **kwargs)

    def _get_data(self):
        if self._formdata is not None:
            try:
                pk = int(self._formdata)
            except ValueError:
                pk = None
            self._set_data(find_reference(self.field, pk))
        return self._data

    data = property(_get_data, QuerySelectField._set_data)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self._posted = bool(valuelist and valuelist[0] not in ("", "__None"))

    def pre_validate(self, form):
        if self.data is None and getattr(self, "_posted", False):
            raise StopValidation(NO_SUCH_RECORD)


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
            blank = [] if field.required else [("", "—")]
            extra[name] = SelectField(
                g_.labels[name], choices=blank + [(ch.value, i18n.label(ch)) for ch in field.choices],
                default=field.default, widget=Select2Widget(), validators=required)
        elif field.type == "reference":
            extra[name] = ReferenceField(g_.labels[name], field, widget=Select2Widget(),
                                         validators=required)
        elif field.type == "file":
            extra[name] = FileUploadField(g_.labels[name], filemanager=ScanStore())
    return extra
