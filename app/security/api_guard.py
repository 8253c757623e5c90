"""Checks every request passes before its view runs.

- A body over ``MAX_CONTENT_LENGTH`` is refused with 413 before anything reads it.
- The REST API (``/api/``) is exempt from Flask-WTF's form CSRF check and, with
  ``allow_browser_login``, accepts the browser's session cookie. A browser sends that cookie with a
  cross-site form post too, so an unsafe API call that authenticates by the cookie must carry the
  page's CSRF token in the ``X-CSRFToken`` header (a cross-site form cannot set headers). Calls with
  an ``Authorization`` header (a bearer JWT) need none: a browser never adds one by itself.
- An unsafe API call with a body must send JSON: a ``text/plain`` body (what a cross-site form can
  send) is 400, not silently read as ``{}``; malformed JSON is 400 too.
- The workflow API's ``comment`` must be text (422 otherwise, with the field named).
- FAB's list/show actions (``/<view>/action/<name>/<pk>``, ``/<view>/action_post``) answer 404 for an
  action the view does not have or a record that does not exist (FAB would fail with a 500).
"""
from __future__ import annotations

from flask import Flask, current_app, jsonify, request, session
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge
from wtforms.validators import ValidationError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")
WORKFLOW_STEP_ENDPOINT = "WorkflowApi.post_workflow"


def _refuse(status: int, message: str, **extra):
    response = jsonify(message=message, **extra)
    response.status_code = status
    return response


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"


def cookie_authenticated() -> bool:
    """The caller is signed in by the session cookie and sent no Authorization header."""
    return "Authorization" not in request.headers and bool(session.get("_user_id"))


def _csrf_ok() -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    token = next((request.headers[h] for h in CSRF_HEADERS if request.headers.get(h)), None)
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def _unknown_action() -> bool:
    endpoint = request.endpoint or ""
    if not endpoint.endswith((".action", ".action_post")):
        return False
    view = getattr(current_app.view_functions.get(endpoint), "__self__", None)
    actions = getattr(view, "actions", None)
    if actions is None:
        return False
    if endpoint.endswith(".action_post"):
        return request.form.get("action") not in actions
    args = request.view_args or {}
    if args.get("name") not in actions:
        return True
    try:
        return view.datamodel.get(view._deserialize_pk_if_composite(args.get("pk"))) is None
    except (TypeError, ValueError, SQLAlchemyError):  # a key of the wrong type: no such record
        view.datamodel.session.rollback()
        return True


def check_request():
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length and request.content_length > limit:
        raise RequestEntityTooLarge()
    if _unknown_action():
        raise NotFound()
    if not request.path.startswith("/api/") or request.method in SAFE_METHODS:
        return None
    if cookie_authenticated() and not _csrf_ok():
        return _refuse(403, _("Calls signed in by the browser session must send the page's CSRF token in "
                              "the X-CSRFToken header (or use a bearer token)."))
    if not _has_body():
        return None
    if not request.is_json:
        return _refuse(400, _("The request body must be JSON (Content-Type: application/json)."))
    try:
        body = request.get_json()
    except BadRequest:
        return _refuse(400, _("The request body is not valid JSON."))
    if request.endpoint == WORKFLOW_STEP_ENDPOINT and isinstance(body, dict):
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            message = _("The comment must be text.")
            return _refuse(422, message, errors={"comment": message})
    return None


def init_app(app: Flask) -> None:
    app.before_request(check_request)
