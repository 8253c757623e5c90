"""What the generated lists accept in their URL: page, page size, ordering and filters (screens),
`q` (REST API), and record ids in paths. A bad value is refused with a Chinese message before any
query runs (a 400, or a 404 for an id no record can have), instead of reaching the database."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation

import jsonschema
import prison
from flask import request
from flask_appbuilder.api.schemas import get_info_schema, get_item_schema, get_list_schema
from flask_babel import gettext as _

from app.generated.views.paging import COUNT_LIMIT, too_deep
from app.model.limits import INTEGER_MAX

MAX_PAGE = 100_000
MAX_PAGE_SIZE = 100
MAX_Q = 4000
MAX_VALUE = 200
_FLT = re.compile(r"^_flt_(\d+)_(.+)$")
_SCHEMAS = {"get_list": get_list_schema, "get": get_item_schema, "info": get_info_schema}


def record_id(text) -> int | None:
    """A path's record id as a number a row can have, else None (answered 404)."""
    text = str(text)
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= INTEGER_MAX else None


def _whole(text) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def value_problem(kind: str | None, value) -> str | None:
    """Why a filter value cannot be compared with a column of model type `kind`."""
    if isinstance(value, (list, tuple)):
        return next((p for v in value if (p := value_problem(kind, v))), None)
    if isinstance(value, (dict, float)) and kind not in ("decimal",):
        return _("A filter value is not valid.")
    text = str(value).strip()
    if len(text) > MAX_VALUE:
        return _("A filter value is too long (at most %(n)d characters).", n=MAX_VALUE)
    if kind in ("integer", "reference"):
        number = _whole(text)
        if number is None or abs(number) > INTEGER_MAX:
            return _("Filter by a whole number.")
    elif kind == "decimal":
        try:
            number = Decimal(text)
        except InvalidOperation:
            return _("Filter by a number.")
        if not number.is_finite() or abs(number) >= Decimal(10) ** 30:
            return _("Filter by a number.")
    elif kind in ("date", "datetime"):
        try:
            (dt.date if kind == "date" else dt.datetime).fromisoformat(text)
        except ValueError:
            return _("Filter by a date written as 2026-11-30.")
    elif kind == "boolean" and text.lower() not in ("y", "n", "true", "false", "1", "0"):
        return _("Filter by yes or no.")
    return None


def deep_page_message() -> str:
    return _("Only the first %(n)s records can be paged through: narrow the list with a search filter "
             "or reverse the order.", n=f"{COUNT_LIMIT:,}")


# ------------------------------------------------------------------ screens
def screen_problem(view, generated) -> str | None:
    """The first bad list argument of a screen request (any of its related lists), or None."""
    args = request.args
    for name in args:
        if name.startswith(("page_", "psize_")):
            number = _whole(args.get(name))
            if number is None or number < 0 or (name.startswith("psize_") and number < 1):
                return _("The page number or page size is not valid.")
            if name.startswith("page_") and number > MAX_PAGE:
                return _("The page number is too large (at most %(n)d).", n=MAX_PAGE)
        elif name.startswith("_od_") and args.get(name) not in ("asc", "desc"):
            return _("Order is 'asc' or 'desc'.")
    own = view.__class__.__name__
    page = _whole(args.get(f"page_{own}", "0")) or 0
    if too_deep(page, min(_whole(args.get(f"psize_{own}", "0")) or view.page_size, MAX_PAGE_SIZE)):
        return deep_page_message()
    column = args.get(f"_oc_{own}")
    if column is not None and column not in view.order_columns:
        return _("The list cannot be ordered by '%(name)s'.", name=column[:40])
    searchable = view._filters.get_search_filters()
    for name in args:
        match = _FLT.match(name)
        if not match or match.group(2) not in searchable:
            continue
        if int(match.group(1)) >= len(searchable[match.group(2)]):
            return _("A filter is not valid.")
        kind = getattr(searchable[match.group(2)][int(match.group(1))], "value_kind", None)
        problem = value_problem(kind or generated.column_type(match.group(2)), args.getlist(name))
        if problem:
            return problem
    return None


# ------------------------------------------------------------------ REST API
def parse_q(text: str):
    """The `q` argument as FAB reads it (Rison, or JSON), or raise ValueError."""
    if len(text) > MAX_Q:
        raise ValueError("too long")
    try:
        return prison.loads(text)
    except Exception:  # prison raises assorted errors on bad input (IndexError, ParserException...)
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError("not rison or json") from exc


def api_problem(api, generated, method: str) -> str | None:
    """The first bad part of a REST API call's `q`, or None."""
    text = request.args.get("q")
    if text is None or method not in _SCHEMAS:
        return None
    try:
        q = parse_q(text)
    except (ValueError, RecursionError):
        return _("The query argument q is not valid Rison or JSON.")
    if not isinstance(q, dict):
        return _("The query argument q must be an object, e.g. q=(page:0,page_size:25).")
    unknown = sorted(set(q) - set(_SCHEMAS[method]["properties"]))
    if unknown:
        return _("The query argument q does not accept '%(name)s'.", name=str(unknown[0])[:40])
    try:
        jsonschema.validate(instance=q, schema=_SCHEMAS[method])
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "q"
        return _("The query argument q is not valid at '%(name)s'.", name=where[:60])
    return _list_problem(api, generated, q) if method == "get_list" else None


def _list_problem(api, generated, q: dict) -> str | None:
    page, size = q.get("page", 0), q.get("page_size", api.page_size)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (page, size)):
        return _("The page number or page size is not valid.")
    if page < 0 or page > MAX_PAGE:
        return _("The page number is too large (at most %(n)d).", n=MAX_PAGE) if page > 0 else \
            _("The page number or page size is not valid.")
    if size < 1 and size != -1 or size == -1 and api.max_page_size != -1:
        return _("The page number or page size is not valid.")
    if too_deep(page, min(size, MAX_PAGE_SIZE) if size > 0 else MAX_PAGE_SIZE):
        return deep_page_message()
    column = q.get("order_column")
    if column is not None and column not in api.order_columns:
        return _("The list cannot be ordered by '%(name)s'.", name=column[:40])
    searchable = api._filters.get_search_filters()
    for item in q.get("filters", []):
        col, opr = item.get("col"), item.get("opr")
        if col not in searchable or "value" not in item:
            return _("A filter is not valid.")
        if opr not in {f.arg_name for f in searchable[col]}:
            return _("A filter is not valid.")
        problem = value_problem(generated.column_type(col), item.get("value"))
        if problem:
            return problem
    return None
