"""The syntax tree of a parsed condition: Node, Condition and its node classes, and their canonical text."""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "true", "false", "null"})
ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
COMPARE_OPS = frozenset({"==", "!="} | set(ORDER_OPS))
_BARE_RE = re.compile(r"[^\W\d_]\w*")


def _col() -> Any:
    # Positions are for messages only; two parses of equivalent text must compare equal.
    return field(default=None, compare=False, repr=False)


class Node:
    """Base of every tree node; str() gives canonical text that parse() reads back to an equal tree."""
    __slots__ = ()

    def __str__(self) -> str:
        return _text(self)


class Condition(Node):
    """A node that is true or false. Subclasses: Or, And, Not, Compare, Predicate, Quantified."""
    __slots__ = ()

    def walk(self, scope: str | None = None) -> Iterator[tuple[Condition, str | None]]:
        """Yield (node, collection name or None) for this node and all below it, parents first."""
        yield self, scope
        if isinstance(self, (And, Or)):
            children = [(c, scope) for c in self.items]
        elif isinstance(self, Not):
            children = [(self.operand, scope)]
        elif isinstance(self, Quantified):
            children = [(self.where, self.collection)]
        elif isinstance(self, Compare) and isinstance(self.left, Count) and self.left.where is not None:
            children = [(self.left.where, self.left.collection)]
        else:
            children = []
        for child, child_scope in children:
            yield from child.walk(child_scope)

    def fields(self) -> set[str]:
        return {n.left.name for n, s in self.walk() if s is None and isinstance(n, Compare)
                and isinstance(n.left, FieldRef)}

    def collections(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for node, scope in self.walk():
            if isinstance(node, Quantified) or isinstance(node, Compare) and isinstance(node.left, Count):
                out.setdefault(getattr(node, "collection", None) or node.left.collection, set())
            if scope is not None and isinstance(node, Compare) and isinstance(node.left, FieldRef):
                out[scope].add(node.left.name)
        return out

    def functions(self) -> set[tuple[str, str | None]]:
        calls = [n.call if isinstance(n, Predicate) else getattr(n, "left", None) for n, _ in self.walk()]
        return {(c.name, c.arg) for c in calls if isinstance(c, Call)}


@dataclass(frozen=True)
class FieldRef(Node):
    name: str
    column: int | None = _col()


@dataclass(frozen=True)
class Call(Node):
    name: str
    arg: str | None = None
    column: int | None = _col()


@dataclass(frozen=True)
class Count(Node):
    collection: str
    where: Condition | None = None
    column: int | None = _col()


@dataclass(frozen=True)
class Or(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class And(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not(Condition):
    operand: Condition


@dataclass(frozen=True)
class Compare(Condition):
    left: FieldRef | Call | Count
    op: str  # == != < <= > >= in 'not in' is 'is not'
    right: Any  # int, Decimal, str, bool, None, date; a tuple of those for in / not in
    column: int | None = _col()  # of the operator
    value_column: int | None = _col()


@dataclass(frozen=True)
class Predicate(Condition):
    call: Call


@dataclass(frozen=True)
class Quantified(Condition):
    quantifier: str  # all | any
    collection: str
    where: Condition
    column: int | None = _col()


def literal_text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, tuple):
        return "[" + ", ".join(literal_text(v) for v in value) + "]"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if _BARE_RE.fullmatch(value) and value not in KEYWORDS:
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _text(n: Node) -> str:
    def wrap(child: Node, kinds: tuple) -> str:
        return f"({child})" if isinstance(child, kinds) else str(child)
    if isinstance(n, FieldRef):
        return n.name
    if isinstance(n, Call):
        return f"{n.name}({n.arg or ''})"
    if isinstance(n, Count):
        return f"count({n.collection}{'' if n.where is None else f', {n.where}'})"
    if isinstance(n, Quantified):
        return f"{n.quantifier}({n.collection}, {n.where})"
    if isinstance(n, Compare):
        return f"{n.left} {n.op} {literal_text(n.right)}"
    if isinstance(n, Predicate):
        return str(n.call)
    if isinstance(n, Not):
        return "not " + wrap(n.operand, (And, Or))
    word, kinds = ("and", (Or,)) if isinstance(n, And) else ("or", ())
    return f" {word} ".join(wrap(c, kinds) for c in n.items)
