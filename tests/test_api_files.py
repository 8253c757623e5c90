"""Issue 10, row 14: a scan uploaded on the document screen keeps its Chinese name, the document page
links to a download that works, only for roles that may see that document's case (and within their
row scope), and a missing or unknown file is a 404."""
from __future__ import annotations

import io
import os
import re
from urllib.parse import unquote

from api_support import SCAN, SCAN_BYTES, api_app, api_login, case_of, core_of, ids  # noqa: F401

UPLOAD = "竣工报告（盖章版）.pdf"
CONTENT = b"%PDF-1.4\n% uploaded in a test\n"


def stored_name(app, pk: int) -> str:
    with app.app_context():
        return core_of(app).db.session.get(core_of(app).orm["document"], pk).attachment


def download_link(html: str) -> str:
    found = re.search(r'class="file-download" href="([^"]+)">([^<]+)<', html)
    assert found, "the document page shows no download link"
    return found.group(1), found.group(2)


def test_an_uploaded_scan_keeps_its_name_and_downloads_from_its_page(api_app, api_login):
    case = case_of(api_app, "manager2")
    before = set(ids(api_app, "document"))
    client = api_login("clerk")
    response = client.post("/document/add", content_type="multipart/form-data", data={
        "application": str(case), "kind": "building_permit", "received": "y", "pages": "2",
        "attachment": (io.BytesIO(CONTENT), UPLOAD)})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    (pk,) = set(ids(api_app, "document")) - before
    stored = stored_name(api_app, pk)
    assert stored.endswith("_sep_" + UPLOAD)
    on_disk = os.path.isfile(os.path.join(api_app.config["UPLOAD_FOLDER"], stored))
    with api_app.app_context():  # PostgreSQL keeps scans in the database (every host sees them)
        store = api_app.extensions["ykt_scans"]
        assert store.exists(stored) and on_disk == (store.kind == "folder")
    href, text = download_link(client.get(f"/document/show/{pk}").get_data(as_text=True))
    assert text == UPLOAD and href.startswith("/document/download/")
    got = client.get(href)
    assert got.status_code == 200 and got.data == CONTENT and got.mimetype == "application/pdf"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("inline") and UPLOAD in unquote(disposition)


def test_only_those_who_may_see_the_case_download_its_scan(api_app, api_login):
    """The demo scan belongs to the supply station's case: its manager and the all-seeing roles
    may fetch it; the service center's manager (another unit) and roles without documents may not."""
    stored = f"{'0' * 32}_sep_{SCAN}"
    url = f"/document/download/{stored}"
    for username in ("manager2", "clerk", "metering", "auditor", "admin"):
        got = api_login(username).get(url)
        assert got.status_code == 200 and got.data == SCAN_BYTES, username
    assert api_login("manager").get(url).status_code == 404  # another unit's case
    assert api_login("head").get(url).status_code in (302, 403)  # unit heads have no documents
    assert api_app.test_client().get(url).status_code == 302  # signed out: to the login page
    assert api_login("admin").get(f"/customer/download/{stored}").status_code == 404  # no file there


def test_a_missing_or_unknown_file_is_404(api_app, api_login):
    client = api_login("admin")
    for name in ("nothing_sep_none.pdf", "config.py", "..%2Fconfig.py", "%2Fetc%2Fpasswd"):
        response = client.get(f"/document/download/{name}")
        assert response.status_code == 404, name
    pk = ids(api_app, "document", application_id=case_of(api_app, "manager2"))[0]
    stored = stored_name(api_app, pk)
    path = os.path.join(api_app.config["UPLOAD_FOLDER"], stored)
    kept = open(path, "rb").read()
    os.remove(path)
    try:
        gone = client.get(f"/document/download/{stored}")
        assert gone.status_code == 404 and "该文件不存在" in gone.get_data(as_text=True)
    finally:
        with open(path, "wb") as f:
            f.write(kept)
