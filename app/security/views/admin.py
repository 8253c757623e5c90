"""Admin screens: staff users (lock state, unlock), roles, and the action log (操作日志).
Every change an administrator makes to users and roles is written to the action log."""
from __future__ import annotations

from flask import current_app, flash, g, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.views import RoleModelView, UserDBModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import inspect

from app import i18n
from app.model.formats import phone_error
from app.security import audit
from app.security.audit import AuditEntry

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


class StaffUserDBModelView(UserDBModelView):
    # Permissions keep FAB's name, so every role's self-service (roles.SELF_SERVICE) applies.
    class_permission_name = "UserDBModelView"
    list_columns = ["first_name", "last_name", "username", "unit", "work_phone", "active", "locked_until",
                    "roles"]
    add_columns = ["first_name", "last_name", "username", "active", "email", "unit", "work_phone",
                   "roles", "password", "conf_password"]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "unit", "work_phone",
                    "roles"]
    show_fieldsets = [
        (lazy_gettext("User info"), {"fields": ["username", "active", "roles", "login_count", "last_login",
                                                "fail_login_count", "locked_until"]}),
        (lazy_gettext("Personal Info"),
         {"fields": ["first_name", "last_name", "email", "unit", "work_phone"], "expanded": True}),
    ]
    user_show_fieldsets = show_fieldsets
    search_columns = ["first_name", "last_name", "username", "email", "unit", "roles"]
    label_columns = dict(UserDBModelView.label_columns, unit=lazy_gettext("Unit"),
                         work_phone=lazy_gettext("Work phone"), locked_until=lazy_gettext("Locked until"))
    formatters_columns = {"locked_until": lambda value: i18n.fmt_datetime(value) if value else ""}

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


class StaffRoleModelView(RoleModelView):
    class_permission_name = "RoleModelView"

    def post_add(self, item) -> None:
        audit.record("role.add", item.name, {"permissions": _value(item.permissions)})

    def pre_update(self, item) -> None:
        g.ykt_role_changes = changes(item)

    def post_update(self, item) -> None:
        audit.record("role.edit", item.name, g.pop("ykt_role_changes", None))

    def post_delete(self, item) -> None:
        audit.record("role.delete", item.name)

    @action("copyrole", lazy_gettext("Copy Role"), lazy_gettext("Copy the selected roles?"), icon="fa-copy",
            single=False)
    def copy_role(self, items):
        names = ", ".join(item.name for item in items)
        response = RoleModelView.copy_role(self, items)
        audit.record("role.copy", names)
        return response


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
        "details": lambda text: text if len(text or "") <= 300 else text[:300] + "…",
    }


def register(appbuilder) -> None:
    appbuilder.add_view(AuditLogView, "action_log", label=lazy_gettext("Action log"), icon="fa-history",
                        category="Security")
