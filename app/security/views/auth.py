"""Signing in and passwords: the login form and API with limits and lock-out messages, changing
one's own password (the current one is required), an admin resetting a password."""
from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.views import AuthDBView, ResetMyPasswordView, ResetPasswordView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import login_user
from werkzeug.security import check_password_hash
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from app import i18n
from app.security import audit
from app.security.limits import limiter
from app.security.manager import login_refused

POLICY = lazy_gettext("At least 10 characters, with letters and also digits or symbols.")


def refusal_message() -> str:
    """What a failed sign-in is told: locked (and until when) or just 'wrong'."""
    if login_refused() == "locked":
        until = g.get("ykt_locked_until")
        when = until.astimezone(i18n.SHANGHAI).strftime("%H:%M") if isinstance(until, dt.datetime) else ""
        return _("This account is locked after repeated wrong passwords; try again after %(time)s or ask "
                 "an administrator to unlock it.", time=when)
    return _("Wrong user name or password.")


class StaffAuthDBView(AuthDBView):
    """FAB's login form, telling a locked account apart from a wrong password."""

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if not user:
                flash(refusal_message(), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            login_user(user, remember=False)
            return redirect(next_url)
        return self.render_template(self.login_template, title=self.title, form=form, appbuilder=self.appbuilder)


class StaffSecurityApi(SecurityApi):
    """POST /api/v1/security/login: the same limits and lock-out as the form, messages in Chinese."""

    @expose("/login", methods=["POST"])
    def login(self):
        response = SecurityApi.login(self)
        if response.status_code == 401:
            return self.response(401, message=refusal_message())
        return response

    login.__doc__ = SecurityApi.login.__doc__


class ChangeMyPasswordForm(DynamicForm):
    current_password = PasswordField(lazy_gettext("Current password"), validators=[DataRequired()],
                                     widget=BS3PasswordFieldWidget())
    password = PasswordField(lazy_gettext("New password"), description=POLICY,
                             validators=[DataRequired(), PasswordComplexityValidator()],
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField(lazy_gettext("Confirm Password"),
                                  description=lazy_gettext("Please rewrite the password to confirm"),
                                  validators=[EqualTo("password", message=lazy_gettext("Passwords must match"))],
                                  widget=BS3PasswordFieldWidget())

    def validate_current_password(self, field) -> None:
        if not check_password_hash(g.user.password or "", field.data or ""):
            raise ValidationError(_("The current password is not correct."))

    def validate_password(self, field) -> None:
        if field.data and field.data == self.current_password.data:
            raise ValidationError(_("The new password must differ from the current one."))


class AdminResetPasswordForm(DynamicForm):
    password = PasswordField(lazy_gettext("Password"), description=POLICY,
                             validators=[DataRequired(), PasswordComplexityValidator()],
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField(lazy_gettext("Confirm Password"),
                                  description=lazy_gettext("Please rewrite the password to confirm"),
                                  validators=[EqualTo("password", message=lazy_gettext("Passwords must match"))],
                                  widget=BS3PasswordFieldWidget())


class StaffResetMyPasswordView(ResetMyPasswordView):
    """Changing one's own password needs the current one; other sessions and tokens are revoked."""

    class_permission_name = "ResetMyPasswordView"
    form = ChangeMyPasswordForm


class StaffResetPasswordView(ResetPasswordView):
    """An administrator sets another user's password: recorded in the action log."""

    class_permission_name = "ResetPasswordView"
    form = AdminResetPasswordForm

    def form_post(self, form) -> None:
        pk = request.args.get("pk", "")
        user = self.appbuilder.sm.get_user_by_id(pk) if pk.isdigit() else None
        if user is None:
            abort(404)
        super().form_post(form)
        audit.record("user.password_reset", user.username)


# ---------------------------------------------------------------- limits on both sign-in paths
def _failed(_response) -> bool:
    return login_refused() is not None


def _username_key() -> str:
    name = request.form.get("username") if request.form else None
    if name is None:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    return "login-user:" + (name if isinstance(name, str) else "").strip().lower()[:150]


def _per_ip() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT_PER_IP", "30 per 10 minutes")


def _per_user() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT_PER_USER", "10 per 10 minutes")


# Limits belong to the one process-wide limiter and name blueprints, not apps: register them once.
_PER_IP = limiter.shared_limit(_per_ip, "login-ip", methods=["POST"], deduct_when=_failed)
_PER_USER = limiter.shared_limit(_per_user, "login-user", methods=["POST"], deduct_when=_failed,
                                 key_func=_username_key)
_limited: set[str] = set()


def limit_sign_in(appbuilder) -> None:
    """Failed sign-ins are limited per address and per user name, the form and the API counted
    together (shared limits)."""
    for blueprint in (appbuilder.sm.auth_view.blueprint, _api_blueprint(appbuilder)):
        if blueprint.name not in _limited:
            _PER_IP(blueprint)
            _PER_USER(blueprint)
            _limited.add(blueprint.name)


def _api_blueprint(appbuilder):
    return next(api.blueprint for api in appbuilder.baseviews if isinstance(api, SecurityApi))
