"""The admin action log (操作日志): who did what, when, from where.

``record(action, target, details)`` adds one row for an administrative action: users and roles,
model apply, calendar edits, fine decisions, account lock-outs. Actions are short keys
(``user.add``, ``fine.decide``) shown with a label on the admin screen; ``details`` is a small
dict kept as JSON. The caller's transaction is used: record after the change succeeded, then
commit (``commit=True``, the default, commits the row itself).
"""
from __future__ import annotations

import getpass
import json
import logging

from flask import current_app, g, has_request_context, request
from flask_appbuilder import Model
from sqlalchemy import Column, Integer, String, Text

from app.database.types import UTCDateTime, now_utc

log = logging.getLogger(__name__)

MAX_DETAILS = 4000


class AuditEntry(Model):
    """One administrative action. Rows are only ever added."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime(), default=now_utc, nullable=False, index=True)
    user_id = Column(Integer, nullable=True, index=True)
    user_name = Column(String(256), nullable=False, default="")
    source = Column(String(16), nullable=False, default="web")  # web | api | cli
    ip = Column(String(64), nullable=False, default="")
    action = Column(String(64), nullable=False, index=True)
    target = Column(String(256), nullable=False, default="")
    details = Column(Text, nullable=False, default="")

    def __repr__(self) -> str:
        return f"{self.action} {self.target}"


def _actor(user) -> tuple[int | None, str, str, str]:
    """(user id, name, source, address) of whoever is acting now."""
    if user is None and has_request_context():
        user = getattr(g, "user", None)
    ident, name = None, ""
    if user is not None and getattr(user, "is_authenticated", False):
        ident = user.id
        full = user.get_full_name() if hasattr(user, "get_full_name") else ""
        name = f"{user.username}（{full}）" if full else user.username
    if has_request_context():
        source = "api" if request.path.startswith("/api/") else "web"
        return ident, name, source, (request.remote_addr or "")[:64]
    try:
        account = getpass.getuser()
    except Exception:  # no login name in a container: still say it came from the command line
        account = "?"
    return ident, name or f"{account}@cli", "cli", ""


def _text(details) -> str:
    if details is None:
        return ""
    text = details if isinstance(details, str) else json.dumps(details, ensure_ascii=False, default=str,
                                                                sort_keys=True)
    return text if len(text) <= MAX_DETAILS else text[:MAX_DETAILS - 1] + "…"


def record(action: str, target: str = "", details=None, *, user=None, session=None,
           commit: bool = True) -> AuditEntry:
    """Add one entry for ``action`` on ``target`` by ``user`` (default: the signed-in user)."""
    session = session or current_app.extensions["yekuotong"].db.session
    ident, name, source, ip = _actor(user)
    entry = AuditEntry(at=now_utc(), user_id=ident, user_name=name[:256], source=source, ip=ip,
                       action=action[:64], target=str(target)[:256], details=_text(details))
    session.add(entry)
    if commit:
        session.commit()
    log.info("audit %s %s by %s", action, target, name or "?")
    return entry
