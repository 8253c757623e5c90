"""Issue 12, the screens that were still stock Flask-AppBuilder: users and roles in the model's
words, no `__None` in any select, error pages inside the layout, and `model check` in one language."""
from __future__ import annotations

import re

import pytest

from conftest import PASSWORDS

HASH = re.compile(r"(scrypt|pbkdf2):[^\s\"'<]*\$")


def visible(html: str) -> str:
    """The text a user reads: no tags, scripts or attribute values."""
    html = re.sub(r"(?s)<script.*?</script>|<style.*?</style>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def fresh(app, username: str, lang: str | None = None):
    """A client of its own (the shared `login` clients keep their language)."""
    client = app.test_client()
    assert client.post("/login/", data={"username": username, "password": PASSWORDS[username]}).status_code == 302
    if lang:
        client.get(f"/lang/{lang}")
    return client


# ------------------------------------------------------------------ users
def test_the_user_list_reads_in_chinese(login):
    page = login("admin").get("/users/list/")
    assert page.status_code == 200
    text = visible(page.get_data(as_text=True))
    for heading in ("姓名", "单位", "角色", "状态"):
        assert heading in text, heading
    assert "王业扩" in text and "业扩员" in text and "客户经理" in text and "正常" in text
    assert "客户服务中心" in text
    for stock in ("True", "[clerk]", "[customer_manager]", "Edit", "Delete", "List Groups", "业扩 王"):
        assert stock not in text, stock
    assert not HASH.search(page.get_data(as_text=True))


def _drop_user(app, username: str) -> None:
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user(username=username)
        if user is not None:
            sm.session.delete(user)
            sm.session.commit()


def test_a_disabled_user_reads_as_stopped(app, login):
    # Requests run outside any app context of the test: a pushed one would be shared by them (and its g).
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user("h2gone", "离职", "测", "h2gone@example.cn", sm.find_role("clerk"),
                           password="Gone-pass-2026")
        user.active = False
        sm.update_user(user)
    try:
        text = visible(login("admin").get("/users/list/?_flt_0_username=h2gone").get_data(as_text=True))
        assert "测离职" in text and "停用" in text and "False" not in text
    finally:
        _drop_user(app, "h2gone")


def test_the_user_forms_are_chinese_without_ldap_or_openid_hints(app, login):
    admin = login("admin")
    with app.app_context():
        pk = app.appbuilder.sm.find_user(username="clerk").id
    for path in ("/users/add", f"/users/edit/{pk}"):
        page = admin.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        text = visible(html)
        for stock in ("LDAP", "OID", "OpenID", "The user's", "It's not a good policy", "Write the user",
                      "__None", "public", "Confirm Password"):
            assert stock not in text, (path, stock)
        assert "__None\">__None" not in html
        assert "姓" in text and "名" in text and "请选择…" in text
        # Roles by the model's names, each once; family name asked before the given name.
        for label in ("业扩员", "客户经理", "计量装表", "系统管理员"):
            assert label in text, (path, label)
        assert text.index("姓") < text.index("名")
        assert not HASH.search(html)
    assert "至少 10 个字符" in visible(admin.get("/users/add").get_data(as_text=True))


def test_a_user_saved_from_the_form_keeps_unit_and_roles(app, login):
    core = app.extensions["yekuotong"]
    with app.app_context():
        unit_id = core.db.session.query(core.orm["unit"]).filter_by(code="metering_center").one().id
        metering = app.appbuilder.sm.find_role("metering").id
    done = login("admin").post("/users/add", data={
        "last_name": "钱", "first_name": "新人", "username": "h2new", "active": "y", "email": "h2new@example.cn",
        "unit": str(unit_id), "roles": str(metering),
        "password": "New-pass-2026x", "conf_password": "New-pass-2026x"})
    assert done.status_code == 302
    try:
        text = visible(login("admin").get("/users/list/?_flt_0_username=h2new").get_data(as_text=True))
        assert "钱新人" in text and "计量管理中心" in text and "计量装表" in text
        refused = login("admin").post("/users/add", data={
            "last_name": "钱", "first_name": "无角色", "username": "h2norole", "active": "y",
            "email": "h2norole@example.cn", "unit": "__None", "password": "New-pass-2026x",
            "conf_password": "New-pass-2026x"})
        assert refused.status_code == 200 and "请至少选择一个角色" in refused.get_data(as_text=True)
        with app.app_context():
            assert app.appbuilder.sm.find_user(username="h2norole") is None
    finally:
        _drop_user(app, "h2new")


# ------------------------------------------------------------------ roles
def test_roles_show_the_models_names_and_no_permission_regexes(app, login):
    admin = login("admin")
    page = admin.get("/roles/list/")
    assert page.status_code == 200
    text = visible(page.get_data(as_text=True))
    for label in ("业扩员", "客户经理", "营销审核", "单位负责人", "会签人员", "系统管理员"):
        assert label in text, label
    assert "本人负责或本单位的申请" in text and "用电申请：列表、查看、新增、编辑" in text
    for raw in ("^(?:", "can_list", "menu_access", "customer_manager", "复制角色", "Copy Role"):
        assert raw not in text, raw
    with app.app_context():
        role = app.appbuilder.sm.find_role("clerk").id
    shown = visible(admin.get(f"/roles/show/{role}").get_data(as_text=True))
    assert "业扩员" in shown and "报送初审" in shown and "^(?:" not in shown and "王业扩" in shown
    # Read-only: roles are changed in model.yaml.
    for path in ("/roles/add", f"/roles/edit/{role}", f"/roles/delete/{role}"):
        answer = admin.get(path)
        assert answer.status_code in (302, 403, 404, 405), path
        assert 'name="permissions"' not in answer.get_data(as_text=True)


def test_unused_security_screens_are_gone_from_menu_and_address(login):
    admin = login("admin")
    menu = visible(admin.get("/users/list/").get_data(as_text=True))
    for label in ("List Groups", "用户组", "基本权限", "视图/菜单", "Base Permissions"):
        assert label not in menu, label
    for path in ("/groups/list/", "/permissions/list/", "/viewmenus/list/", "/permissionviews/list/"):
        assert admin.get(path).status_code == 404, path


@pytest.mark.parametrize("username", ["clerk", "auditor", "head"])
def test_user_and_role_screens_are_for_admins_only(login, username):
    client = login(username)
    for path in ("/users/list/", "/users/add", "/roles/list/"):
        page = client.get(path)
        assert page.status_code in (302, 403), (username, path)
        assert "钱电费" not in page.get_data(as_text=True) and "本人负责或本单位" not in page.get_data(as_text=True)


# ------------------------------------------------------------------ no __None anywhere
def _forms(app):
    """(username, path) of every add and edit form and list of every entity, for each role that opens it."""
    core = app.extensions["yekuotong"]
    users = {role: name for name, role in (("clerk", "clerk"), ("manager", "customer_manager"),
                                          ("metering", "metering"), ("auditor", "auditor"),
                                          ("head", "unit_head"), ("billing", "signer"), ("admin", "admin"))}
    result = []
    for key, entity in core.model.entities.items():
        with app.app_context():
            first = core.db.session.query(core.orm[key]).order_by(core.orm[key].id).first()
        for role, username in users.items():
            actions = {"list", "show", "add", "edit", "delete"} if role == "admin" else \
                set(entity.permissions.get(role, []))
            if "list" in actions:
                result.append((username, f"/{key}/list/"))
            if "add" in actions:
                result.append((username, f"/{key}/add"))
            if "edit" in actions and first is not None:
                result.append((username, f"/{key}/edit/{first.id}"))
    return result


def test_no_select_anywhere_shows_none(app, login):
    forms = _forms(app)
    assert len(forms) > 20
    opened = 0
    for username, path in forms + [("admin", "/users/add"), ("admin", "/users/list/")]:
        page = login(username).get(path)
        if page.status_code != 200:  # an edit the stage does not allow, a row out of scope
            continue
        opened += 1
        html = page.get_data(as_text=True)
        assert "__None" not in visible(html) and ">__None<" not in html, (username, path)
        # A choice select's blank option says what to do.
        for select in re.findall(r"(?s)<select[^>]*my_select2[^>]*>.*?</select>", html):
            options = re.findall(r"(?s)<option[^>]*>(.*?)</option>", select)
            if options and "multiple" not in select.split(">")[0]:
                assert options[0].strip() in ("请选择…",) or 'selected' in select, (username, path, options[:3])
    assert opened > 20


# ------------------------------------------------------------------ error pages
def test_error_pages_are_chinese_inside_the_layout(login):
    clerk = login("clerk")
    missing = clerk.get("/no-such-page/", headers={"Referer": "http://localhost/application/list/"})
    assert missing.status_code == 404
    text = visible(missing.get_data(as_text=True))
    assert "页面不存在" in text and "返回工作台" in text and "返回上一页" in text
    assert "我的待办" in text and "王业扩" in text  # the menu and the user: the app's layout
    assert 'href="http://localhost/application/list/"' in missing.get_data(as_text=True)
    refused = clerk.get("/fines/pending/")
    assert refused.status_code == 403
    text = visible(refused.get_data(as_text=True))
    assert "无权访问" in text and "您无权执行此操作" in text and "我的待办" in text
    for english in ("Forbidden", "Not Found", "Werkzeug", "Traceback", "The requested URL"):
        assert english not in text


def test_anonymous_users_get_a_plain_chinese_page(app):
    page = app.test_client().get("/no-such-page/")
    assert page.status_code == 404
    text = visible(page.get_data(as_text=True))
    assert "页面不存在" in text and "未找到" in text and "我的待办" not in text and "Not Found" not in text
    assert app.test_client().get("/application/list/").status_code == 302  # the sign-in, as before


def test_error_pages_are_english_when_the_user_chose_english(app):
    client = fresh(app, "metering", "en")
    text = visible(client.get("/no-such-page/").get_data(as_text=True))
    assert "Page not found" in text and "Back to the workbench" in text
    assert not re.search(r"[\u4e00-\u9fff]{2,}页面|页面不存在|返回工作台", text)


def test_a_server_error_is_shown_inside_the_layout_without_a_trace(backend, tmp_path_factory):
    from conftest import database_url, make_app

    from app.database.apply import apply_model

    application = make_app(database_url(backend, tmp_path_factory, name="h2boom"), PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("secret internal detail")

    application.add_url_rule("/h2-boom", "h2_boom", boom)
    with application.app_context():
        apply_model()
        sm = application.appbuilder.sm
        sm.add_user("clerk", "业扩", "王", "c@example.cn", sm.find_role("clerk"), password=PASSWORDS["clerk"])
    try:
        client = application.test_client()
        assert client.post("/login/", data={"username": "clerk", "password": PASSWORDS["clerk"]}).status_code == 302
        page = client.get("/h2-boom")
        assert page.status_code == 500
        text = visible(page.get_data(as_text=True))
        assert "系统出错" in text and "已记录" in text and "返回工作台" in text and "我的待办" in text
        assert "secret internal detail" not in text and "Traceback" not in text and "RuntimeError" not in text
        anonymous = application.test_client().get("/h2-boom")
        assert anonymous.status_code == 500 and "系统出错" in anonymous.get_data(as_text=True)
        assert "secret internal detail" not in anonymous.get_data(as_text=True)
    finally:
        with application.app_context():
            application.extensions["yekuotong"].db.session.remove()
            application.extensions["yekuotong"].db.engine.dispose()
