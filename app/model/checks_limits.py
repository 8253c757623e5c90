"""Checks of the input limits a field declares: max_length, min and max (see app/model/limits.py)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from . import limits
from .checker import Checker
from .problems import N_


def check_limits(c: Checker) -> None:
    for key, entity in c.model.entities.items():
        for name, field in entity.fields.items():
            _check_field(c, ("entities", key, "fields", name), name, field)


def _check_field(c: Checker, path: tuple, name: str, field) -> None:
    if field.max_length is not None and field.type not in limits.TEXT_TYPES:
        c.report(path + ("max_length",), "M112", N_("'max_length' is only for fields of type string or text"),
                 N_("remove it; the longest accepted text of a field of type {type} is not set"), type=field.type)
    given = [bound for bound in ("min", "max") if getattr(field, bound) is not None]
    if given and field.type not in limits.NUMBER_TYPES:
        for bound in given:
            c.report(path + (bound,), "M130", N_("'{bound}' is only for fields of type integer or decimal"),
                     N_("remove it, or make '{name}' a number field"), bound=bound, name=name)
        return
    fitting = True
    for bound in given:
        value = getattr(field, bound)
        problem = limits.problem(_Unbounded(field), value)
        if problem is not None:
            fitting = False
            c.report(path + (bound,), "M132", N_("{bound} {value} does not fit field '{name}'"),
                     N_("a {type} field holds {range}; write a value in that range"),
                     bound=bound, value=_plain(value), name=name, type=field.type, range=_range(field))
    if fitting and len(given) == 2 and field.min > field.max:
        c.report(path + ("max",), "M131", N_("max {max} is below min {min} in field '{name}'"),
                 N_("swap them or correct one of them"), max=_plain(field.max), min=_plain(field.min), name=name)
        return
    if fitting:
        _check_default(c, path, name, field)


def _check_default(c: Checker, path: tuple, name: str, field) -> None:
    default = field.default
    if default is None or isinstance(default, bool) or field.type not in limits.NUMBER_TYPES + limits.TEXT_TYPES:
        return
    try:
        value = Decimal(str(default)) if field.type in limits.NUMBER_TYPES else str(default)
    except InvalidOperation:
        return  # M111 says so
    if limits.problem(field, value) is not None:
        c.report(path + ("default",), "M133", N_("default '{value}' is outside the limits of field '{name}'"),
                 N_("give a default within min/max (or max_length)"), value=default, name=name)


class _Unbounded:
    """The field as its column alone limits it (no min/max): to check the declared bounds themselves."""

    def __init__(self, field):
        self.type, self.digits, self.places = field.type, field.digits, field.places
        self.max_length, self.min, self.max = field.max_length, None, None


def _range(field) -> str:
    low, high = limits.type_range(field)
    places = f", {field.places} decimal places" if field.type == "decimal" else ""
    return f"{_plain(low)} .. {_plain(high)}{places}"


def _plain(value) -> str:
    return format(Decimal(value).normalize(), "f")
