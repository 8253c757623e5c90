"""Signing in (issue 10, rows 6 and 7): limits per address and per user name on the form and the API,
a lock-out after repeated wrong passwords (recorded, visible, undone by an admin), a password
policy, the current password to change one's own, and revocation on sign-out and password change."""
from __future__ import annotations

from conftest import PASSWORDS
from security_support import (api_login, csrf_token, form_login, fresh_limits, page_token,  # noqa: F401
                              secure_app, sign_in)

LOCKED = "此账户已被锁定"
WRONG = "用户名或密码错误"
TOO_MANY = "请求过于频繁"


def _follow(client, response) -> str:
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _user(app, username):
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        state = (user.fail_login_count, user.locked_until)
        app.extensions["yekuotong"].db.session.rollback()
        return state


def _add_user(app, username: str, password: str = "Start-pass-2026") -> None:
    with app.app_context():
        sm = app.appbuilder.sm
        if sm.find_user(username=username) is None:
            sm.add_user(username, "试", "测", f"{username}@example.cn", sm.find_role("clerk"), password=password)


def _client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# ------------------------------------------------------------------ row 6: lock-out
def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_one(secure_app, fresh_limits):
    _add_user(secure_app, "lockme", "Right-pass-2026")
    client = _client(secure_app, "10.6.0.1")
    first = _follow(client, form_login(client, "lockme", "wrong-1"))
    assert WRONG in first and LOCKED not in first
    form_login(client, "lockme", "wrong-2")
    third = _follow(client, form_login(client, "lockme", "wrong-3"))  # LOGIN_LOCKOUT_FAILURES = 3
    assert LOCKED in third
    failures, until = _user(secure_app, "lockme")
    assert failures == 3 and until is not None
    # The right password no longer opens it, on the form nor on the API.
    right = form_login(client, "lockme", "Right-pass-2026")
    assert LOCKED in _follow(client, right)
    assert client.get("/application/list/").status_code == 302  # still signed out
    api = api_login(_client(secure_app, "10.6.0.2"), "lockme", "Right-pass-2026")
    assert api.status_code == 401 and LOCKED in api.get_json()["message"]
    assert "access_token" not in api.get_json()
    # Recorded: the admin sees the lock on the user list and in the action log, and lifts it.
    admin = sign_in(secure_app, "admin", address="10.6.0.3")
    users = admin.get("/users/list/").get_data(as_text=True)
    assert "锁定至" in users
    log = admin.get("/actionlog/list/").get_data(as_text=True)
    assert "账户锁定（密码多次错误）" in log and "lockme" in log
    with secure_app.app_context():
        pk = secure_app.appbuilder.sm.find_user(username="lockme").id
    unlocked = admin.post(f"/users/action/unlock/{pk}", data={"csrf_token": page_token(admin)})
    assert unlocked.status_code == 302
    assert _user(secure_app, "lockme") == (0, None)
    assert "解除账户锁定" in admin.get("/actionlog/list/").get_data(as_text=True)
    assert api_login(_client(secure_app, "10.6.0.4"), "lockme", "Right-pass-2026").status_code == 200


# ------------------------------------------------------------------ row 6: rate limits
def test_failed_sign_ins_are_limited_per_address_on_both_paths(secure_app, fresh_limits):
    client = _client(secure_app, "10.6.1.1")
    # LOGIN_RATE_LIMIT_PER_IP = 12 per minute, form and API counted together; unknown user names
    # (no lock-out applies to them).
    for n in range(6):
        assert form_login(client, f"nobody{n}", "x-wrong-1").status_code == 302
        assert api_login(client, f"nobody{n}b", "x-wrong-1").status_code == 401
    refused_form = form_login(client, "nobody-x", "x-wrong-1")
    assert refused_form.status_code == 429 and TOO_MANY in refused_form.get_data(as_text=True)
    refused_api = api_login(client, "clerk")  # even the right password, from this address
    assert refused_api.status_code == 429 and TOO_MANY in refused_api.get_json()["message"]
    assert "Retry-After" in refused_api.headers
    # Another address is not affected.
    assert api_login(_client(secure_app, "10.6.1.2"), "clerk").status_code == 200


def test_failed_sign_ins_are_limited_per_user_name_across_addresses(secure_app, fresh_limits):
    # LOGIN_RATE_LIMIT_PER_USER = 8 per minute: a name that does not exist (so no lock-out) tried
    # from many addresses.
    for n in range(8):
        assert api_login(_client(secure_app, f"10.6.2.{n}"), "ghost", "x-wrong-1").status_code == 401
    refused = api_login(_client(secure_app, "10.6.2.99"), "ghost", "x-wrong-1")
    assert refused.status_code == 429 and TOO_MANY in refused.get_json()["message"]
    assert api_login(_client(secure_app, "10.6.2.99"), "clerk").status_code == 200  # others unaffected


def test_successful_sign_ins_do_not_count(secure_app, fresh_limits):
    client = _client(secure_app, "10.6.3.1")
    for _ in range(15):
        assert api_login(client, "clerk").status_code == 200


# ------------------------------------------------------------------ row 6: password policy
def test_a_new_user_needs_a_password_that_meets_the_policy(secure_app, fresh_limits):
    admin = sign_in(secure_app, "admin", address="10.6.4.1")
    token = page_token(admin)
    form = {"first_name": "新", "last_name": "测", "username": "weakpw", "active": "y",
            "email": "weakpw@example.cn", "roles": "", "csrf_token": token}
    with secure_app.app_context():
        form["roles"] = str(secure_app.appbuilder.sm.find_role("clerk").id)
    for password, complaint in (("1", "至少需要 10 个字符"), ("abcdefghijk", "同时包含字母和数字或符号"),
                                ("1234567890", "同时包含字母和数字或符号"), ("aaaaaaaaa1", "不同的字符太少")):
        page = admin.post("/users/add", data={**form, "password": password, "conf_password": password})
        assert page.status_code == 200 and complaint in page.get_data(as_text=True), password
        with secure_app.app_context():
            assert secure_app.appbuilder.sm.find_user(username="weakpw") is None
    done = admin.post("/users/add", data={**form, "password": "Good-pass-2026", "conf_password": "Good-pass-2026"})
    assert done.status_code == 302
    with secure_app.app_context():
        assert secure_app.appbuilder.sm.find_user(username="weakpw") is not None
    assert "新增用户" in admin.get("/actionlog/list/").get_data(as_text=True)


def test_every_user_reaches_the_password_change_from_their_profile(secure_app, fresh_limits):
    clerk = sign_in(secure_app, "clerk", address="10.6.6.1")
    profile = clerk.get("/users/userinfo/")
    assert profile.status_code == 200 and "重设密码" in profile.get_data(as_text=True)
    assert "当前密码" in clerk.get("/resetmypassword/form").get_data(as_text=True)
    assert clerk.get("/users/list/").status_code in (302, 403)  # the profile, not the user admin


# ------------------------------------------------------------------ row 6 + 7: changing one's password
def _change(client, current: str, new: str):
    return client.post("/resetmypassword/form", data={
        "current_password": current, "password": new, "conf_password": new, "csrf_token": page_token(client)})


def test_changing_ones_password_needs_the_current_one_and_revokes_the_rest(secure_app, fresh_limits):
    _add_user(secure_app, "changer", "First-pass-2026")
    browser = sign_in(secure_app, "changer", "First-pass-2026", address="10.6.5.1")
    other_device = sign_in(secure_app, "changer", "First-pass-2026", address="10.6.5.2")
    tokens = api_login(_client(secure_app, "10.6.5.3"), "changer", "First-pass-2026", refresh=True).get_json()
    # No current password, a wrong one, a weak new one: refused, nothing changed.
    missing = browser.post("/resetmypassword/form", data={
        "password": "Next-pass-2026", "conf_password": "Next-pass-2026", "csrf_token": page_token(browser)})
    assert missing.status_code == 200 and "当前密码" in missing.get_data(as_text=True)
    wrong = _change(browser, "not-my-password-1", "Next-pass-2026")
    assert wrong.status_code == 200 and "当前密码不正确" in wrong.get_data(as_text=True)
    weak = _change(browser, "First-pass-2026", "1")
    assert weak.status_code == 200 and "至少需要 10 个字符" in weak.get_data(as_text=True)
    assert api_login(_client(secure_app, "10.6.5.4"), "changer", "First-pass-2026").status_code == 200
    # The right current password: changed.
    assert _change(browser, "First-pass-2026", "Next-pass-2026").status_code == 302
    assert api_login(_client(secure_app, "10.6.5.4"), "changer", "First-pass-2026").status_code == 401
    assert api_login(_client(secure_app, "10.6.5.4"), "changer", "Next-pass-2026").status_code == 200
    # The browser that changed it stays signed in; the other session and the tokens are revoked.
    assert browser.get("/resetmypassword/form").status_code == 200
    assert other_device.get("/resetmypassword/form").status_code == 302
    _assert_tokens_revoked(secure_app, tokens)


# ------------------------------------------------------------------ row 7: sign-out revokes
def _assert_tokens_revoked(app, tokens: dict) -> None:
    client = _client(app, "10.7.9.9")
    access = client.get("/api/v1/application/", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert access.status_code == 401 and "令牌已失效" in access.get_json()["message"]
    refresh = client.post("/api/v1/security/refresh",
                          headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refresh.status_code == 401 and "令牌已失效" in refresh.get_json()["message"]


def test_sign_out_revokes_the_cookie_and_every_token_issued_before(secure_app, fresh_limits):
    _add_user(secure_app, "leaver", "Leave-pass-2026")
    browser = sign_in(secure_app, "leaver", "Leave-pass-2026", address="10.7.0.1")
    stolen_cookie = browser.get_cookie("session").value
    tokens = api_login(_client(secure_app, "10.7.0.2"), "leaver", "Leave-pass-2026", refresh=True).get_json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert _client(secure_app, "10.7.0.2").get("/api/v1/application/", headers=bearer).status_code == 200
    assert browser.get("/logout/").status_code == 302
    # A copy of the cookie taken before signing out opens nothing.
    thief = _client(secure_app, "10.7.0.3")
    thief.set_cookie("session", stolen_cookie)
    assert thief.get("/resetmypassword/form").status_code == 302
    assert thief.get("/api/v1/application/").status_code == 401
    _assert_tokens_revoked(secure_app, tokens)
    # Signing in again works, with a new token.
    fresh = api_login(_client(secure_app, "10.7.0.4"), "leaver", "Leave-pass-2026").get_json()["access_token"]
    again = _client(secure_app, "10.7.0.4").get("/api/v1/application/", headers={"Authorization": f"Bearer {fresh}"})
    assert again.status_code == 200


def test_an_admin_reset_revokes_the_users_sessions_and_is_logged(secure_app, fresh_limits):
    _add_user(secure_app, "resetme", "Reset-pass-2026")
    victim = sign_in(secure_app, "resetme", "Reset-pass-2026", address="10.7.1.1")
    admin = sign_in(secure_app, "admin", address="10.7.1.2")
    with secure_app.app_context():
        pk = secure_app.appbuilder.sm.find_user(username="resetme").id
    token = csrf_token(admin, f"/resetpassword/form?pk={pk}")
    weak = admin.post(f"/resetpassword/form?pk={pk}", data={"password": "short", "conf_password": "short",
                                                            "csrf_token": token})
    assert weak.status_code == 200 and "至少需要 10 个字符" in weak.get_data(as_text=True)
    done = admin.post(f"/resetpassword/form?pk={pk}", data={"password": "Admin-set-2026",
                                                            "conf_password": "Admin-set-2026", "csrf_token": token})
    assert done.status_code == 302
    nobody = admin.post("/resetpassword/form?pk=999999", data={"password": "Admin-set-2026",
                                                               "conf_password": "Admin-set-2026", "csrf_token": token})
    assert nobody.status_code == 404 and "未找到" in nobody.get_data(as_text=True)
    assert victim.get("/resetmypassword/form").status_code == 302
    log = admin.get("/actionlog/list/").get_data(as_text=True)
    assert "管理员重置密码" in log and "resetme" in log
    assert PASSWORDS["admin"] not in log
