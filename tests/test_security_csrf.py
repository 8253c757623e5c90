"""Cross-site requests (issue 10, rows 2, 3, 16): nothing changes by GET, a form post needs the page's
CSRF token, an API call signed in by the session cookie needs it in a header, a print is recorded
only by a POST with the token."""
from __future__ import annotations

from sqlalchemy import func, select

from security_support import fresh_limits, page_token, secure_app, sign_in  # noqa: F401 (fixtures)
from test_workflow_api import new_application

CSRF_PAGE = "表单已过期或并非来自本站"
CSRF_API = "X-CSRFToken"


def _customer(app, name: str) -> int:
    with app.app_context():
        core = app.extensions["yekuotong"]
        row = core.orm["customer"](name=name, customer_type="residential", phone="13800000021",
                                   address="潢川县安全路1号")
        core.db.session.add(row)
        core.db.session.commit()
        return row.id


def _exists(app, key: str, pk: int) -> bool:
    with app.app_context():
        core = app.extensions["yekuotong"]
        found = core.db.session.get(core.orm[key], pk) is not None
        core.db.session.rollback()
        return found


def _user_exists(app, username: str) -> bool:
    with app.app_context():
        found = app.appbuilder.sm.find_user(username=username) is not None
        app.extensions["yekuotong"].db.session.rollback()
        return found


# ------------------------------------------------------------------ row 2: no mutation by GET, tokens
def test_generated_delete_by_get_or_without_token_deletes_nothing(secure_app, fresh_limits):
    admin = sign_in(secure_app, "admin")
    pk = _customer(secure_app, "不应被删除的客户")
    by_get = admin.get(f"/customer/delete/{pk}")
    assert by_get.status_code == 302 and _exists(secure_app, "customer", pk)
    no_token = admin.post(f"/customer/delete/{pk}")
    assert no_token.status_code == 400 and CSRF_PAGE in no_token.get_data(as_text=True)
    assert _exists(secure_app, "customer", pk)
    done = admin.post(f"/customer/delete/{pk}", data={"csrf_token": page_token(admin)})
    assert done.status_code == 302 and not _exists(secure_app, "customer", pk)


def test_user_delete_by_get_or_without_token_deletes_nothing(secure_app, fresh_limits):
    admin = sign_in(secure_app, "admin")
    with secure_app.app_context():
        sm = secure_app.appbuilder.sm
        victim = sm.add_user("victim", "受害", "测", "victim@example.cn", sm.find_role("clerk"),
                             password="victim-pass-2026").id
    assert admin.get(f"/users/delete/{victim}").status_code == 302
    assert _user_exists(secure_app, "victim")
    assert admin.post(f"/users/delete/{victim}").status_code == 400 and _user_exists(secure_app, "victim")
    assert admin.post(f"/users/delete/{victim}", data={"csrf_token": page_token(admin)}).status_code == 302
    assert not _user_exists(secure_app, "victim")


# ------------------------------------------------------------------ row 3: API calls by the cookie
def _stage_and_history(app, pk):
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        stage = session.get(core.orm["application"], pk).stage
        history = core.orm["workflow_history"]
        count = session.execute(select(func.count()).select_from(history)
                                .where(history.application_id == pk)).scalar_one()
        session.rollback()
        return stage, count


def test_cross_site_text_plain_post_with_the_cookie_moves_nothing(secure_app, fresh_limits):
    pk = new_application(secure_app, "residential", False)
    before = _stage_and_history(secure_app, pk)
    clerk = sign_in(secure_app, "clerk")
    # What a foreign page's <form enctype="text/plain"> sends: the cookie, no token, no JSON.
    forged = clerk.post(f"/api/v1/application/{pk}/workflow/forward", data='{"comment": "x"}',
                        content_type="text/plain")
    assert forged.status_code == 403 and CSRF_API in forged.get_json()["message"]
    assert "CSRF" in forged.get_json()["message"] and "会话" in forged.get_json()["message"]
    json_no_token = clerk.post(f"/api/v1/application/{pk}/workflow/forward", json={"comment": "x"})
    assert json_no_token.status_code == 403
    assert _stage_and_history(secure_app, pk) == before
    # The page's own script sends the token in the header: the step is taken.
    taken = clerk.post(f"/api/v1/application/{pk}/workflow/forward", json={"comment": "受理完毕"},
                       headers={"X-CSRFToken": page_token(clerk)})
    assert taken.status_code == 200, taken.get_json()
    assert _stage_and_history(secure_app, pk)[0] != before[0]


def test_bearer_calls_need_no_token_but_must_send_json(secure_app, fresh_limits):
    client = secure_app.test_client()
    token = client.post("/api/v1/security/login", json={"username": "admin", "password": "admin-2026",
                                                        "provider": "db"}).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    body = {"name": "接口客户", "customer_type": "residential", "phone": "13800000022", "address": "潢川县接口路2号"}
    created = client.post("/api/v1/customer/", json=body, headers=bearer)
    assert created.status_code == 201, created.get_json()
    plain = client.post("/api/v1/customer/", data="name=x", content_type="text/plain", headers=bearer)
    assert plain.status_code == 400 and "JSON" in plain.get_json()["message"]
    assert "请求体" in plain.get_json()["message"]
    broken = client.post("/api/v1/customer/", data="{not json", content_type="application/json", headers=bearer)
    assert broken.status_code == 400 and "不是有效的 JSON" in broken.get_json()["message"]
    with secure_app.app_context():
        core = secure_app.extensions["yekuotong"]
        names = set(core.db.session.scalars(select(core.orm["customer"].name)))
        core.db.session.rollback()
    assert "接口客户" in names and "x" not in names


def test_cookie_api_call_with_token_works(secure_app, fresh_limits):
    admin = sign_in(secure_app, "admin")
    body = {"name": "页面脚本客户", "customer_type": "residential", "phone": "13800000023", "address": "潢川县页面路3号"}
    assert admin.post("/api/v1/customer/", json=body).status_code == 403
    created = admin.post("/api/v1/customer/", json=body, headers={"X-CSRFToken": page_token(admin)})
    assert created.status_code == 201, created.get_json()


# ------------------------------------------------------------------ row 16: printing
def _prints(app, pk) -> int:
    with app.app_context():
        record = app.extensions["ykt_printing"].record_cls
        session = app.extensions["yekuotong"].db.session
        count = session.execute(select(func.count()).select_from(record)
                                .where(record.application_id == pk)).scalar_one()
        session.rollback()
        return count


def test_a_print_is_recorded_only_by_a_post_with_the_token(secure_app, fresh_limits):
    pk = new_application(secure_app, "residential", False)
    clerk = sign_in(secure_app, "clerk")
    # A link or an image on a foreign page: a GET asks first and records nothing.
    asked = clerk.get(f"/print/application_form/{pk}")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'id="print-confirm"' in html and "打印" in html
    assert 'method="post"' in html and 'name="csrf_token"' in html
    assert asked.mimetype == "text/html" and _prints(secure_app, pk) == 0
    # A cross-site form post has no token.
    forged = clerk.post(f"/print/application_form/{pk}")
    assert forged.status_code == 400 and _prints(secure_app, pk) == 0
    # The API refuses a GET and a cookie call without the header.
    assert clerk.get(f"/api/v1/application/{pk}/print/application_form").status_code == 405
    assert clerk.post(f"/api/v1/application/{pk}/print/application_form").status_code == 403
    assert _prints(secure_app, pk) == 0
    printed = clerk.post(f"/print/application_form/{pk}", data={"csrf_token": page_token(clerk)})
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    assert _prints(secure_app, pk) == 1


def test_the_application_page_prints_by_post_forms(secure_app, fresh_limits):
    pk = new_application(secure_app, "residential", False)
    html = sign_in(secure_app, "clerk").get(f"/application/show/{pk}").get_data(as_text=True)
    assert 'id="print-forms"' in html
    assert f'action="/print/application_form/{pk}"' in html and 'class="print-form-post"' in html
    assert f'href="/print/application_form/{pk}"' not in html
    assert _prints(secure_app, pk) == 0
