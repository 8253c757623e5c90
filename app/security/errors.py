"""Error answers: a Chinese message, never a traceback; JSON under /api/, a page elsewhere.

The message depends on the status only: an exception's description (werkzeug's English text, a
parser's detail) is never shown; a view that has something to say returns its own response.

Also bounds log records: a request that fails deep inside a parser must not write a 150 KB
traceback per request, and an attacker-chosen message (a 20 MB body echoed in an error) must not
fill the disk. Every record's message and traceback are cut to ``MAX_LOG_CHARS``.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template_string, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app import i18n

log = logging.getLogger(__name__)

#: Longest message and longest traceback of one log record, in characters.
MAX_LOG_CHARS = 8000

MESSAGES = {
    400: lazy_gettext("The request is not valid."),
    401: lazy_gettext("Sign in first."),
    403: lazy_gettext("You may not do this."),
    404: lazy_gettext("Not found: there is nothing at this address."),
    405: lazy_gettext("This address does not accept the %(method)s method."),
    409: lazy_gettext("The request conflicts with the current state; reload and try again."),
    413: lazy_gettext("The request is too large: at most %(limit)s are accepted."),
    415: lazy_gettext("The request body has an unsupported type."),
    422: lazy_gettext("The request could not be processed."),
    429: lazy_gettext("Too many requests; please wait a moment and try again."),
    500: lazy_gettext("An internal error occurred; it has been logged for the administrator."),
}

#: Fixed English messages of Flask-AppBuilder's REST API, shown to users in their language.
FAB_API_MESSAGES = {
    "Not found": MESSAGES[404],
    "Not authorized": MESSAGES[401],
    "Forbidden": MESSAGES[403],
    "Fatal error": MESSAGES[500],
    "Request is not JSON": lazy_gettext("The request body must be JSON (Content-Type: application/json)."),
    "Request payload is not JSON": lazy_gettext("The request body must be JSON (Content-Type: application/json)."),
}

#: What happened, as the page's heading; the message below says why and what to do.
TITLES = {
    403: lazy_gettext("No access"),
    404: lazy_gettext("Page not found"),
    500: lazy_gettext("Something went wrong"),
}

ERROR_PAGE = """{% extends appbuilder.base_template %}
{% block content %}
<div class="panel panel-danger" id="error-page" data-status="{{ status }}">
  <div class="panel-heading"><h4 class="panel-title">{{ title }}</h4></div>
  <div class="panel-body"><p id="error-message">{{ message }}</p>
  {% if back %}<a class="btn btn-default" id="error-back" href="{{ back }}">{{ back_text }}</a>{% endif %}
  <a class="btn btn-primary" id="error-home" href="{{ appbuilder.get_url_for_index }}">{{ home }}</a></div>
</div>
{% endblock %}"""

PLAIN_PAGE = """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p id="error-message">{{ message }}</p><p><a href="/">{{ home }}</a></p></body></html>"""


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _size(limit: int | None) -> str:
    if not limit:
        return "?"
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit / 1024:g} KB"


def message_for(status: int) -> str:
    if status == 405:
        return _("This address does not accept the %(method)s method.", method=request.method)
    if status == 413:
        return _("The request is too large: at most %(limit)s are accepted.",
                 limit=_size(current_app.config.get("MAX_CONTENT_LENGTH")))
    return str(MESSAGES.get(status) or MESSAGES[500 if status >= 500 else 400])


def _back() -> str | None:
    """The page the user came from, when it is one of this site's (never another host's)."""
    referrer = request.referrer or ""
    host = request.host_url
    if referrer.startswith(host) and referrer.rstrip("/") != request.url.rstrip("/"):
        return referrer
    return None


def _signed_in() -> bool:
    return bool(getattr(current_user, "is_authenticated", False))


def error_response(status: int, message: str, headers=None):
    """The answer for a refused or failed request: JSON for the API (or a JSON client), else a page:
    inside the app's layout with its menu for a signed-in user, a plain one otherwise."""
    if wants_json():
        response = jsonify(message=message)
    else:
        if "user" not in g:  # refused before FAB's own before_request ran (CSRF, size, rate limit)
            g.user = current_user
        appbuilder = getattr(current_app, "appbuilder", None)
        title = str(TITLES.get(status) or _("Error %(status)d", status=status))
        lang = "en" if i18n.is_english() else "zh"
        try:
            if appbuilder is None or not _signed_in():
                raise LookupError("plain page")
            if status >= 500:  # a failed transaction must not break the menu's own queries
                current_app.extensions["yekuotong"].db.session.rollback()
            html = render_template_string(ERROR_PAGE, appbuilder=appbuilder,
                                          base_template=appbuilder.base_template, status=status, title=title,
                                          message=message, home=_("Back to the workbench"), back=_back(),
                                          back_text=_("Back to the previous page"))
        except Exception as exc:  # anonymous, or the page itself failed: the plain one needs nothing
            if not isinstance(exc, LookupError):
                log.exception("error page %d could not be rendered", status)
            html = render_template_string(PLAIN_PAGE, title=title, message=message, home=_("Home"), lang=lang)
        response = current_app.response_class(html, mimetype="text/html")
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if status == 500:
        return _server_error(exc)
    headers = {}
    if status == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    retry = getattr(exc, "retry_after", None)
    if status == 429:
        limit = getattr(exc, "limit", None)
        if limit is not None:
            headers["Retry-After"] = str(int(limit.limit.get_expiry()))
    elif retry:
        headers["Retry-After"] = str(retry)
    return error_response(status, message_for(status), headers)


def _csrf_error(exc: CSRFError):
    return error_response(400, _("The form has expired or did not come from this site; reload the page "
                                 "and try again."))


def _server_error(_exc):
    # Flask has logged the exception (log_exception), bounded by the record factory below.
    return error_response(500, message_for(500))


def translate_api_messages(response):
    """FAB's REST API answers some errors with fixed English messages: give them in Chinese."""
    if not request.path.startswith("/api/") or response.status_code < 400 or not response.is_json:
        return response
    body = response.get_json(silent=True)
    if isinstance(body, dict):
        changed = False
        for key in ("message", "msg"):
            text = body.get(key)
            if isinstance(text, str) and text in FAB_API_MESSAGES:
                body[key] = str(FAB_API_MESSAGES[text])
                changed = True
        if "msg" in body and "message" not in body:  # flask-jwt-extended: {"msg": "Token has expired"}
            body["message"] = jwt_message(body["msg"])
            changed = True
        if changed:
            response.set_data(current_app.json.dumps(body))
    return response


def jwt_message(text) -> str:
    text = str(text)
    if "revoked" in text:
        return _("This token has been revoked (signed out or password changed); sign in again.")
    if "expired" in text:
        return _("This token has expired; sign in again.")
    return str(MESSAGES[401])


# ---------------------------------------------------------------- bounded log records
def bound(text: str, limit: int = MAX_LOG_CHARS) -> str:
    """``text`` cut to ``limit`` characters, keeping its head and its (more telling) tail."""
    if len(text) <= limit:
        return text
    head, tail = limit // 4, limit - limit // 4
    return f"{text[:head]}\n... [{len(text) - head - tail} characters omitted] ...\n{text[-tail:]}"


_formatter = logging.Formatter()


def _bounded_factory(factory):
    def make(*args, **kwargs):
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
            if len(message) > MAX_LOG_CHARS:
                record.msg, record.args = bound(message), None
            if record.exc_info and not record.exc_text:
                record.exc_text = bound(_formatter.formatException(record.exc_info))
        except Exception:  # a broken record is logging's business, not ours
            pass
        return record
    make.ykt_bounded = True
    return make


def bound_log_records() -> None:
    """Install the bounding record factory once per process (every logger, every handler)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "ykt_bounded", False):
        logging.setLogRecordFactory(_bounded_factory(factory))


def init_app(app: Flask) -> None:
    bound_log_records()
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.after_request(translate_api_messages)
