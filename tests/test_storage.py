"""Uploaded scans in the database store (UPLOAD_STORAGE=database, on SQLite and PostgreSQL alike):
saved in chunks with the row that names them, nothing in the host's folder, streamed back with the
Chinese name, removed with their row (screen and case page); scans saved in the folder before the
store was chosen still download; an unknown store refuses to start."""
from __future__ import annotations

import io
import os
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from conftest import database_url, make_app

NAME = "营业执照副本（第2页）.pdf"
BYTES = b"%PDF-1.4\n" + os.urandom(1_200_000) + b"\n%%EOF\n"  # three 512 KB chunks
PASSWORD = "Storage-Test-2026!"


@pytest.fixture(scope="module")
def store_app(backend, tmp_path_factory):
    from app.database.apply import apply_model

    uploads = tmp_path_factory.mktemp("store-uploads")
    app = make_app(database_url(backend, tmp_path_factory, name="storage"), UPLOAD_STORAGE="database",
                   UPLOAD_FOLDER=str(uploads) + os.sep, FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
                   PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        apply_model()
        core, sm = app.extensions["yekuotong"], app.appbuilder.sm
        sm.add_user("scanclerk", "扫描", "测试", "scanclerk@example.cn", sm.find_role("clerk"), password=PASSWORD)
        row = core.orm["application"](customer_type="residential", business_type="new", address="潢川县扫描路2号",
                                      capacity_kw=6, needs_engineering=False, inspection_passed=False)
        core.db.session.add(row)
        core.db.session.commit()
        app.config["TEST_CASE"] = row.id
    yield app
    with app.app_context():
        app.extensions["yekuotong"].db.session.remove()


@pytest.fixture()
def clerk(store_app):
    client = store_app.test_client()
    assert client.post("/login/", data={"username": "scanclerk", "password": PASSWORD}).status_code == 302
    return client


def _query(app, sql: str, **params):
    with app.app_context():
        return app.extensions["yekuotong"].db.session.execute(sa.text(sql), params).all()


def _upload(app, client) -> tuple[int, str]:
    before = {r[0] for r in _query(app, "SELECT id FROM document")}
    answer = client.post("/document/add", content_type="multipart/form-data", data={
        "application": str(app.config["TEST_CASE"]), "kind": "id_card_copy", "received": "y", "pages": "2",
        "attachment": (io.BytesIO(BYTES), NAME)})
    assert answer.status_code == 302, answer.get_data(as_text=True)[-2000:]
    (pk,) = {r[0] for r in _query(app, "SELECT id FROM document")} - before
    return pk, _query(app, "SELECT attachment FROM document WHERE id = :pk", pk=pk)[0][0]


def test_a_scan_is_kept_in_the_database_in_chunks_and_streams_back(store_app, clerk):
    pk, stored = _upload(store_app, clerk)
    assert stored.endswith("_sep_" + NAME)
    assert os.listdir(store_app.config["UPLOAD_FOLDER"]) == []  # nothing on this host's disk
    chunks = _query(store_app, "SELECT seq, length(data) FROM scan_chunk WHERE name = :n ORDER BY seq", n=stored)
    assert [c[0] for c in chunks] == [0, 1, 2] and sum(c[1] for c in chunks) == len(BYTES)
    got = clerk.get(f"/document/download/{stored}")
    assert got.status_code == 200 and got.data == BYTES and got.mimetype == "application/pdf"
    assert NAME in unquote(got.headers["Content-Disposition"])
    assert got.headers["Cache-Control"] == "private, no-store"
    assert clerk.post(f"/document/delete/{pk}").status_code == 302
    assert _query(store_app, "SELECT count(*) FROM scan_chunk WHERE name = :n", n=stored)[0][0] == 0
    gone = clerk.get(f"/document/download/{stored}")
    assert gone.status_code == 404 and "该文件不存在" in gone.get_data(as_text=True)


def test_removing_a_document_on_the_case_page_removes_its_scan(store_app, clerk):
    pk, stored = _upload(store_app, clerk)
    case = store_app.config["TEST_CASE"]
    answer = clerk.post(f"/application/record/{case}/document/delete", data={"rid": str(pk)})
    assert answer.status_code == 302
    assert _query(store_app, "SELECT count(*) FROM document WHERE id = :pk", pk=pk)[0][0] == 0
    assert _query(store_app, "SELECT count(*) FROM scan_chunk WHERE name = :n", n=stored)[0][0] == 0


def test_a_scan_saved_in_the_folder_before_still_downloads(store_app, clerk):
    stored = f"{'1' * 32}_sep_旧扫描件.pdf"
    with open(os.path.join(store_app.config["UPLOAD_FOLDER"], stored), "wb") as f:
        f.write(b"%PDF-1.4 old\n")
    with store_app.app_context():
        core = store_app.extensions["yekuotong"]
        core.db.session.add(core.orm["document"](application_id=store_app.config["TEST_CASE"], kind="id_card_copy",
                                                 received=True, pages=1, attachment=stored))
        core.db.session.commit()
    got = clerk.get(f"/document/download/{stored}")
    assert got.status_code == 200 and got.data == b"%PDF-1.4 old\n"
    assert "旧扫描件.pdf" in unquote(got.headers["Content-Disposition"])
    assert clerk.get(f"/document/download/{'2' * 32}_sep_旧扫描件.pdf").status_code == 404  # no row names it


def test_an_unknown_store_refuses_to_start(tmp_path, capsys):
    with pytest.raises(SystemExit):
        make_app("sqlite:///" + str(tmp_path / "x.db"), UPLOAD_STORAGE="s3")
    err = capsys.readouterr().err
    assert "UPLOAD_STORAGE='s3'" in err and "folder, database" in err
