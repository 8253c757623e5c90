"""Input limits of a field, from the model: text length, number range, decimal places (pure).

Screens, the REST API and workflow steps ask `problem(field, value)` and show its message beside
the field; the same answer on SQLite and PostgreSQL, because nothing reaches the database unchecked.
Messages are gettext templates with %-style parameters (flask_babel's), marked with N_.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from .problems import N_

#: Longest text of a `text` field without `max_length` (a page of notes; printing stays quick).
DEFAULT_TEXT_LENGTH = 2000
#: Longest text of a `string` field without `max_length` (its column is VARCHAR(200)).
DEFAULT_STRING_LENGTH = 200
#: The range of an `integer` column on every backend (PostgreSQL INTEGER).
INTEGER_MIN, INTEGER_MAX = -(2 ** 31), 2 ** 31 - 1

NUMBER_TYPES = ("integer", "decimal")
TEXT_TYPES = ("string", "text")


def max_length(field) -> int | None:
    """Longest accepted text of a string or text field (declared, else the default)."""
    if field.type == "string":
        return field.max_length or DEFAULT_STRING_LENGTH
    if field.type == "text":
        return field.max_length or DEFAULT_TEXT_LENGTH
    return None


def type_range(field) -> tuple[Decimal, Decimal] | None:
    """What the column itself can hold: INTEGER, or NUMERIC(digits, places)."""
    if field.type == "integer":
        return Decimal(INTEGER_MIN), Decimal(INTEGER_MAX)
    if field.type == "decimal":
        top = Decimal(10) ** (field.digits - field.places) - Decimal(1).scaleb(-field.places)
        return -top, top
    return None


def bounds(field) -> tuple[Decimal, Decimal] | None:
    """The accepted range of a number field: the model's min/max within what the column holds."""
    limits = type_range(field)
    if limits is None:
        return None
    low, high = limits
    if field.min is not None:
        low = max(low, Decimal(field.min))
    if field.max is not None:
        high = min(high, Decimal(field.max))
    return low, high


def problem(field, value: Any) -> tuple[str, dict] | None:
    """Why `value` (already of the field's Python type; None is not checked) does not fit, as
    (message template, parameters), or None when it fits."""
    if value is None:
        return None
    if field.type in TEXT_TYPES:
        limit = max_length(field)
        if isinstance(value, str) and len(value) > limit:
            return N_("At most %(n)d characters."), {"n": limit}
        return None
    if field.type not in NUMBER_TYPES or isinstance(value, bool):
        return None
    try:
        number = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    except (InvalidOperation, ValueError, TypeError):
        return N_("Enter a number."), {}
    if not number.is_finite():
        return N_("Enter a finite number."), {}
    if field.type == "integer" and number != number.to_integral_value():
        return N_("Enter a whole number."), {}
    if field.type == "decimal" and _places(number) > field.places:
        return N_("At most %(places)d decimal places."), {"places": field.places}
    low, high = bounds(field)
    if number < low:
        return N_("At least %(min)s."), {"min": _plain(low)}
    if number > high:
        return N_("At most %(max)s."), {"max": _plain(high)}
    return None


def _places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _plain(number: Decimal) -> str:
    """1E+2 -> '100', 0.010 -> '0.01': as a person writes it."""
    return format(number.normalize(), "f")
