"""The security manager: staff users with a unit and a work phone; sign-in hardened.

- One rate limiter (``app.security.limits.limiter``), not FAB's own second one.
- Lock-out: after ``LOGIN_LOCKOUT_FAILURES`` wrong passwords in a row an account is locked for
  ``LOGIN_LOCKOUT_MINUTES`` (``locked_until``, visible and clearable on the user screen; the
  lock is written to the action log). A locked account is refused even with the right password.
- Revocation: signing out and changing a password revoke every session and JWT issued before
  (``app.security.tokens``).
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, g, jsonify
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from app.database.types import now_utc
from app.i18n import fmt_datetime
from app.security import audit, tokens
from app.security.user import StaffUser

REFUSED = "ykt_login_refused"  # on g: why the last sign-in attempt failed ("locked" or "invalid")


def login_refused() -> str | None:
    return g.get(REFUSED)


def locked(user) -> bool:
    until = getattr(user, "locked_until", None)
    return until is not None and until > now_utc()


def _json(message: str, status: int = 401):
    return jsonify(message=message, msg=message), status


class StaffSecurityManager(SecurityManager):
    user_model = StaffUser

    def create_limiter(self, app):
        """One limiter per application: ours (FAB would build a second one)."""
        from app.security.limits import limiter
        return limiter

    def create_jwt_manager(self, app):
        manager = super().create_jwt_manager(app)
        manager.additional_claims_loader(tokens.token_claims)
        manager.token_in_blocklist_loader(tokens.token_revoked)
        manager.revoked_token_loader(lambda _h, _p: _json(
            _("This token has been revoked (signed out or password changed); sign in again.")))
        manager.expired_token_loader(lambda _h, _p: _json(_("This token has expired; sign in again.")))
        manager.invalid_token_loader(lambda _reason: _json(_("The token is not valid; sign in again.")))
        manager.unauthorized_loader(lambda _reason: _json(_("Sign in first.")))
        manager.needs_fresh_token_loader(lambda _h, _p: _json(_("Sign in again to do this.")))
        return manager

    def get_user_by_id(self, pk):
        """One query per request for the signed-in user with roles, groups and unit (FAB would
        lazy-load each of them on the permission check)."""
        return self.session.scalars(select(StaffUser).options(
            joinedload(StaffUser.roles), joinedload(StaffUser.groups), joinedload(StaffUser.unit))
            .where(StaffUser.id == int(pk))).unique().one_or_none()

    def load_user(self, pk):
        """The session's user, unless the session was signed in before a sign-out or password change."""
        user = super().load_user(pk)
        if user is not None and tokens.session_revoked(user):
            return None
        return user

    def load_user_jwt(self, _jwt_header, jwt_data):
        user = g.get("ykt_jwt_user")
        if user is None or str(user.id) != str(jwt_data["sub"]):
            user = self.get_user_by_id(int(jwt_data["sub"]))
        if user is not None and user.is_active:
            g.user = user
            return user
        return None

    def is_item_public(self, permission_name, view_name) -> bool:
        """Permissions live in memory (FAB built-in roles from model.yaml); the public role has
        none, so this answers without FAB's two database queries per request."""
        return self._has_access_builtin_roles(_PUBLIC, permission_name, view_name)

    # ------------------------------------------------------------------ sign-in
    def auth_user_db(self, username, password):
        user = self.find_user(username=username) if username else None
        if user is not None and locked(user):
            # Same work as a wrong password, so the answer's timing says nothing.
            check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
            g.setdefault(REFUSED, "locked")
            g.ykt_locked_until = user.locked_until
            return None
        result = super().auth_user_db(username, password)
        if result is None:
            g.setdefault(REFUSED, "invalid")
        return result

    def update_user_auth_stat(self, user, success=True):
        # The counters live in the user's row: lock it and read them afresh, so failures made at the
        # same moment through other workers or hosts are all counted (none overwrites another).
        self.session.refresh(user, ["fail_login_count", "login_count", "locked_until"], with_for_update=True)
        newly_locked = False
        if success:
            user.locked_until = None
        else:
            failures = (user.fail_login_count or 0) + 1
            if failures >= current_app.config.get("LOGIN_LOCKOUT_FAILURES", 5):
                minutes = current_app.config.get("LOGIN_LOCKOUT_MINUTES", 15)
                user.locked_until = now_utc() + dt.timedelta(minutes=minutes)
                newly_locked = True
        super().update_user_auth_stat(user, success)
        if newly_locked:
            g.ykt_locked_until = user.locked_until
            g.setdefault(REFUSED, "locked")
            audit.record("user.locked", user.username, {"failures": user.fail_login_count,
                                                        "until": fmt_datetime(user.locked_until)},
                         user=None, session=self.session)

    def unlock(self, user) -> None:
        user.fail_login_count = 0
        user.locked_until = None
        self.update_user(user)

    # ------------------------------------------------------------------ revocation
    def on_user_logout(self, user) -> None:
        tokens.revoke_all(user, self.session)
        self.session.commit()

    def reset_password(self, userid, password):
        """Change the password and revoke every session and token issued before; the session
        that made the change (the user's own) stays signed in."""
        super().reset_password(userid, password)
        user = self.get_user_by_id(userid)
        tokens.revoke_all(user, self.session)
        self.session.commit()
        own = getattr(g, "user", None)
        if own is not None and getattr(own, "is_authenticated", False) and own.id == user.id:
            tokens.stamp_session()


class _PublicRole:
    name = "public"


_PUBLIC = _PublicRole()
