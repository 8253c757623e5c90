"""Signing out and changing a password revoke every session and JWT issued before.

Each user has ``tokens_valid_after`` (a UTC time; NULL: nothing revoked). A session records when
it signed in (``session["ykt_auth_at"]``), a JWT carries its exact issue time (claim ``ykt_iat``;
``iat`` has whole seconds only). Anything issued before the user's ``tokens_valid_after`` is
refused: a copied session cookie, an access token and a 30-day refresh token alike.
"""
from __future__ import annotations

import time

from flask import current_app, g, has_request_context, session

from app.database.types import now_utc

SESSION_KEY = "ykt_auth_at"
CLAIM = "ykt_iat"


def revoked(user, issued_at: float | None) -> bool:
    cutoff = getattr(user, "tokens_valid_after", None)
    if cutoff is None:
        return False
    return issued_at is None or float(issued_at) < cutoff.timestamp()


def revoke_all(user, db_session) -> None:
    """Revoke every session and token of ``user`` issued until now (the caller commits)."""
    user.tokens_valid_after = now_utc()
    db_session.add(user)


def stamp_session() -> None:
    """Mark the current browser session as signed in now (after any revocation)."""
    if has_request_context():
        session[SESSION_KEY] = time.time()


def session_revoked(user) -> bool:
    return has_request_context() and revoked(user, session.get(SESSION_KEY))


def token_claims(_identity) -> dict:
    return {CLAIM: time.time()}


def token_revoked(_jwt_header, jwt_payload: dict) -> bool:
    """flask-jwt-extended's blocklist check: the token's user is gone, inactive or signed out since."""
    try:
        pk = int(jwt_payload.get("sub"))
    except (TypeError, ValueError):
        return True
    user = current_app.appbuilder.sm.get_user_by_id(pk)
    if user is None or not user.is_active:
        return True
    g.ykt_jwt_user = user  # the user lookup that follows reuses it (one query per request)
    return revoked(user, jwt_payload.get(CLAIM, jwt_payload.get("iat")))
