"""Issue 10, "done when": a role × endpoint matrix generated from the app's URL map.

Every rule (screens and API) is requested as every demo role and signed out. What a role may do comes
from the permissions FAB checks (`has_access` / `protect` on the view method, the model's roles); the
test asserts that no refused combination succeeds (no 2xx), that nothing answers 500, that refused
writes change nothing in the database, and that no body a role receives holds a password hash, nor
(in the API: issue 10, row 1) the word "password" or a private field, by name or by value."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from api_support import (FORBIDDEN, SESSION_ENDPOINTS, api_app, api_login, as_json, body_text,  # noqa: F401
                         case_of, core_of, leaks, private_keys, private_names, private_values, sample_url,
                         view_of)
from app.security.roles import allowed

ROLE_OF = {"clerk": "clerk", "manager": "customer_manager", "metering": "metering", "auditor": "auditor",
           "admin": "admin", "head": "unit_head", None: None}
#: Reachable signed out: signing in, the public progress lookup (办事公开), print verification, language.
PUBLIC = ("StaffAuthDBView.login", "StaffAuthDBView.logout", "progress.lookup", "VerifyView.lookup",
          "VerifyView.verify", "LocaleView.index", "UtilView.back", "StaffSecurityApi.login",
          "StaffSecurityApi.refresh")
#: Check the entity's permissions themselves (list, add or edit of the entity named in the URL) and
#: answer 401 signed out: tests/test_list_scale.py asserts their bodies per role.
SELF_CHECKED = ("choices.search",)
WRITES = ("POST", "PUT", "DELETE")
SCAN = f"{'0' * 32}_sep_身份证 正面（王某）.pdf"


def rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in ("static", "appbuilder.static",
                                                                             "progress.static",
                                                                             "choices.static")),
                  key=lambda r: (r.rule, r.endpoint))


def permission(app, endpoint: str):
    """(view name, permission) FAB checks for this endpoint, or None when it checks nothing itself."""
    view = view_of(app, endpoint)
    if view is None:
        return None
    method = endpoint.rsplit(".", 1)[1]
    name = getattr(getattr(type(view), method, None), "_permission_name", None)
    if name is None:
        return None
    mapped = (view.method_permission_name or {}).get(method)
    return view.class_permission_name, "can_" + (mapped or name)


def may(app, username, endpoint) -> bool:
    needed = permission(app, endpoint)
    if needed is None:
        return endpoint in PUBLIC or username is not None
    if username is None:
        return False
    return ROLE_OF[username] == "admin" or allowed(app.config["FAB_ROLES"], ROLE_OF[username], *needed)


def fingerprint(app) -> str:
    """The business tables' content: a refused write must leave it exactly as it was."""
    core = core_of(app)
    digest = hashlib.sha256()
    with app.app_context():
        tables = list(core.model.entities) + ["workflow_history", "sla_timer", "suspension", "fine_entry"]
        for key in tables:
            cls = core.orm[key] if key in core.orm.classes else None
            table = cls.__table__ if cls is not None else core.db.metadata.tables.get(key)
            if table is None:
                continue
            for row in core.db.session.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
        core.db.session.rollback()
    return digest.hexdigest()


@pytest.mark.parametrize("username", list(ROLE_OF))
def test_no_refused_request_succeeds(api_app, api_login, username):
    client = api_login(username) if username else api_app.test_client()
    secrets = private_values(api_app)
    case = case_of(api_app, "manager")
    before = fingerprint(api_app)
    problems, granted = [], 0
    for rule in rules(api_app):
        endpoint, url = rule.endpoint, sample_url(api_app, rule, case, SCAN)
        if url is None or (username and endpoint.endswith(SESSION_ENDPOINTS)):
            continue
        permitted = may(api_app, username, endpoint)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            # Permitted writes are the other tests' business; permitted GETs are read for their bodies
            # (except deletes by GET, which a permitted user must not be sent).
            if permitted and (method in WRITES or "delete" in endpoint.rsplit(".", 1)[1]):
                continue
            if url.startswith("/api/"):
                response = client.open(url, method=method, json={} if method in WRITES else None)
            else:
                response = client.open(url, method=method, data={} if method in WRITES else None)
            status = response.status_code
            if status >= 500:
                problems.append((method, url, status, "server error"))
            elif 200 <= status < 300 and not permitted:
                problems.append((method, url, status, "refused request succeeded"))
            elif 200 <= status < 300:
                granted += 1
                api = url.startswith("/api/")
                # The OpenAPI document describes the login call, whose body has a "password".
                words = FORBIDDEN if api and not url.endswith("/_openapi") else FORBIDDEN[1:]
                found = leaks(body_text(response), secrets if api else set(), words)
                found += private_keys(as_json(response), private_names(api_app, url)) if api else []
                if found:
                    problems.append((method, url, status, f"body holds {found[:3]}"))
    assert problems == [], "\n".join(map(str, problems))
    assert fingerprint(api_app) == before, "a refused write changed the database"
    assert granted >= (3 if username is None else 20), granted


def test_the_matrix_knows_every_rule(api_app):
    """Every protected endpoint names a permission the model's roles can hold: none is left out."""
    unknown = [r.endpoint for r in rules(api_app) if view_of(api_app, r.endpoint) is None
               and r.endpoint not in PUBLIC + SELF_CHECKED]
    assert unknown == []
    for username in ("clerk", "manager", "head"):
        assert may(api_app, username, "ApplicationView.list")
        assert not may(api_app, username, "StaffUserDBModelView.list")
    assert not may(api_app, "metering", "ApplicationView.edit") and may(api_app, "admin", "ApplicationView.delete")
    assert not may(api_app, None, "ApplicationApi.get_list") and may(api_app, None, "progress.lookup")
