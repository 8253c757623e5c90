"""Safe declarative condition language for workflow guards and fine rules: parse, check, evaluate.

Admin-written text goes through a hand-written tokenizer and recursive-descent parser only: it
never reaches eval/exec/compile, getattr or imports. A bare name right of a comparison is a string
(a choice value); inside all/any/count the condition names fields of each row of the collection.

Problem codes returned by check() (stable; templates are English, marked with N_ for babel):

====  =====================================================================
code  meaning
====  =====================================================================
C201  unknown field (hint: closest known name)
C202  unknown collection in all()/any()/count()
C203  field not in that collection
C204  unknown function
C205  function takes no argument but one was given
C206  function needs an argument but none was given
C207  argument not among the function's allowed values
C208  value not among the choices of a choice field
C209  <, <=, >, >= on a type without order (only integer, decimal, date, datetime)
C210  'is true' / 'is false' on a non-boolean
C211  value of the wrong type for the field (e.g. a word compared with an integer)
C212  function that returns a non-boolean value used alone as a condition
====  =====================================================================
"""
from __future__ import annotations

import contextlib
import difflib
import enum
import math
import operator
import re
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping

N_ = lambda s: s  # noqa: E731 - no-op marker so babel extracts message templates

MAX_LENGTH = 500
MAX_DEPTH = 20
FIELD_TYPES = frozenset({"string", "text", "integer", "decimal", "date", "datetime",
                         "boolean", "choice", "reference", "file"})
ORDERABLE = frozenset({"integer", "decimal", "date", "datetime"})
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "true", "false", "null"})
COLLECTION_FUNCTIONS = frozenset({"all", "any", "count"})
_EMPTY: Mapping = MappingProxyType({})
_ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_COMPARE_OPS = frozenset({"==", "!="} | set(_ORDER_OPS))
_LITERALS = {"true": True, "false": False, "null": None}
_END = N_("end of text")
# Chinese input methods produce these easily; name the ASCII character that was meant.
_FULLWIDTH = {"（": "(", "）": ")", "，": ",", "＝": "=", "“": '"', "”": '"', "‘": "'", "’": "'",
              "［": "[", "］": "]", "【": "[", "】": "]", "！": "!", "＜": "<", "＞": ">"}


class ConditionError(Exception):
    """Base error: an untranslated message template, its params and a 1-based column."""

    def __init__(self, message_template: str, params: Mapping[str, Any] | None = None,
                 column: int | None = None):
        self.message_template, self.params, self.column = message_template, dict(params or {}), column
        super().__init__(self.render())

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        # "end of text" stands in for a token in 'found ...' messages, so it is translated too.
        params = {k: gettext(v) if v == _END else v for k, v in self.params.items()}
        text = gettext(self.message_template).format(**params)
        if self.column is None:
            return text
        return gettext(N_("{message} (column {column})")).format(message=text, column=self.column)


class ConditionSyntaxError(ConditionError):
    """The text is not a valid condition."""


class ConditionEvaluationError(ConditionError):
    """Evaluation needed something the host did not supply (an unknown function)."""


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
class Problem:
    code: str
    message_template: str
    params: Mapping[str, Any]
    hint_template: str | None = None
    column: int | None = None

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        return gettext(self.message_template).format(**self.params)

    def render_hint(self, gettext: Callable[[str], str] = lambda s: s) -> str | None:
        return None if self.hint_template is None else gettext(self.hint_template).format(**self.params)


# ---------------------------------------------------------------- tokenizer

_Token = namedtuple("_Token", "kind text value column")  # kind: name, value, kw, sym, end
_TOKEN_RE = re.compile(r"(?P<ws>\s+)|(?P<sym>==|!=|<=|>=|<|>|[()\[\],])|(?P<word>-?\d[\w.\-]*)"
                       r"|(?P<name>[^\W\d]\w*)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
                       r"|(?P<quote>['\"])", re.S)  # a lone quote is one that never closes
_BARE_RE = re.compile(r"[^\W\d_]\w*")


def _lex(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m, col = _TOKEN_RE.match(text, pos), pos + 1
        if m is None:
            ch = text[pos]
            if ch in _FULLWIDTH:
                raise ConditionSyntaxError(N_("full-width character '{char}' is not allowed; use '{ascii}'"),
                                           {"char": ch, "ascii": _FULLWIDTH[ch]}, col)
            if ch == "=":
                raise ConditionSyntaxError(N_("unexpected '='; use '==' to compare"), {}, col)
            raise ConditionSyntaxError(N_("unexpected character '{char}'"), {"char": ch}, col)
        kind, word, pos = m.lastgroup, m.group(), m.end()
        if kind == "quote":
            raise ConditionSyntaxError(N_("unterminated string: expected a closing {quote} before end of text"),
                                       {"quote": word}, col)
        if kind == "str":  # a backslash makes the next character literal
            tokens.append(_Token("value", word, re.sub(r"\\(.)", r"\1", word[1:-1], flags=re.S), col))
        elif kind == "word":
            tokens.append(_Token("value", word, _number_or_date(word, col), col))
        elif kind == "name" and word.startswith("_"):
            # Dunder-looking names have no business in a model; refusing them keeps probes obvious.
            raise ConditionSyntaxError(N_("names may not start with '_' ('{name}')"), {"name": word}, col)
        elif kind == "name":
            tokens.append(_Token("value", word, _LITERALS[word], col) if word in _LITERALS
                          else _Token("kw" if word in KEYWORDS else "name", word, word, col))
        elif kind == "sym":
            tokens.append(_Token("sym", word, None, col))
    tokens.append(_Token("end", "", None, len(text) + 1))
    return tokens


def _number_or_date(word: str, col: int) -> int | Decimal | date:
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    if re.fullmatch(r"-?\d+\.\d+", word):
        return Decimal(word)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            return date.fromisoformat(word)
        except ValueError as exc:
            raise ConditionSyntaxError(N_("'{text}' is not a valid date"), {"text": word}, col) from exc
    raise ConditionSyntaxError(N_("'{text}' is not a valid number or date (YYYY-MM-DD)"), {"text": word}, col)


# ---------------------------------------------------------------- syntax tree

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
                and isinstance(n.left, Field)}

    def collections(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for node, scope in self.walk():
            if isinstance(node, Quantified) or isinstance(node, Compare) and isinstance(node.left, Count):
                out.setdefault(getattr(node, "collection", None) or node.left.collection, set())
            if scope is not None and isinstance(node, Compare) and isinstance(node.left, Field):
                out[scope].add(node.left.name)
        return out

    def functions(self) -> set[tuple[str, str | None]]:
        calls = [n.call if isinstance(n, Predicate) else getattr(n, "left", None) for n, _ in self.walk()]
        return {(c.name, c.arg) for c in calls if isinstance(c, Call)}


@dataclass(frozen=True)
class Field(Node):
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
    left: Field | Call | Count
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


def _literal(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
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
    if isinstance(n, Field):
        return n.name
    if isinstance(n, Call):
        return f"{n.name}({n.arg or ''})"
    if isinstance(n, Count):
        return f"count({n.collection}{'' if n.where is None else f', {n.where}'})"
    if isinstance(n, Quantified):
        return f"{n.quantifier}({n.collection}, {n.where})"
    if isinstance(n, Compare):
        return f"{n.left} {n.op} {_literal(n.right)}"
    if isinstance(n, Predicate):
        return str(n.call)
    if isinstance(n, Not):
        return "not " + wrap(n.operand, (And, Or))
    word, kinds = ("and", (Or,)) if isinstance(n, And) else ("or", ())
    return f" {word} ".join(wrap(c, kinds) for c in n.items)


# ---------------------------------------------------------------- parser

_EXPECT = {  # what the parser expected -> message; {found} is a quoted token or _END
    "condition": N_("expected a condition (a field, a function or '(') but found {found}"),
    "operator": N_("expected ==, !=, <, <=, >, >=, in, not in, is or is not after '{after}' but found {found}"),
    "value": N_("expected a value after '{after}' but found {found}"),
    "is_value": N_("expected true, false or null after '{after}' but found {found}"),
    "list": N_("expected a list such as [a, b] after '{after}' but found {found}"),
    "list_item": N_("expected ',' or ']' in the list but found {found}"),
    "close": N_("expected ')' to close the '(' at column {open} but found {found}"),
    "argument": N_("expected a name or ')' after '{name}(' but found {found}"),
    "collection": N_("expected a collection name after '{name}(' but found {found}"),
    "comma": N_("expected ',' and a condition after '{after}' in {name}(...) but found {found}"),
    "end": N_("expected 'and', 'or' or end of text but found {found}"),
}


class _Parser:
    def __init__(self, text: str):
        self.tokens, self.i, self.depth, self.inside = _lex(text), 0, 0, None

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def at(self, kind: str, text: str | None = None, ahead: int = 0) -> bool:
        tok = self.tokens[min(self.i + ahead, len(self.tokens) - 1)]
        return tok.kind == kind and (text is None or tok.text == text)

    def take(self) -> _Token:
        tok = self.tok
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def fail(self, expected: str, **params: Any) -> None:
        tok = self.tok
        found = _END if tok.kind == "end" else tok.text if tok.text[0] in "'\"" else f"'{tok.text}'"
        params.setdefault("after", self.tokens[self.i - 1].text if self.i else "")
        raise ConditionSyntaxError(_EXPECT[expected], {**params, "found": found}, tok.column)

    @contextlib.contextmanager
    def nested(self, column: int) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionSyntaxError(N_("the condition is nested too deeply (at most {limit} levels)"),
                                       {"limit": MAX_DEPTH}, column)
        yield
        self.depth -= 1

    def close(self, open_column: int) -> None:
        if not self.at("sym", ")"):
            self.fail("close", open=open_column)
        self.take()

    def condition(self) -> Condition:
        return self.chain("or", Or, lambda: self.chain("and", And, self.not_cond))

    def chain(self, word: str, cls: type, sub: Callable[[], Condition]) -> Condition:
        items = [sub()]
        while self.at("kw", word):
            self.take()
            items.append(sub())
        # Flatten so 'a and (b and c)' and 'a and b and c' are one tree and print alike.
        flat = [x for item in items for x in (item.items if isinstance(item, cls) else (item,))]
        return flat[0] if len(flat) == 1 else cls(tuple(flat))

    def not_cond(self) -> Condition:
        if self.at("kw", "not"):
            with self.nested(self.take().column):
                return Not(self.not_cond())
        if self.at("sym", "("):
            opening = self.take()
            with self.nested(opening.column):
                inner = self.condition()
            self.close(opening.column)
            return inner
        if not self.at("name"):
            self.fail("condition")
        name = self.take()
        if not self.at("sym", "("):
            return self.comparison(Field(name.text, name.column))
        left, compared = self.call(name), self.at_comparison()
        if isinstance(left, Quantified) and compared:
            raise ConditionSyntaxError(N_("{name}(...) is already a condition and cannot be compared"),
                                       {"name": name.text}, self.tok.column)
        if isinstance(left, Count) and not compared:
            raise ConditionSyntaxError(N_("count(...) gives a number; compare it, e.g. 'count(...) > 0'"),
                                       {}, self.tok.column)
        if not compared:
            return left if isinstance(left, Quantified) else Predicate(left)
        return self.comparison(left)

    def at_comparison(self) -> bool:
        return ((self.tok.kind == "sym" and self.tok.text in _COMPARE_OPS) or self.at("kw", "in")
                or self.at("kw", "is") or (self.at("kw", "not") and self.at("kw", "in", ahead=1)))

    def call(self, name: _Token) -> Call | Count | Quantified:
        opening = self.take()
        if name.text not in COLLECTION_FUNCTIONS:
            arg = self.take().text if self.at("name") else None
            if arg is None and not self.at("sym", ")"):
                self.fail("argument", name=name.text)
            self.close(opening.column)
            return Call(name.text, arg, name.column)
        if self.inside:
            raise ConditionSyntaxError(N_("{name}(...) cannot be used inside {outer}(...)"),
                                       {"name": name.text, "outer": self.inside}, name.column)
        if not self.at("name"):
            self.fail("collection", name=name.text)
        collection, where = self.take().text, None
        if name.text != "count" or self.at("sym", ","):
            if not self.at("sym", ","):
                self.fail("comma", name=name.text)
            self.take()
            self.inside = name.text
            with self.nested(name.column):
                where = self.condition()
            self.inside = None
        self.close(opening.column)
        if name.text == "count":
            return Count(collection, where, name.column)
        return Quantified(name.text, collection, where, name.column)

    def comparison(self, left: Field | Call | Count) -> Compare:
        op_tok = self.tok
        if self.at("kw", "is"):
            op = "is not" if self.at("kw", "not", ahead=1) else "is"
            self.i += len(op.split())
            if not (self.at("value") and self.tok.text in _LITERALS):
                self.fail("is_value", after=op)
            return Compare(left, op, self.tok.value, op_tok.column, self.take().column)
        if self.at("kw", "in") or (self.at("kw", "not") and self.at("kw", "in", ahead=1)):
            op = "in" if self.at("kw", "in") else "not in"
            self.i += len(op.split())
            items, start = self.list_value(op)
            return Compare(left, op, items, op_tok.column, start)
        if not (op_tok.kind == "sym" and op_tok.text in _COMPARE_OPS):
            self.fail("operator")
        self.take()
        value_tok = self.scalar(op_tok.text)
        return Compare(left, op_tok.text, value_tok.value, op_tok.column, value_tok.column)

    def scalar(self, after: str) -> _Token:
        if not (self.at("value") or self.at("name")):
            self.fail("value", after=after)
        return self.take()

    def list_value(self, after: str) -> tuple[tuple, int]:
        if not self.at("sym", "["):
            self.fail("list", after=after)
        start, items = self.take().column, []
        while not self.at("sym", "]"):
            items.append(self.scalar(self.tokens[self.i - 1].text).value)
            if self.at("sym", ","):
                self.take()
            elif not self.at("sym", "]"):
                self.fail("list_item")
        self.take()
        return tuple(items), start


def parse(text: str) -> Condition:
    """Parse condition text; raises ConditionSyntaxError saying what was expected and where."""
    if len(text) > MAX_LENGTH:
        raise ConditionSyntaxError(N_("the condition is too long ({length} characters, at most {limit})"),
                                   {"length": len(text), "limit": MAX_LENGTH}, MAX_LENGTH + 1)
    if not text.strip():
        raise ConditionSyntaxError(N_("the condition is empty; expected e.g. 'field == value'"), {}, 1)
    parser = _Parser(text)
    cond = parser.condition()
    if not parser.at("end"):
        parser.fail("end")
    return cond


# ---------------------------------------------------------------- checking

_HINT_SIMILAR = N_("did you mean '{suggestion}'?")
_HINT_ALLOWED = N_("allowed values: {allowed}")
_HINT_BOTH = N_("did you mean '{suggestion}'? Allowed values: {allowed}")


def _near(out: list[Problem], code: str, message: str, column: int | None, name: str,
          candidates: Iterable[str], list_allowed: bool = False, **params: Any) -> None:
    """Record a 'not among the known names' problem, with a difflib suggestion when one is close."""
    candidates = list(candidates)
    close = difflib.get_close_matches(name, candidates, n=1)
    params.update(suggestion=close[0] if close else "", allowed=", ".join(candidates))
    hint = (_HINT_BOTH if close else _HINT_ALLOWED) if list_allowed else (_HINT_SIMILAR if close else None)
    out.append(Problem(code, message, params, hint, column))


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


def _check_call(call: Call, functions: Mapping[str, FunctionInfo], out: list[Problem]) -> FunctionInfo | None:
    info = functions.get(call.name)
    params = {"function": call.name, "argument": call.arg, "allowed": ", ".join(getattr(info, "allowed", ()) or ())}
    if info is None:
        _near(out, "C204", N_("unknown function '{function}'"), call.column, call.name, functions, **params)
    elif info.takes_argument and call.arg is None:
        out.append(Problem("C206", N_("{function}() needs an argument, e.g. {function}(name)"), params,
                           None if info.allowed is None else _HINT_ALLOWED, call.column))
    elif not info.takes_argument and call.arg is not None:
        out.append(Problem("C205", N_("{function}() takes no argument but was given '{argument}'"),
                           params, N_("write {function}()"), call.column))
    elif call.arg is not None and info.allowed is not None and call.arg not in info.allowed:
        _near(out, "C207", N_("'{argument}' is not a valid argument of {function}()"), call.column,
              call.arg, info.allowed, list_allowed=True, **params)
    return info


def _check_compare(node: Compare, info: FieldInfo, out: list[Problem]) -> None:
    ftype, op = info.type, node.op
    params = {"field": str(node.left), "type": ftype, "op": op}
    if op in ("is", "is not"):
        if isinstance(node.right, bool) and ftype != "boolean":
            out.append(Problem("C210", N_("'{field}' is a {type} field, so '{op} {value}' is never meaningful"),
                               {**params, "value": _literal(node.right)},
                               N_("use 'is null' / 'is not null', or compare with =="), node.column))
        return
    if op in _ORDER_OPS and ftype not in ORDERABLE:
        out.append(Problem("C209", N_("'{field}' is a {type} field and cannot be compared with '{op}'"),
                           params, N_("only numbers and dates have an order; use == or in"), node.column))
    for value in node.right if op in ("in", "not in") else (node.right,):
        if value is None:
            continue  # '== null' means the same as 'is null' for every type
        if not _fits(ftype, value):
            out.append(Problem("C211", N_("'{field}' is a {type} field and cannot be compared with {value}"),
                               {**params, "value": _literal(value)}, None, node.value_column))
        elif ftype == "choice" and info.choices is not None and str(value) not in info.choices:
            _near(out, "C208", N_("'{value}' is not a choice of '{field}'"), node.value_column, str(value),
                  info.choices, list_allowed=True, value=str(value), **params)


def check(cond: Condition, fields: Mapping[str, FieldInfo],
          collections: Mapping[str, Mapping[str, FieldInfo]] = _EMPTY,
          functions: Mapping[str, FunctionInfo] = _EMPTY) -> list[Problem]:
    """Return every problem of a parsed condition against the names the host knows, in text order."""
    out: list[Problem] = []
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
                out.append(Problem("C212", N_("{function}() gives a {type} value, not true or false"),
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


# ---------------------------------------------------------------- evaluation

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


def _value(left: Field | Call | Count, ctx: _Ctx) -> Any:
    if isinstance(left, Field):
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
    return pair is not None and not isinstance(pair[0], bool) and _ORDER_OPS[op](*pair)


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
