"""Security screens: sign-in, passwords, users and roles, the action log; the manager that uses them."""
from __future__ import annotations

from flask_login import user_logged_in

from app.security import audit, audit_words, tokens
from app.security.manager import StaffSecurityManager
from app.security.views.admin import StaffUserDBModelView
from app.security.views.admin import register as register_admin
from app.security.views.auth import (StaffAuthDBView, StaffResetMyPasswordView, StaffResetPasswordView,
                                     StaffSecurityApi, limit_sign_in)
from app.security.views.role_screens import ModelRolesView

#: FAB screens this app does not use (groups; permissions live in memory, from the model): neither
#: in the menu nor at an address.
UNUSED_SCREENS = ("List Groups", "Base Permissions", "Views/Menus", "Permission on Views/Menus")


class AppSecurityManager(StaffSecurityManager):
    """FAB_SECURITY_MANAGER_CLASS: the staff security manager with this package's screens."""

    authdbview = StaffAuthDBView
    security_api = StaffSecurityApi
    userdbmodelview = StaffUserDBModelView
    rolemodelview = ModelRolesView
    resetmypasswordview = StaffResetMyPasswordView
    resetpasswordview = StaffResetPasswordView
    # 用户统计 draws with Google Charts from the internet: blank offline, so not offered at all.
    userstatschartview = None

    def register_views(self):
        """FAB's security screens without UNUSED_SCREENS (FAB adds groups unconditionally)."""
        appbuilder = self.appbuilder
        add_view = appbuilder.add_view

        def add_used_view(view, name, *args, **kwargs):
            return None if name in UNUSED_SCREENS else add_view(view, name, *args, **kwargs)

        appbuilder.add_view = add_used_view
        try:
            super().register_views()
        finally:
            del appbuilder.add_view  # back to the class's method


def _stamp_session(_app, user=None, **_kwargs) -> None:
    tokens.stamp_session()


def _model_applied(core, *, session) -> None:
    """`model apply`: who ran it, which model version, and what it changed (the revision it wrote;
    none when the database was already up to date)."""
    from sqlalchemy import select

    from app.database.builtin import ModelRevision

    latest = session.scalars(select(ModelRevision).order_by(ModelRevision.id.desc()).limit(1)).first()
    details = {"version": core.model.version, "digest": core.loaded.digest, "changes": []}
    if latest is not None and latest.digest == core.loaded.digest:
        seen = session.scalars(select(audit.AuditEntry.id).where(
            audit.AuditEntry.action == "model.apply",
            audit.AuditEntry.details.like(f'%"revision": {latest.id}%'))).first()
        if seen is None:
            details.update(revision=latest.id, number=latest.number, comment=latest.comment or "",
                           changes=audit_words.schema_counts((latest.operations or "").splitlines()),
                           applied_by=latest.applied_by or "")
    target = f"{core.model.version} (#{details['number']})" if details.get("number") else core.model.version
    audit.record("model.apply", target, details, session=session)


def register(app, core, appbuilder) -> None:
    from flask import Blueprint

    from app.security.views import fab_words, selects  # noqa: F401 (fab_words: catalogue entries)

    app.register_blueprint(Blueprint("security_screens", __name__, template_folder="../templates"))
    selects.install()  # "请选择…" instead of FAB's "__None" in every select
    limit_sign_in(appbuilder)
    register_admin(appbuilder)
    user_logged_in.connect(_stamp_session, app, weak=False)
    from app import events

    events.model_applied.connect(_model_applied, sender=core, weak=False)
