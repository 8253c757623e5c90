"""Role permissions computed from model.yaml and held in memory as FAB built-in roles."""
from __future__ import annotations

import re

from app.model.naming import class_name

# Every signed-in role may see its own profile and change its own password.
SELF_SERVICE = [
    ("UserDBModelView", "can_userinfo|userinfoedit|resetmypassword"),  # actions carry no can_
    ("ResetMyPasswordView", "can_this_form_get|can_this_form_post"),
    ("UserInfoEditView", "can_this_form_get|can_this_form_post"),
    ("OpenApi", "can_get"),
    ("SwaggerView", "can_show"),
]


def _exact(name: str) -> str:
    return f"^(?:{name})$"


def role_permissions(model, extra: dict[str, list[tuple[str, str]]] | None = None) -> dict:
    """FAB_ROLES: role -> [[view regex, permission regex]], anchored so names never prefix-match."""
    roles: dict[str, list[list[str]]] = {"public": []}  # nothing is public but login and /verify
    for role in model.roles:
        if role == "admin":
            roles[role] = [[".*", ".*"]]
            continue
        pairs: list[tuple[str, str]] = []
        menus: set[str] = set()
        for key, entity in model.entities.items():
            actions = entity.permissions.get(role, [])
            for action in actions:
                pairs.append((class_name(key), f"can_{action}"))
            if "list" in actions:
                pairs.append((key, "menu_access"))
                menus.add(entity.menu)
        pairs += [(menu, "menu_access") for menu in sorted(menus)]
        pairs += SELF_SERVICE
        pairs += (extra or {}).get(role, [])
        roles[role] = [[_exact(view), _exact(perm)] for view, perm in pairs]
    return roles


def allowed(roles: dict, role: str, view: str, permission: str) -> bool:
    """Same test FAB applies to built-in roles; used by tests and the to-do queue."""
    return any(re.match(v, view) and re.match(p, permission) for v, p in roles.get(role, []))


def screen_permissions(model) -> dict[str, list[tuple[str, str]]]:
    """Screens every business role has besides its entities: to-do, deadlines, assessment."""
    if model.workflow is None:
        return {}
    extra = [("Todo", "can_list"), ("todo", "menu_access")]
    if model.timers:
        extra += [("SlaDashboard", "can_list"), ("sla_dashboard", "menu_access")]
    result = {role: list(extra) for role in model.roles}
    if model.fines:
        assessment = model.assessment
        for role in result:
            result[role] += [("Fines", "can_mine"), ("fines_mine", "menu_access"), ("assessment", "menu_access")]
            if assessment and role in assessment.decide:
                result[role] += [("Fines", "can_decide"), ("fines_pending", "menu_access"),
                                 ("fines_incident", "menu_access"), ("fines_sanctions", "menu_access")]
            if assessment and role in assessment.summary:
                result[role] += [("Fines", "can_summary"), ("fines_summary", "menu_access")]
            if assessment and role in assessment.unit_view:
                result[role] += [("Fines", "can_unit"), ("fines_unit", "menu_access")]
    return result
