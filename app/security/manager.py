"""The security manager: staff users with a unit and a work phone."""
from __future__ import annotations

from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext

from ..orm.user import StaffUser
from ..validators import phone_error


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
