"""The security manager: staff users with a unit and a work phone."""
from __future__ import annotations

from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.security.user import StaffUser
from app.model.formats import phone_error


class StaffUserDBModelView(UserDBModelView):
    list_columns = ["first_name", "last_name", "username", "unit", "work_phone", "active", "roles"]
    add_columns = ["first_name", "last_name", "username", "active", "email", "unit", "work_phone",
                   "roles", "password", "conf_password"]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "unit", "work_phone",
                    "roles"]
    show_fieldsets = [
        (lazy_gettext("User info"), {"fields": ["username", "active", "roles", "login_count"]}),
        (lazy_gettext("Personal Info"),
         {"fields": ["first_name", "last_name", "email", "unit", "work_phone"], "expanded": True}),
    ]
    user_show_fieldsets = show_fieldsets
    search_columns = ["first_name", "last_name", "username", "email", "unit", "roles"]
    label_columns = dict(UserDBModelView.label_columns,
                         unit=lazy_gettext("Unit"), work_phone=lazy_gettext("Work phone"))

    def _check_phone(self, item) -> None:
        if item.work_phone:
            error = phone_error(item.work_phone.strip())
            if error:
                raise ValueError(str(lazy_gettext(error)))

    def pre_add(self, item) -> None:
        self._check_phone(item)
        super().pre_add(item)

    def pre_update(self, item) -> None:
        self._check_phone(item)
        super().pre_update(item)


class StaffSecurityManager(SecurityManager):
    user_model = StaffUser
    userdbmodelview = StaffUserDBModelView

    def get_user_by_id(self, pk):
        """One query per request for the signed-in user with roles, groups and unit (FAB would
        lazy-load each of them on the permission check)."""
        return self.session.scalars(select(StaffUser).options(
            joinedload(StaffUser.roles), joinedload(StaffUser.groups), joinedload(StaffUser.unit))
            .where(StaffUser.id == int(pk))).unique().one_or_none()

    def is_item_public(self, permission_name, view_name) -> bool:
        """Permissions live in memory (FAB built-in roles from model.yaml); the public role has
        none, so this answers without FAB's two database queries per request."""
        return self._has_access_builtin_roles(_PUBLIC, permission_name, view_name)


class _PublicRole:
    name = "public"


_PUBLIC = _PublicRole()
