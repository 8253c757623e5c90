"""The role matrix: every role x entity x action, on the screens and the REST API, from model.yaml."""
from __future__ import annotations

import pytest

from app.model.loader import load_file
from app.model.naming import class_name

MODEL = load_file("model.yaml").model
USERS = {"clerk": "clerk", "customer_manager": "manager", "metering": "metering",
         "auditor": "auditor", "admin": "admin", "unit_head": "head", "signer": "billing"}
ACTIONS = ("list", "show", "add", "edit", "delete")
CASES = [(role, key, action) for role in MODEL.roles for key in MODEL.entities for action in ACTIONS]


def allowed(role: str, key: str, action: str) -> bool:
    return role == "admin" or action in MODEL.entities[key].permissions.get(role, [])


def first_id(app, key: str) -> int:
    from sqlalchemy import select

    with app.app_context():
        core = app.extensions["yekuotong"]
        return core.db.session.scalars(select(core.orm[key].id).order_by(core.orm[key].id)).first() or 999999


def denied_redirect(response) -> bool:
    """FAB answers a signed-in user with 403 and an anonymous one with a redirect to the login."""
    return response.status_code == 403 or (
        response.status_code == 302 and "/login" in response.headers.get("Location", ""))


@pytest.mark.parametrize("role,key,action", CASES, ids=[f"{r}-{k}-{a}" for r, k, a in CASES])
def test_screen_permission_matches_model(app, login, role, key, action):
    client = login(USERS[role])
    pk = first_id(app, key) if action in ("show", "edit") else 999999
    if action == "list":
        response = client.get(f"/{key}/list/")
    elif action == "add":
        response = client.get(f"/{key}/add")
    elif action == "delete":
        response = client.post(f"/{key}/delete/{pk}")  # a missing row: permission is checked first
    else:
        response = client.get(f"/{key}/{action}/{pk}")
    if allowed(role, key, action):
        assert not denied_redirect(response), f"{role} should be able to {action} {key}"
        assert response.status_code in (200, 302, 404)
    else:
        assert denied_redirect(response), f"{role} must not {action} {key}: got {response.status_code}"


API = {"list": ("get", ""), "show": ("get", "{pk}"), "add": ("post", ""), "edit": ("put", "{pk}"),
       "delete": ("delete", "999999")}


@pytest.mark.parametrize("role,key,action", CASES, ids=[f"{r}-{k}-{a}" for r, k, a in CASES])
def test_api_permission_matches_model(app, login, role, key, action):
    client = login(USERS[role])
    method, suffix = API[action]
    url = f"/api/v1/{key}/" + suffix.format(pk=first_id(app, key))
    kwargs = {"json": {}} if method in ("post", "put") else {}
    response = getattr(client, method)(url, **kwargs)
    if allowed(role, key, action):
        assert response.status_code != 403, f"{role} should be able to {action} {key} by API"
    else:
        assert response.status_code == 403, f"{role} must not {action} {key} by API: {response.status_code}"


def test_anonymous_is_sent_to_login_and_api_refuses(app):
    client = app.test_client()
    for key in MODEL.entities:
        assert denied_redirect(client.get(f"/{key}/list/"))
        assert client.get(f"/api/v1/{key}/").status_code == 401


@pytest.mark.parametrize("role", list(MODEL.roles))
def test_menu_shows_only_the_roles_entities(app, login, role):
    html = login(USERS[role]).get("/").get_data(as_text=True)
    navbar = html.split('class="nav navbar-nav"', 1)[1].split("</nav>", 1)[0]
    for key, entity in MODEL.entities.items():
        link = f'href="/{key}/list/"'
        if allowed(role, key, "list"):
            assert link in navbar, f"{role} should see the {key} menu"
        else:
            assert link not in navbar, f"{role} must not see the {key} menu"
    assert ('href="/users/list/"' in navbar) == (role == "admin")


def test_class_names_are_stable_ascii():
    for key in MODEL.entities:
        name = class_name(key)
        assert name.isascii() and name.isidentifier()
    assert class_name("inspection_defect") == "InspectionDefect"
