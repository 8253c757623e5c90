"""PostgreSQL plans of the statements the app really issues (issue 13): the application list, the
to-do, the workbench, the deadline dashboard and the sweep read application, sla_timer and
workflow_history through indexes, never a sequential scan, on tables large enough for the planner to
prefer a scan where no index serves.

The statements are captured with a before_cursor_execute listener while the pages are requested
through the test client (and while the sweep runs), then each is EXPLAINed (FORMAT JSON) with the
parameters it was sent with. The database gets 20,000 applications (set-based INSERT … SELECT
generate_series, most archived as a real year leaves them), their timers and history, then VACUUM
ANALYZE: with statistics of that size the planner chooses a sequential scan whenever it is cheaper,
so a missing index shows. No planner setting is changed.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from conftest import PASSWORDS, database_url, make_app

ROWS = 20_000
WATCHED = {"application", "sla_timer", "workflow_history"}
SKIP_PREFIXES = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "SHOW", "SELECT pg_",
                 "select pg_", "select current_schema", "select version")


@pytest.fixture(scope="module")
def big_app(tmp_path_factory):
    """An app on a database of its own: the demo users and cases, then ROWS generated applications."""
    from app.database.apply import apply_model
    from app.demo import load_demo

    application = make_app(database_url("postgresql", tmp_path_factory, name="explain"))
    with application.app_context():
        apply_model()
        load_demo()
        core = application.extensions["yekuotong"]
        _fill(core, application)
    yield application
    with application.app_context():
        application.extensions["yekuotong"].db.session.remove()
        application.extensions["yekuotong"].db.engine.dispose()


def _fill(core, app) -> None:
    sm = app.appbuilder.sm
    manager, clerk = sm.find_user(username="manager"), sm.find_user(username="clerk")
    stages = core.engine.definition.stages
    terminal = [k for k, s in stages.items() if s.terminal]
    open_stages = [k for k, s in stages.items() if not s.terminal]
    timers = list(core.model.timers)
    engine = core.db.engine
    params = {"manager": manager.id, "clerk": clerk.id, "open": open_stages, "terminal": terminal,
              "timers": timers}
    with engine.begin() as conn:
        # 9 in 10 closed; the open ones spread over the stages; a third without a manager yet.
        conn.execute(sa.text("""
            INSERT INTO application (number, stage, business_type, customer_type, address, capacity_kw,
                                     needs_engineering, owner_id, accepted_by_id, created_by_fk, accepted_on,
                                     suspended, lock_version, created_on, changed_on)
            SELECT 'YK1999' || lpad(g::text, 6, '0'),
                   CASE WHEN g % 10 < 9 THEN (CAST(:terminal AS text[]))[1 + g % cardinality(CAST(:terminal AS text[]))]
                        ELSE (CAST(:open AS text[]))[1 + (g / 10) % cardinality(CAST(:open AS text[]))] END,
                   'new', 'residential', '测试地址' || g, 5, false,
                   CASE WHEN g % 3 = 0 THEN NULL ELSE :manager END, :clerk, :clerk,
                   DATE '2023-01-01' + (g % 1000), false, 1,
                   TIMESTAMPTZ '2023-01-01 02:00+00' + g * INTERVAL '1 hour',
                   TIMESTAMPTZ '2023-01-01 02:00+00' + g * INTERVAL '1 hour'
            FROM generate_series(1, :rows) AS g"""), {**params, "rows": ROWS})
        # Every case: one timer per model timer, met when closed; an open case's first timer runs
        # (due in the past for every fourth, so the dashboard has overdue cases).
        conn.execute(sa.text("""
            INSERT INTO sla_timer (application_id, timer, status, limit_days, started_at, due_at, provisional,
                                   breach_recorded, stopped_at)
            SELECT a.id, t.key,
                   CASE WHEN a.stage = ANY(CAST(:terminal AS text[])) OR t.n > 1 THEN 'met' ELSE 'running' END,
                   3, a.created_on,
                   CASE WHEN a.stage = ANY(CAST(:terminal AS text[])) OR a.id % 40 >= 10
                        THEN now() + INTERVAL '10 days' ELSE now() - INTERVAL '2 days' END,
                   false, false, a.created_on + INTERVAL '2 days'
            FROM application a CROSS JOIN unnest(CAST(:timers AS text[])) WITH ORDINALITY AS t(key, n)
            WHERE a.number LIKE 'YK1999%'"""), params)
        conn.execute(sa.text("""
            INSERT INTO workflow_history (application_id, at, user_name, roles, unit_name, kind, trigger,
                                          from_stage, to_stage)
            SELECT a.id, a.created_on + s * INTERVAL '1 hour', '测试', 'clerk', '', 'transition', 'step' || s,
                   'acceptance', a.stage
            FROM application a CROSS JOIN generate_series(1, 3) AS s WHERE a.number LIKE 'YK1999%'"""))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in sorted(WATCHED):
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))


def _capture(app):
    """A list that fills with (statement, parameters) of every statement the app's engine runs."""
    with app.app_context():
        engine = app.extensions["yekuotong"].db.engine
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


def _scans(plan: dict, limited: bool = False):
    """Every (node type, relation, reads the whole table) of a JSON plan. A sequential scan without a
    filter under a Limit reads only the rows the limit takes (a capped count): that is no full scan."""
    limited = limited or plan.get("Node Type") == "Limit"
    whole = plan.get("Node Type") == "Seq Scan" and ("Filter" in plan or not limited)
    yield plan.get("Node Type"), plan.get("Relation Name"), whole
    for child in plan.get("Plans", []):
        yield from _scans(child, limited)


def _plans(app, statements) -> list[tuple[str, list]]:
    """(statement, [(node type, relation)]) for each captured statement that reads a watched table."""
    with app.app_context():
        engine = app.extensions["yekuotong"].db.engine
    result = []
    with engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        for statement, parameters in statements:
            text = statement.lstrip()
            if text.startswith(SKIP_PREFIXES) or not any(t in text for t in WATCHED):
                continue
            if not text.upper().startswith(("SELECT", "WITH", "UPDATE", "DELETE")):
                continue
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters or None)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            result.append((statement, list(_scans(plan[0]["Plan"]))))
        conn.rollback()
    return result


def _assert_indexed(app, statements, what: str) -> None:
    plans = _plans(app, statements)
    assert plans, f"{what}: no statement on {', '.join(sorted(WATCHED))} was captured"
    for statement, nodes in plans:
        scanned = {rel for _node, rel, whole in nodes if whole and rel in WATCHED}
        assert not scanned, f"{what}: sequential scan of {scanned} in\n{statement}\nplan nodes: {nodes}"


def _login(app, username: str):
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 302, f"login as {username} failed"
    return client


PAGES = [
    ("application list, default order", "auditor", "/application/list/"),
    # 等于 (op 3): a stage is a key, compared whole (starts-with would be ILIKE, which no btree serves)
    ("application list, filtered by stage", "auditor", "/application/list/?_flt_3_stage=construction"),
    ("application list, number starting with", "auditor", "/application/list/?_flt_0_number=YK1999012345"),
    ("application list, number containing", "auditor", "/application/list/?_flt_2_number=99012"),
    ("application list, ordered by acceptance date", "auditor",
     "/application/list/?_oc_ApplicationView=accepted_on&_od_ApplicationView=desc"),
    ("to-do of a customer manager", "manager", "/todo/"),
    ("to-do of a clerk", "clerk", "/todo/"),
    ("to-do, overdue only", "manager", "/todo/?due=overdue"),
    # co-signing staff: the stages needing their unit's sign-off, each case's history through its index
    ("to-do of a co-signer", "billing", "/todo/"),
    ("workbench of a co-signer", "station", "/"),
    ("workbench of a customer manager", "manager", "/"),
    ("workbench of a unit head (the unit's open cases)", "head", "/"),
    ("deadline dashboard, all cases", "auditor", "/sla/dashboard/"),
    ("deadline dashboard, a customer manager's scope", "manager", "/sla/dashboard/"),
]


@pytest.mark.parametrize("what,username,path", PAGES, ids=[p[0] for p in PAGES])
def test_pages_read_cases_timers_and_history_through_indexes(big_app, what, username, path):
    client = _login(big_app, username)
    seen, stop = _capture(big_app)
    try:
        response = client.get(path, headers={"Accept-Language": "zh"})
    finally:
        stop()
    assert response.status_code == 200, what
    _assert_indexed(big_app, seen, what)


def test_an_application_page_reads_its_history_and_timers_through_indexes(big_app):
    with big_app.app_context():
        pk = big_app.extensions["yekuotong"].db.session.execute(
            sa.text("SELECT id FROM application WHERE number = 'YK1999012349'")).scalar_one()
    client = _login(big_app, "auditor")
    seen, stop = _capture(big_app)
    try:
        response = client.get(f"/application/show/{pk}", headers={"Accept-Language": "zh"})
    finally:
        stop()
    assert response.status_code == 200 and "YK1999012349" in response.get_data(as_text=True)
    assert any("workflow_history" in s for s, _p in seen), "the page did not read its history"
    _assert_indexed(big_app, seen, "application page")


def test_the_dashboard_counts_the_generated_cases(big_app):
    """The plans above are of a page that shows the data: 2,000 open cases, a quarter overdue."""
    body = _login(big_app, "auditor").get("/sla/dashboard/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    with big_app.app_context():
        session = big_app.extensions["yekuotong"].db.session
        overdue = session.execute(sa.text(
            "SELECT count(DISTINCT application_id) FROM sla_timer WHERE status IN ('running', 'overdue') "
            "AND due_at <= now()")).scalar_one()
    assert overdue >= ROWS // 10 // 4
    assert f"超期申请（{overdue}）" in body


def test_the_sweep_finds_due_timers_through_an_index(big_app):
    with big_app.app_context():
        core = big_app.extensions["yekuotong"]
        seen, stop = _capture(big_app)
        try:
            # Long ago: nothing is due, so the sweep only looks (and changes nothing).
            found = core.sla.sweep(core.db.session, now=dt.datetime(2000, 1, 3, tzinfo=dt.timezone.utc))
        finally:
            stop()
        assert found == 0
        assert any("sla_timer" in s and "due_at" in s for s, _p in seen), "the sweep's query was not captured"
        _assert_indexed(big_app, seen, "sweep")
