"""Evaluation of a parsed condition on a record: evaluate, and explain which leaves make it false."""
from __future__ import annotations

import enum
import math
from collections import namedtuple
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from .condition_errors import N_, ConditionEvaluationError
from .condition_tree import ORDER_OPS, And, Call, Condition, Count, FieldRef, Not, Or, Predicate, Quantified

_EMPTY: Mapping = MappingProxyType({})
_Ctx = namedtuple("_Ctx", "record collections functions")  # what evaluate() was given


def _pair(value: Any, literal: Any) -> tuple[Any, Any] | None:
    """Bring a record value and a literal into one comparable domain, or None if there is none."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or literal is None:
        return None
    if isinstance(value, bool) or isinstance(literal, bool):
        return (value, literal) if isinstance(value, bool) and isinstance(literal, bool) else None
    if isinstance(value, (int, float, Decimal)) and isinstance(literal, (int, Decimal)):
        if isinstance(value, float) and not math.isfinite(value):
            return None if math.isnan(value) else (value, literal)
        # A float from a form means what it shows: 0.1 should equal the literal 0.1.
        return (Decimal(repr(value)) if isinstance(value, float) else value), literal
    if isinstance(value, date) and isinstance(literal, date):
        # Python refuses datetime < date; a datetime against a date literal compares its day.
        return (value.date() if isinstance(value, datetime) else value), literal
    return (value, literal) if isinstance(value, str) and isinstance(literal, str) else None


def _equal(value: Any, literal: Any) -> bool:
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or literal is None:
        return value is None and literal is None
    # Choice values compare as strings, so a code stored as 380 equals the choice "380" and back.
    if isinstance(literal, str) and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif isinstance(value, str) and isinstance(literal, int) and not isinstance(literal, bool):
        literal = str(literal)
    pair = _pair(value, literal)
    return pair is not None and pair[0] == pair[1]


def _value(left: FieldRef | Call | Count, ctx: _Ctx) -> Any:
    if isinstance(left, FieldRef):
        return ctx.record.get(left.name)
    if isinstance(left, Count):
        rows = ctx.collections.get(left.collection) or ()
        return sum(1 for row in rows if left.where is None or _holds(left.where, ctx._replace(record=row)))
    fn = ctx.functions.get(left.name)
    if fn is None:
        raise ConditionEvaluationError(N_("unknown function '{name}'"), {"name": left.name}, left.column)
    return fn() if left.arg is None else fn(left.arg)


def _holds(node: Condition, ctx: _Ctx) -> bool:
    if isinstance(node, (And, Or)):
        results = (_holds(c, ctx) for c in node.items)
        return all(results) if isinstance(node, And) else any(results)
    if isinstance(node, Not):
        return not _holds(node.operand, ctx)
    if isinstance(node, Predicate):
        return bool(_value(node.call, ctx))
    if isinstance(node, Quantified):
        rows = ctx.collections.get(node.collection) or ()
        results = (_holds(node.where, ctx._replace(record=row)) for row in rows)
        return all(results) if node.quantifier == "all" else any(results)
    value, op, right = _value(node.left, ctx), node.op, node.right
    if op in ("is", "is not"):
        # Identity, not truthiness: an unset boolean is neither 'is true' nor 'is false'.
        return (value is right) == (op == "is")
    if op in ("in", "not in"):
        return any(_equal(value, item) for item in right) == (op == "in")
    if op in ("==", "!="):
        return _equal(value, right) == (op == "==")
    pair = _pair(value, right)  # ordering against null or an unrelated type is simply false
    return pair is not None and not isinstance(pair[0], bool) and ORDER_OPS[op](*pair)


def evaluate(cond: Condition, record: Mapping[str, Any],
             collections: Mapping[str, Iterable[Mapping[str, Any]]] = _EMPTY,
             functions: Mapping[str, Callable[..., Any]] = _EMPTY) -> bool:
    """True when the record satisfies the condition; a missing field counts as null."""
    return _holds(cond, _Ctx(record, collections, functions))


def explain(cond: Condition, record: Mapping[str, Any],
            collections: Mapping[str, Iterable[Mapping[str, Any]]] = _EMPTY,
            functions: Mapping[str, Callable[..., Any]] = _EMPTY) -> list[str]:
    """Canonical text of the leaf conditions that make cond false; [] when it holds."""
    ctx = _Ctx(record, collections, functions)

    def failed(node: Condition) -> list[str]:
        if _holds(node, ctx):
            return []
        if isinstance(node, (And, Or)):  # a false 'or' has only false branches, all worth naming
            return [text for item in node.items for text in failed(item)]
        return [str(node)]

    return failed(cond)
