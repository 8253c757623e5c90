"""Marshmallow schemas of the generated REST API: what a body holds and what a call may send.

Read: a related record is `{"id", "name"}` only, never the whole related row (a user row carries a
password hash), and private fields are never read. Write: references by id, refused unless that
record exists and the caller may see it ("所选记录不存在", nothing created); texts, numbers and
choices within the model's limits; unique values checked; any other key refused.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext
from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow import validate as mvalidate
from sqlalchemy import select

from app.generated.views.forms import NO_SUCH_RECORD, REQUIRED, find_reference
from app.generated.views.validators import checks_for

MESSAGES = {
    "string": lazy_gettext("Enter text."),
    "integer": lazy_gettext("Enter a whole number."),
    "decimal": lazy_gettext("Enter a number."),
    "date": lazy_gettext("Enter a date written as 2026-11-30."),
    "datetime": lazy_gettext("Enter a date and time written as 2026-11-30T09:30:00."),
    "boolean": lazy_gettext("Enter true or false."),
    "reference": lazy_gettext("Give the id (a whole number) of the record."),
}
TAKEN = lazy_gettext("This value is already used by another record.")


class RecordRefSchema(Schema):
    """A related record as the API shows it: its id and its display name."""

    id = fields.Integer()
    name = fields.Method("display_name", metadata={"type": "string"})

    def display_name(self, obj) -> str:
        return str(obj)


class Whole(fields.Integer):
    """An integer that is not a JSON true/false."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Reference(fields.Integer):
    """A reference by id: read as the id, loaded as the record itself (which must exist and be visible)."""

    def __init__(self, spec, **kwargs):
        self.spec = spec
        super().__init__(strict=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.id

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        pk = super()._deserialize(value, attr, data, **kwargs)
        record = find_reference(self.spec, pk)
        if record is None:
            raise ValidationError(str(NO_SUCH_RECORD))
        return record


def _read_field(kind: str | None):
    if kind == "reference":
        return fields.Nested(RecordRefSchema, allow_none=True)
    return {"integer": fields.Integer, "decimal": lambda: fields.Decimal(as_string=True),
            "date": fields.Date, "datetime": fields.DateTime, "boolean": fields.Boolean,
            }.get(kind, fields.String)()


def read_schema(generated, columns: list[str], name: str) -> Schema:
    attrs = {col: _read_field(generated.column_type(col)) for col in columns}
    return Schema.from_dict(attrs, name=name)()


def _write_field(spec):
    kind = spec.type
    options = dict(required=spec.required, allow_none=not spec.required, validate=checks_for(spec),
                   error_messages={"required": REQUIRED, "null": REQUIRED,
                                   "invalid": MESSAGES.get(kind, MESSAGES["string"])})
    if kind == "reference":
        options.pop("validate")
        return Reference(spec, **options)
    if kind == "choice":
        options["validate"] = [mvalidate.OneOf([c.value for c in spec.choices],
                                                error=lazy_gettext("Choose one of the listed values."))]
    if kind == "decimal":
        options["error_messages"]["special"] = lazy_gettext("Enter a finite number.")
        return fields.Decimal(as_string=True, allow_nan=False, **options)
    return {"integer": Whole, "date": fields.Date, "datetime": fields.DateTime,
            "boolean": fields.Boolean}.get(kind, fields.String)(**options)


class WriteSchema(Schema):
    """Loads a POST body into a new row, or a PUT body into the row given (only the keys sent)."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": lazy_gettext("This field is not accepted here."),
                      "type": lazy_gettext("Send a JSON object.")}
    orm_class: type = None
    entity = None

    def load(self, data, *, instance=None, **kwargs):
        values = super().load(data, partial=instance is not None, **kwargs)
        taken = {name: [str(TAKEN)] for name, value in values.items()
                 if value is not None and self.entity.fields[name].unique and self._taken(name, value, instance)}
        if taken:
            raise ValidationError(taken)
        row = instance if instance is not None else self.orm_class()
        for name, value in values.items():
            setattr(row, name, value)
        return row

    def _taken(self, name: str, value, instance) -> bool:
        cls = self.orm_class
        query = select(cls.id).where(getattr(cls, name) == value)
        if instance is not None and instance.id is not None:
            query = query.where(cls.id != instance.id)
        return current_app.extensions["yekuotong"].db.session.scalar(query.limit(1)) is not None


def write_schema(generated, orm_class, name: str) -> Schema:
    spec = generated.entity
    attrs = {col: _write_field(spec.fields[col]) for col in generated.api_form}
    for col in generated.private:
        if col in attrs:  # accepted, never echoed back
            attrs[col].load_only = True
    cls = type(name, (WriteSchema,), {**attrs, "orm_class": orm_class, "entity": spec})
    return cls()
