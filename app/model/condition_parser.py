"""The condition parser: tokenizer and recursive-descent parser turning text into a syntax tree."""
from __future__ import annotations

import contextlib
import re
from collections import namedtuple
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Iterator

from .condition_errors import END_OF_TEXT, N_, ConditionSyntaxError
from .condition_tree import (
    COMPARE_OPS, KEYWORDS, And, Call, Compare, Condition, Count, FieldRef, Not, Or, Predicate, Quantified,
)

MAX_LENGTH = 500
MAX_DEPTH = 20
COLLECTION_FUNCTIONS = frozenset({"all", "any", "count"})
_LITERALS = {"true": True, "false": False, "null": None}
# Chinese input methods produce these easily; name the ASCII character that was meant.
_FULLWIDTH = {"（": "(", "）": ")", "，": ",", "＝": "=", "“": '"', "”": '"', "‘": "'", "’": "'",
              "［": "[", "］": "]", "【": "[", "】": "]", "！": "!", "＜": "<", "＞": ">"}


# ---------------------------------------------------------------- tokenizer

_Token = namedtuple("_Token", "kind text value column")  # kind: name, value, kw, sym, end
_TOKEN_RE = re.compile(r"(?P<ws>\s+)|(?P<sym>==|!=|<=|>=|<|>|[()\[\],])|(?P<word>-?\d[\w.\-]*)"
                       r"|(?P<name>[^\W\d]\w*)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
                       r"|(?P<quote>['\"])", re.S)  # a lone quote is one that never closes


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


# ---------------------------------------------------------------- parser

_EXPECT = {  # what the parser expected -> message; {found} is a quoted token or END_OF_TEXT
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
        found = END_OF_TEXT if tok.kind == "end" else tok.text if tok.text[0] in "'\"" else f"'{tok.text}'"
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
            return self.comparison(FieldRef(name.text, name.column))
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
        return ((self.tok.kind == "sym" and self.tok.text in COMPARE_OPS) or self.at("kw", "in")
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

    def comparison(self, left: FieldRef | Call | Count) -> Compare:
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
        if not (op_tok.kind == "sym" and op_tok.text in COMPARE_OPS):
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
