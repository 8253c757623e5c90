"""角色: the roles of model.yaml as an administrator reads them — the model's name, which cases the
role sees (scope), and what it may do per screen and step; never the regex pairs FAB holds.

Roles are built in (computed from the model on start), so the screen is read-only: a role changes
in model.yaml, not here."""
from __future__ import annotations

from flask import current_app
from flask_appbuilder.security.views import RoleModelView
from flask_appbuilder.widgets import ListWidget, ShowWidget
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from app import i18n

ACTION_LABELS = {"list": lazy_gettext("list"), "show": lazy_gettext("view"), "add": lazy_gettext("add"),
                 "edit": lazy_gettext("edit"), "delete": lazy_gettext("delete")}
SCOPE_LABELS = {"all": lazy_gettext("all applications"),
                "own": lazy_gettext("applications they are responsible for"),
                "unit": lazy_gettext("applications of their unit"),
                "own_or_unit": lazy_gettext("applications they are responsible for or of their unit")}


def _model():
    return current_app.extensions["yekuotong"].model


def _public() -> str:
    """The name of FAB's role for visitors not signed in (`public` unless configured otherwise)."""
    return current_app.appbuilder.sm.auth_role_public


def role_label(role) -> str:
    """A role as its users know it: 业扩员 (label from the model); FAB's public role as 公开（未登录访客）;
    an unknown role as its key."""
    name = getattr(role, "name", role)
    roles = _model().roles
    if name in roles:
        return str(i18n.label(roles[name]))
    return _("Public (visitors not signed in)") if name == _public() else str(name)


def role_labels(roles) -> str:
    return i18n.punctuation()["enum"].join(role_label(r) for r in roles or ())


def describe(name: str) -> dict:
    """{label, scope, screens: [(entity label, actions)], steps: [step labels]} of a model role."""
    model = _model()
    role = model.roles.get(name)
    words = i18n.punctuation()
    sep = words["enum"]
    punctuation = {"colon": words["colon"], "sep": sep}
    if role is None:
        scope = _("none: only signing in and checking a printed form's code") if name == _public() else ""
        return {"label": role_label(name), "scope": scope, "screens": [], "steps": [], **punctuation}
    if name == "admin":
        return {"label": role_label(name), "scope": str(SCOPE_LABELS["all"]), "steps": [], **punctuation,
                "screens": [(_("Every screen"), _("every action, users and roles, the action log"))]}
    screens = []
    for entity in model.entities.values():
        actions = [str(ACTION_LABELS[a]) for a in ACTION_LABELS if a in entity.permissions.get(name, [])]
        if actions:
            screens.append((str(i18n.label(entity)), sep.join(actions)))
    steps = []
    if model.workflow is not None:
        for spec in model.workflow.transitions:
            text = str(i18n.label(spec))
            if name in spec.roles and text not in steps:
                steps.append(text)
    return {"label": role_label(name), "scope": str(SCOPE_LABELS.get(role.scope, role.scope)),
            "screens": screens, "steps": steps, **punctuation}


class RoleList(ListWidget):
    template = "security/roles_list.html"

    def __init__(self, **kwargs):
        kwargs["describe"] = describe
        super().__init__(**kwargs)


class RoleShow(ShowWidget):
    template = "security/roles_show.html"

    def __init__(self, **kwargs):
        kwargs["describe"] = describe
        super().__init__(**kwargs)


class ModelRolesView(RoleModelView):
    """Read-only: list and show (FAB refuses add, edit, delete and copy: not in base_permissions)."""

    class_permission_name = "RoleModelView"
    base_permissions = ["can_list", "can_show"]
    list_widget = RoleList
    show_widget = RoleShow
    list_title = lazy_gettext("Roles")
    show_title = lazy_gettext("Role")
    list_columns = ["name"]
    show_columns = ["name"]
    search_columns = ["name"]
    label_columns = {"name": lazy_gettext("Role")}
    copy_role = None  # FAB's "复制角色" action: roles come from the model
