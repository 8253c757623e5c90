"""Field checks from the model, usable by WTForms (screens) and marshmallow (the REST API) alike:
formats (ID card, phones) and input limits (length, range, decimal places); messages in Chinese."""
from __future__ import annotations

from abc import ABC, abstractmethod

from flask_babel import gettext, lazy_gettext
from marshmallow import ValidationError as MarshmallowError
from wtforms.validators import ValidationError

from app.model import limits
from app.model.formats import FORMAT_CHECKS


class _Check(ABC):
    """Called as `check(form, field)` by WTForms or `check(value)` by marshmallow."""

    @abstractmethod
    def problem(self, value) -> str | None:
        """The translated complaint about `value`, or None when it is fine."""

    def __call__(self, *args):
        if len(args) == 2:  # WTForms
            error = self.problem(args[1].data)
            if error:
                raise ValidationError(error)
            return None
        error = self.problem(args[0])
        if error:
            raise MarshmallowError(error)
        return args[0]

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"


class FormatCheck(_Check):
    def __init__(self, fmt: str):
        self.check = FORMAT_CHECKS[fmt]

    def problem(self, value) -> str | None:
        if not value:
            return None
        error = self.check(str(value).strip())
        return str(lazy_gettext(error)) if error else None


class LimitCheck(_Check):
    """The field's limits from the model (app/model/limits.py): the same answer everywhere."""

    def __init__(self, field):
        self.field = field

    def problem(self, value) -> str | None:
        found = limits.problem(self.field, value)
        if found is None:
            return None
        template, params = found
        return gettext(template, **params)

    def __repr__(self) -> str:
        bounds = limits.bounds(self.field)
        return f"<LimitCheck max_length={limits.max_length(self.field)} bounds={bounds}>"


def checks_for(field) -> list[_Check]:
    result: list[_Check] = []
    if field.type in limits.TEXT_TYPES + limits.NUMBER_TYPES:
        result.append(LimitCheck(field))
    if field.format and field.format in FORMAT_CHECKS:
        result.append(FormatCheck(field.format))
    return result
