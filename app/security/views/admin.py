"""Admin screens: staff users (lock state, unlock), roles, and the action log (操作日志).
Every change an administrator makes to users and roles is written to the action log."""
from __future__ import annotations

from flask import current_app, flash, g, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.fields import QuerySelectField, QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, Select2ManyWidget, Select2Widget
from flask_appbuilder.security.views import UserDBModelView
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup
from sqlalchemy import inspect
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from app import i18n
from app.model.formats import phone_error
from app.security import audit, audit_words
from app.security.audit import AuditEntry
from app.security.views.role_screens import role_label, role_labels

#: Labels of the action keys written by audit.record.
ACTIONS = {
    "user.add": lazy_gettext("User added"),
    "user.edit": lazy_gettext("User changed"),
    "user.delete": lazy_gettext("User deleted"),
    "user.unlock": lazy_gettext("Account unlocked"),
    "user.locked": lazy_gettext("Account locked (wrong passwords)"),
    "user.password_reset": lazy_gettext("Password reset by an administrator"),
    "role.add": lazy_gettext("Role added"),
    "role.edit": lazy_gettext("Role changed"),
    "role.delete": lazy_gettext("Role deleted"),
    "role.copy": lazy_gettext("Role copied"),
    "model.apply": lazy_gettext("Model applied"),
    "calendar.edit": lazy_gettext("Working-day calendar changed"),
    "fine.decide": lazy_gettext("Fines decided"),
    "fine.reverse": lazy_gettext("Fine corrected"),
    "fine.incident": lazy_gettext("Incident recorded"),
    "fine.exam": lazy_gettext("Sanction closed by exam"),
}
HIDDEN = {"password", "changed_on", "changed_by_fk", "changed_by", "last_login", "login_count",
          "fail_login_count"}


def _value(value):
    if isinstance(value, (list, tuple, set)):
        return sorted(_role_label(v) for v in value)
    return value if value is None or isinstance(value, (bool, int, float)) else str(value)


def _role_label(value) -> str:
    """A role as the admin knows it: 营销审核（auditor）; anything else as its text."""
    roles = current_app.extensions["yekuotong"].model.roles
    name = getattr(value, "name", None)
    if isinstance(name, str) and name in roles:
        return f"{roles[name].label_zh}（{name}）"
    return str(value)


def changes(item) -> dict:
    """{attribute: new value} of what the form changed on ``item`` (before flush)."""
    state = inspect(item)
    result = {}
    for attr in state.mapper.attrs:
        if attr.key in HIDDEN:
            continue
        history = state.attrs[attr.key].history
        if history.has_changes():
            current = getattr(item, attr.key)
            result[attr.key] = _value(current)
    return result


def _status(active) -> str:
    return str(STATUS[bool(active)])


STATUS = {True: lazy_gettext("Enabled"), False: lazy_gettext("Disabled")}
PASSWORD_HELP = lazy_gettext("At least 10 characters, with letters and digits or symbols.")


def _model_roles():
    """The roles a user may be given: those of model.yaml, in its order (not FAB's 'public')."""
    from flask_appbuilder.security.sqla.models import Role

    names = list(current_app.extensions["yekuotong"].model.roles)
    rows = current_app.appbuilder.sm.session.query(Role).filter(Role.name.in_(names)).all()
    return sorted(rows, key=lambda role: names.index(role.name))


def _roles_field():
    return QuerySelectMultipleField(
        lazy_gettext("Roles"), query_func=_model_roles, get_pk_func=lambda role: role.id, get_label=role_label,
        description=lazy_gettext("What the user may do; set per role in the business model."),
        validators=[DataRequired(message=lazy_gettext("Choose at least one role."))], widget=Select2ManyWidget())


def _units():
    core = current_app.extensions["yekuotong"]
    unit = core.orm["unit"]
    return core.db.session.query(unit).order_by(unit.id).all()


def _unit_field():
    return QuerySelectField(lazy_gettext("Unit"), query_func=_units, get_pk_func=lambda row: row.id,
                            get_label=i18n.unit_name, allow_blank=True, widget=Select2Widget(),
                            description=lazy_gettext("The unit the user works in (scope and assessment follow it)."))


def _password_fields() -> dict:
    return {
        "password": PasswordField(lazy_gettext("Password"), description=PASSWORD_HELP,
                                  validators=[DataRequired(), PasswordComplexityValidator()],
                                  widget=BS3PasswordFieldWidget()),
        "conf_password": PasswordField(lazy_gettext("Confirm password"),
                                       description=lazy_gettext("Type the password again."),
                                       validators=[DataRequired(), EqualTo("password", message=lazy_gettext(
                                           "The two passwords differ."))], widget=BS3PasswordFieldWidget()),
    }


class StaffUserDBModelView(UserDBModelView):
    """用户: 姓名 family name first, unit, roles by their model names, 状态 正常/停用; Chinese help texts."""

    # Permissions keep FAB's name, so every role's self-service (roles.SELF_SERVICE) applies.
    class_permission_name = "UserDBModelView"
    list_columns = ["get_full_name", "username", "unit", "roles", "active", "work_phone", "locked_until"]
    order_columns = ["username", "active", "locked_until"]
    add_columns = ["last_name", "first_name", "username", "active", "email", "unit", "work_phone",
                   "roles", "password", "conf_password"]
    edit_columns = ["last_name", "first_name", "username", "active", "email", "unit", "work_phone", "roles"]
    show_fieldsets = [
        (lazy_gettext("Personal Info"),
         {"fields": ["get_full_name", "username", "unit", "work_phone", "email"], "expanded": True}),
        (lazy_gettext("Sign-in"), {"fields": ["roles", "active", "login_count", "last_login",
                                              "fail_login_count", "locked_until"]}),
    ]
    user_show_fieldsets = show_fieldsets
    search_columns = ["last_name", "first_name", "username", "email", "unit", "active"]
    label_columns = dict(UserDBModelView.label_columns, get_full_name=lazy_gettext("Full name"),
                         first_name=lazy_gettext("Given name"), last_name=lazy_gettext("Family name"),
                         username=lazy_gettext("User name"), active=lazy_gettext("Status"),
                         email=lazy_gettext("Email"), roles=lazy_gettext("Roles"), unit=lazy_gettext("Unit"),
                         work_phone=lazy_gettext("Work phone"), locked_until=lazy_gettext("Locked until"),
                         login_count=lazy_gettext("Sign-ins"), last_login=lazy_gettext("Last sign-in"),
                         fail_login_count=lazy_gettext("Wrong passwords in a row"))
    description_columns = {
        "last_name": lazy_gettext("E.g. 王"), "first_name": lazy_gettext("E.g. 业扩"),
        "username": lazy_gettext("Used to sign in."),
        "active": lazy_gettext("Untick to disable the account: it can no longer sign in, its history stays."),
        "email": lazy_gettext("Work email address."),
        "unit": lazy_gettext("The unit the user works in (scope and assessment follow it)."),
        "work_phone": lazy_gettext("E.g. 0376-3123456."),
    }
    formatters_columns = {"locked_until": lambda value: i18n.fmt_datetime(value) if value else "",
                          "active": _status, "roles": role_labels, "unit": i18n.unit_name,
                          "last_login": lambda value: i18n.fmt_datetime(value) if value else "",
                          "login_count": lambda value: value or 0, "fail_login_count": lambda value: value or 0}
    add_form_extra_fields = {**_password_fields(), "roles": _roles_field(), "unit": _unit_field()}
    edit_form_extra_fields = {"roles": _roles_field(), "unit": _unit_field()}

    def _check_phone(self, item) -> None:
        if item.work_phone:
            error = phone_error(item.work_phone.strip())
            if error:
                raise ValueError(str(lazy_gettext(error)))

    def pre_add(self, item) -> None:
        self._check_phone(item)
        super().pre_add(item)

    def post_add(self, item) -> None:
        audit.record("user.add", item.username, {"roles": _value(item.roles), "active": item.active,
                                                 "unit": _value(item.unit)})

    def pre_update(self, item) -> None:
        self._check_phone(item)
        super().pre_update(item)
        g.ykt_user_changes = changes(item)

    def post_update(self, item) -> None:
        audit.record("user.edit", item.username, g.pop("ykt_user_changes", None))

    def post_delete(self, item) -> None:
        audit.record("user.delete", item.username)

    @action("unlock", lazy_gettext("Unlock"), lazy_gettext("Unlock this account?"), "fa-unlock",
            multiple=False)
    def unlock(self, item):
        self.appbuilder.sm.unlock(item)
        audit.record("user.unlock", item.username)
        flash(_("%(user)s may sign in again.", user=item.username), "success")
        return redirect(self.get_redirect())


class AuditLogView(ModelView):
    """操作日志: read only, newest first."""

    datamodel = SQLAInterface(AuditEntry)
    route_base = "/actionlog"
    base_permissions = ["can_list", "can_show"]
    list_title = lazy_gettext("Action log")
    show_title = lazy_gettext("Action log entry")
    list_columns = ["at", "user_name", "action", "target", "details", "source", "ip"]
    show_columns = list_columns
    search_columns = ["user_name", "action", "target", "details", "source", "at"]
    order_columns = ["at", "user_name", "action", "target"]
    base_order = ("id", "desc")
    label_columns = {"at": lazy_gettext("Time"), "user_name": lazy_gettext("Done by"),
                     "action": lazy_gettext("Action"), "target": lazy_gettext("Object"),
                     "details": lazy_gettext("Details"), "source": lazy_gettext("Channel"),
                     "ip": lazy_gettext("Address")}
    formatters_columns = {
        "at": i18n.fmt_datetime,
        "action": lambda key: str(ACTIONS.get(key, key)),
        "details": lambda text: _detail_lines(text),
        "user_name": audit_words.actor,
        "source": audit_words.channel,
    }


def _detail_lines(text) -> Markup:
    """An entry's details as "key: value" lines (app/security/audit_words.py), never its JSON."""
    colon = i18n.punctuation()["colon"]
    return Markup("").join(Markup('<div class="ykt-detail">{}{}{}</div>').format(key, colon, value)
                           for key, value in audit_words.detail_lines(text))


def register(appbuilder) -> None:
    appbuilder.add_view(AuditLogView, "action_log", label=lazy_gettext("Action log"), icon="fa-history",
                        category="Security")
