"""bench/generate.py at a tiny size, on both backends: the rows it promises exist, the app opens an
application page of the generated data, and the same seed gives the same data."""
from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import PASSWORDS, database_url, make_app

SIZE = 200
TODAY = "2026-11-30"


def _counts(url):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q = lambda sql: conn.exec_driver_sql(sql).scalar()  # noqa: E731
            return {"application": q("SELECT count(*) FROM application"),
                    "customer": q("SELECT count(*) FROM customer"),
                    "history": q("SELECT count(*) FROM workflow_history"),
                    "created": q("SELECT count(*) FROM workflow_history WHERE kind = 'create'"),
                    "archived": q("SELECT count(*) FROM application WHERE stage = 'archive'"),
                    "open": q("SELECT count(*) FROM application WHERE stage NOT IN ('archive', 'cancelled')"),
                    "open_app": conn.exec_driver_sql("SELECT id, number FROM application WHERE stage NOT IN "
                                                     "('archive', 'cancelled') ORDER BY id LIMIT 1").one(),
                    "timers": q("SELECT count(*) FROM sla_timer"),
                    "documents": q("SELECT count(*) FROM document"),
                    "fines": q("SELECT count(*) FROM fine_entry"),
                    "orphan_fines": q("SELECT count(*) FROM fine_entry f WHERE NOT EXISTS "
                                      "(SELECT 1 FROM application a WHERE a.id = f.application_id)"),
                    "stages": conn.exec_driver_sql("SELECT number, stage FROM application ORDER BY id").all()}
    finally:
        engine.dispose()


def test_generated_data_opens_in_the_app(backend, tmp_path_factory):
    from bench.generate import generate

    url = database_url(backend, tmp_path_factory, "bench")  # PostgreSQL: <TEST_DATABASE_URL's name>_bench
    written = generate(url, SIZE, seed=7, today=TODAY, quiet=True, fresh=True)
    counts = _counts(url)
    assert counts["application"] == written["application"] == SIZE
    assert counts["customer"] == written["customer"] == SIZE * 3 // 10
    # every application has its creation row and more steps; most of a year's cases are archived
    assert counts["created"] == SIZE and counts["history"] > 5 * SIZE
    assert counts["archived"] > SIZE // 2 and counts["open"] > 0
    assert counts["timers"] == written["sla_timer"] > SIZE and counts["documents"] == written["document"] > SIZE
    assert counts["fines"] == written["fine_entry"] > 0 and counts["orphan_fines"] == 0

    app = make_app(url)
    try:
        client = app.test_client()
        assert client.post("/login/", data={"username": "auditor", "password": PASSWORDS["auditor"]}).status_code == 302
        pk, number = counts["open_app"]
        page = client.get(f"/application/show/{pk}")
        assert page.status_code == 200 and number in page.get_data(as_text=True)
        listing = client.get("/application/list/")
        assert listing.status_code == 200 and "/application/show/" in listing.get_data(as_text=True)
    finally:
        with app.app_context():
            app.extensions["yekuotong"].db.engine.dispose()

    if backend == "sqlite":  # the same seed and date: the same applications in the same stages
        again = database_url(backend, tmp_path_factory, "bench_again")
        generate(again, SIZE, seed=7, today=TODAY, quiet=True)
        assert _counts(again)["stages"] == counts["stages"]
