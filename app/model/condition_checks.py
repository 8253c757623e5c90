"""Checks of a parsed condition against the host's names: FieldInfo, FunctionInfo, ConditionProblem, check."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from .condition_errors import N_
from .condition_tree import ORDER_OPS, Call, Compare, Condition, Count, Predicate, Quantified, literal_text

FIELD_TYPES = frozenset({"string", "text", "integer", "decimal", "date", "datetime",
                         "boolean", "choice", "reference", "file"})
ORDERABLE = frozenset({"integer", "decimal", "date", "datetime"})
_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True)
class FieldInfo:
    type: str
    choices: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown field type {self.type!r}")


@dataclass(frozen=True)
class FunctionInfo:
    """A host function; result=None means untyped (usable alone or compared, unchecked)."""
    takes_argument: bool = False
    allowed: tuple[str, ...] | None = None
    result: FieldInfo | None = None


@dataclass(frozen=True)
class ConditionProblem:
    """What check() found wrong in a condition: a code, untranslated templates, params and a column."""

    code: str
    message_template: str
    params: Mapping[str, Any]
    hint_template: str | None = None
    column: int | None = None

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        return gettext(self.message_template).format(**self.params)

    def render_hint(self, gettext: Callable[[str], str] = lambda s: s) -> str | None:
        return None if self.hint_template is None else gettext(self.hint_template).format(**self.params)


_HINT_SIMILAR = N_("did you mean '{suggestion}'?")
_HINT_ALLOWED = N_("allowed values: {allowed}")
_HINT_BOTH = N_("did you mean '{suggestion}'? Allowed values: {allowed}")


def _near(out: list[ConditionProblem], code: str, message: str, column: int | None, name: str,
          candidates: Iterable[str], list_allowed: bool = False, **params: Any) -> None:
    """Record a 'not among the known names' problem, with a difflib suggestion when one is close."""
    candidates = list(candidates)
    close = difflib.get_close_matches(name, candidates, n=1)
    params.update(suggestion=close[0] if close else "", allowed=", ".join(candidates))
    hint = (_HINT_BOTH if close else _HINT_ALLOWED) if list_allowed else (_HINT_SIMILAR if close else None)
    out.append(ConditionProblem(code, message, params, hint, column))


def _fits(ftype: str, value: Any) -> bool:
    if isinstance(value, bool) or ftype == "boolean":
        return isinstance(value, bool) and ftype == "boolean"
    if ftype in ("integer", "decimal"):
        return isinstance(value, (int, Decimal))
    if ftype in ("date", "datetime"):
        return isinstance(value, date)
    if ftype in ("choice", "reference"):
        return isinstance(value, (str, int))  # codes like 380 compare as the string "380"
    return ftype != "file" and isinstance(value, str)


def _check_call(call: Call, functions: Mapping[str, FunctionInfo],
                out: list[ConditionProblem]) -> FunctionInfo | None:
    info = functions.get(call.name)
    params = {"function": call.name, "argument": call.arg, "allowed": ", ".join(getattr(info, "allowed", ()) or ())}
    if info is None:
        _near(out, "C204", N_("unknown function '{function}'"), call.column, call.name, functions, **params)
    elif info.takes_argument and call.arg is None:
        out.append(ConditionProblem("C206", N_("{function}() needs an argument, e.g. {function}(name)"), params,
                                    None if info.allowed is None else _HINT_ALLOWED, call.column))
    elif not info.takes_argument and call.arg is not None:
        out.append(ConditionProblem("C205", N_("{function}() takes no argument but was given '{argument}'"),
                                    params, N_("write {function}()"), call.column))
    elif call.arg is not None and info.allowed is not None and call.arg not in info.allowed:
        _near(out, "C207", N_("'{argument}' is not a valid argument of {function}()"), call.column,
              call.arg, info.allowed, list_allowed=True, **params)
    return info


def _check_compare(node: Compare, info: FieldInfo, out: list[ConditionProblem]) -> None:
    ftype, op = info.type, node.op
    params = {"field": str(node.left), "type": ftype, "op": op}
    if op in ("is", "is not"):
        if isinstance(node.right, bool) and ftype != "boolean":
            out.append(ConditionProblem(
                "C210", N_("'{field}' is a {type} field, so '{op} {value}' is never meaningful"),
                {**params, "value": literal_text(node.right)},
                N_("use 'is null' / 'is not null', or compare with =="), node.column))
        return
    if op in ORDER_OPS and ftype not in ORDERABLE:
        out.append(ConditionProblem("C209", N_("'{field}' is a {type} field and cannot be compared with '{op}'"),
                                    params, N_("only numbers and dates have an order; use == or in"), node.column))
    for value in node.right if op in ("in", "not in") else (node.right,):
        if value is None:
            continue  # '== null' means the same as 'is null' for every type
        if not _fits(ftype, value):
            out.append(ConditionProblem("C211", N_("'{field}' is a {type} field and cannot be compared with {value}"),
                                        {**params, "value": literal_text(value)}, None, node.value_column))
        elif ftype == "choice" and info.choices is not None and str(value) not in info.choices:
            _near(out, "C208", N_("'{value}' is not a choice of '{field}'"), node.value_column, str(value),
                  info.choices, list_allowed=True, value=str(value), **params)


def check(cond: Condition, fields: Mapping[str, FieldInfo],
          collections: Mapping[str, Mapping[str, FieldInfo]] = _EMPTY,
          functions: Mapping[str, FunctionInfo] = _EMPTY) -> list[ConditionProblem]:
    """Return every problem of a parsed condition against the names the host knows, in text order."""
    out: list[ConditionProblem] = []
    for node, scope in cond.walk():
        known = fields if scope is None else collections.get(scope)
        if isinstance(node, Quantified) or isinstance(node, Compare) and isinstance(node.left, Count):
            source = node if isinstance(node, Quantified) else node.left
            if source.collection not in collections:
                _near(out, "C202", N_("unknown collection '{collection}'"), source.column, source.collection,
                      collections, collection=source.collection)
        if isinstance(node, Predicate):
            info = _check_call(node.call, functions, out)
            if info is not None and info.result is not None and info.result.type != "boolean":
                out.append(ConditionProblem("C212", N_("{function}() gives a {type} value, not true or false"),
                                            {"function": node.call.name, "type": info.result.type},
                                            N_("compare it, e.g. '{function}(...) == value'"), node.call.column))
        if not isinstance(node, Compare):
            continue
        left, info = node.left, None
        if isinstance(left, Count):
            info = FieldInfo("integer")
        elif isinstance(left, Call):
            info = getattr(_check_call(left, functions, out), "result", None)
        elif known is not None and left.name in known:
            info = known[left.name]
        elif scope is None:
            _near(out, "C201", N_("unknown field '{field}'"), left.column, left.name, fields, field=left.name)
        elif known is not None:  # in an unknown collection: reported once, as C202
            _near(out, "C203", N_("collection '{collection}' has no field '{field}'"), left.column,
                  left.name, known, field=left.name, collection=scope)
        if info is not None:
            _check_compare(node, info, out)
    return out
