"""What pydantic found wrong with a value, in words the model's author reads in their language.

pydantic's own messages are English sentences ("Input should be a valid integer, unable to parse
string as an integer"); `model check` shows a message template per error type instead, translated
when printed like every other problem. The parameters come from pydantic's context (limits, the
allowed values), never from its English text."""
from __future__ import annotations

from typing import Any

from app.model.problems import Msg, N_

_WHOLE = N_("expected a whole number, found '{input}'")
_NUMBER = N_("expected a number, found '{input}'")
_TEXT = N_("expected text, found '{input}'")
_YES_NO = N_("expected true or false, found '{input}'")
_DATE = N_("expected a date such as 2026-01-31, found '{input}'")
_MAPPING = N_("expected a mapping of keys and values (key: value)")
_LIST = N_("expected a list (- item)")

#: pydantic error type -> message template; {input} and the names of pydantic's context.
TEMPLATES = {
    "int_parsing": _WHOLE, "int_type": _WHOLE, "int_from_float": _WHOLE,
    "float_parsing": _NUMBER, "float_type": _NUMBER, "decimal_parsing": _NUMBER, "decimal_type": _NUMBER,
    "finite_number": N_("expected a finite number, found '{input}'"),
    "decimal_max_digits": N_("at most {max_digits} digits are allowed"),
    "decimal_max_places": N_("at most {decimal_places} decimal places are allowed"),
    "string_type": _TEXT, "string_sub_type": _TEXT,
    "bool_parsing": _YES_NO, "bool_type": _YES_NO,
    "date_parsing": _DATE, "date_type": _DATE, "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "dict_type": _MAPPING, "model_type": _MAPPING, "model_attributes_type": _MAPPING,
    "list_type": _LIST, "tuple_type": _LIST, "set_type": _LIST,
    "literal_error": N_("'{input}' is not allowed here: use one of {expected}"),
    "enum": N_("'{input}' is not allowed here: use one of {expected}"),
    "greater_than": N_("must be greater than {gt}, found '{input}'"),
    "greater_than_equal": N_("must be at least {ge}, found '{input}'"),
    "less_than": N_("must be less than {lt}, found '{input}'"),
    "less_than_equal": N_("must be at most {le}, found '{input}'"),
    "string_too_short": N_("must not be empty (at least {min_length} character(s))"),
    "string_too_long": N_("is too long: at most {max_length} characters"),
    "string_pattern_mismatch": N_("'{input}' does not have the required form"),
    "too_short": N_("needs at least {min_length} item(s)"),
    "too_long": N_("allows at most {max_length} item(s)"),
    "none_required": N_("must be empty"),
    "union_tag_invalid": N_("'{input}' is not allowed here"),
    "union_tag_not_found": N_("a key saying which kind of entry this is is missing"),
    "frozen_field": N_("cannot be changed"),
    "value_error": N_("'{input}' is not allowed here"),
    "missing": N_("a required key is missing"),
    "extra_forbidden": N_("this key is not allowed here"),
}
FALLBACK = N_("the value '{input}' is not allowed here ({kind})")


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(text: str) -> str:
    """pydantic's "'a', 'b' or 'c'" without the English 'or': 'a', 'b', 'c'."""
    return text.replace(" or ", ", ")


def detail(error: dict) -> Msg:
    """The message of one pydantic error (an item of ``ValidationError.errors()``)."""
    kind = error.get("type", "")
    ctx = {k: _shown(v) for k, v in (error.get("ctx") or {}).items()}
    if "expected" in ctx:
        ctx["expected"] = _expected(ctx["expected"])
    params = {"input": _shown(error.get("input")), "kind": kind, **ctx}
    template = TEMPLATES.get(kind, FALLBACK)
    try:
        template.format(**params)
    except (KeyError, IndexError):  # a context pydantic did not give this time
        template = FALLBACK
    return Msg(template, tuple(params.items()))
