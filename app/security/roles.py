"""Role permissions computed from model.yaml and held in memory as FAB built-in roles."""
from __future__ import annotations

import re

from ..orm.generate import class_name

# Every signed-in role may see its own profile and change its own password.
SELF_SERVICE = [
    ("UserDBModelView", "can_userinfo|userinfoedit|resetmypassword"),
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
