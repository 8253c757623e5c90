"""Typed values from what a user typed into a step form or sent as JSON: each field checked against
its model declaration (type, choices, length, bounds, referenced row), every bad value reported."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.security.user import StaffUser

#: Longest `text` value when the model declares no max_length (a page of prose, not a file).
TEXT_MAX_LENGTH = 2000


class FieldError(ValueError):
    """A value the user typed that does not fit its field; the message is already translated."""


class DataError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


class FieldValues:
    """Coercion for the fields of the workflow entity (the engine's step forms and corrections)."""

    def __init__(self, core, engine):
        self.core = core
        self.engine = engine

    def coerce(self, session, data: dict, allowed: tuple[str, ...]) -> dict:
        """Turn form/JSON input into typed values; every bad value is reported, none saved."""
        values, errors = {}, {}
        for name, raw in data.items():
            if name not in allowed:
                continue
            spec = self.engine.entity.fields.get(name)
            try:
                values[name] = self.coerce_one(session, name, spec, raw)
            except FieldError as exc:
                errors[name] = str(exc)
        if errors:
            raise DataError(errors)
        return values

    def coerce_one(self, session, name: str, spec, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, (dict, list)):
            raise FieldError(_("This value is not valid."))
        text = raw.strip() if isinstance(raw, str) else raw
        kind = spec.type if spec else "string"
        try:
            if kind == "integer":
                if isinstance(text, bool):
                    raise ValueError(text)
                return self._bounded(spec, int(text))
            if kind == "decimal":
                return self._bounded(spec, self._decimal(spec, text))
            if kind == "date":
                return text if isinstance(text, dt.date) else dt.date.fromisoformat(str(text))
            if kind == "boolean":
                return text if isinstance(text, bool) else str(text).lower() in ("1", "true", "y", "yes", "on")
            if kind == "reference":
                if isinstance(text, bool):
                    raise ValueError(text)
                return self._reference(session, name, spec, int(text))
        except FieldError:
            raise
        except (ValueError, InvalidOperation, TypeError, OverflowError) as exc:
            raise FieldError(_("This value is not valid.")) from exc
        if kind == "choice" and str(text) not in [c.value for c in spec.choices]:
            raise FieldError(_("Choose one of the listed values."))
        text = str(text)
        limit = spec.max_length if spec is not None and spec.max_length else (
            TEXT_MAX_LENGTH if kind == "text" else None)
        if limit and len(text) > limit:
            raise FieldError(_("At most %(n)d characters.", n=limit))
        return text

    @staticmethod
    def _decimal(spec, text) -> Decimal:
        if isinstance(text, bool):
            raise ValueError(text)
        value = Decimal(str(text))
        if not value.is_finite():
            raise FieldError(_("Enter a finite number."))
        digits, places = (spec.digits, spec.places) if spec is not None else (12, 2)
        quantum = Decimal(1).scaleb(-places)
        if value != value.quantize(quantum):
            raise FieldError(_("At most %(n)d decimal places.", n=places))
        if abs(value) >= Decimal(10) ** (digits - places):
            raise FieldError(_("The number is too large."))
        return value

    @staticmethod
    def _bounded(spec, value):
        low, high = getattr(spec, "min", None), getattr(spec, "max", None)
        if low is not None and value < low:
            raise FieldError(_("At least %(n)s.", n=low))
        if high is not None and value > high:
            raise FieldError(_("At most %(n)s.", n=high))
        return value

    def _reference(self, session, name: str, spec, pk: int):
        target = StaffUser if spec.to == "user" else self.core.orm[spec.to]
        query = select(target).where(target.id == pk)
        if spec.to == "user":
            query = query.options(selectinload(StaffUser.roles))
        obj = session.scalars(query).first()
        if obj is None:
            raise FieldError(_("The selected record does not exist."))
        definition = self.engine.definition
        if spec.to == "user" and name == definition.owner_field and definition.owner_role:
            if definition.owner_role not in {r.name for r in obj.roles}:
                raise FieldError(_("The owner must be a %(role)s.",
                                   role=self.engine.label(self.core.model.roles[definition.owner_role])))
        return pk
