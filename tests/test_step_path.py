"""The write path of a workflow step (issue 13, steps toward the bare floor): the locked row and its
history row written with Core statements, a bounded number of statements per step, decisions that
never touch the shared state machine, and a version mismatch refused with nothing written."""
from __future__ import annotations

import json
import threading

from sqlalchemy import event, func, select
from sqlalchemy.orm.attributes import set_committed_value

from test_workflow_api import new_application


def _fire(app, pk: int, trigger: str = "forward", statements: list | None = None):
    core = app.extensions["yekuotong"]
    with app.app_context():
        session = core.db.session
        sm = app.appbuilder.sm
        user = sm.get_user_by_id(sm.find_user(username="clerk").id)  # with roles and unit, as a request has it
        if statements is None:
            return core.engine.fire(session, pk, trigger, user, {}, "资料齐全")
        listener = lambda _c, _cur, sql, *_a: statements.append(" ".join(sql.split())[:60])  # noqa: E731
        event.listen(core.db.engine, "before_cursor_execute", listener)
        try:
            return core.engine.fire(session, pk, trigger, user, {}, "资料齐全")
        finally:
            event.remove(core.db.engine, "before_cursor_execute", listener)
            session.remove()


def test_a_step_is_a_few_statements_and_leaves_its_history_row(app):
    pk = new_application(app, "residential", False)
    core = app.extensions["yekuotong"]
    with app.app_context():
        old = core.db.session.get(core.orm["application"], pk)
        version, changed = old.lock_version, old.changed_on
        core.db.session.remove()
    statements: list[str] = []
    outcome = _fire(app, pk, statements=statements)
    assert outcome.status == 200 and "完成" in outcome.message, outcome.message
    writes = [s for s in statements if s.startswith(("UPDATE application", "WITH moved"))]
    assert len(writes) == 1, statements  # one write of the case (with its history row on PostgreSQL)
    postgres = any(s.startswith("WITH moved") for s in statements)
    # lock, documents, case and history (one statement on PostgreSQL), the timers it stops/starts
    assert len(statements) <= (5 if postgres else 6), statements
    with app.app_context():
        assert postgres == (core.db.engine.dialect.name == "postgresql")
    with app.app_context():
        session = core.db.session
        row = session.get(core.orm["application"], pk)
        assert row.stage == "initial_review" and row.lock_version == version + 1
        assert row.changed_on is not None and (changed is None or row.changed_on >= changed)
        history = core.orm["workflow_history"]
        last = session.scalars(select(history).where(history.application_id == pk, history.kind == "transition")).one()
        assert (last.trigger, last.from_stage, last.to_stage, last.comment) == \
            ("forward", "acceptance", "initial_review", "资料齐全")
        assert last.user_name and "clerk" in last.roles.split(",")
        assert last.changes is None or "stage" not in json.loads(last.changes)
        session.remove()


def test_decisions_never_touch_the_shared_machine(app):
    """The machine's model list is not thread-safe: decisions read the moves confirmed when the
    workflow was built, so threads decide at once without a process-wide lock."""
    core = app.extensions["yekuotong"]
    wf = core.engine.wf

    def refuse(*_a, **_k):
        raise AssertionError("a decision changed the shared machine")

    wf.machine.add_model, wf.machine.remove_model = refuse, refuse
    results: list[str] = []
    try:
        def decide():
            for _ in range(200):
                results.append(wf.next_stage("forward", "acceptance"))

        threads = [threading.Thread(target=decide) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        del wf.machine.add_model, wf.machine.remove_model
    assert results == ["initial_review"] * 800
    assert len(wf.machine.models) == 0


def test_a_version_mismatch_is_refused_with_nothing_written(app, monkeypatch):
    pk = new_application(app, "residential", False)
    core = app.extensions["yekuotong"]
    real = core.engine.history_values

    def stale(row, *args, **kwargs):  # as if the row had changed since it was read
        set_committed_value(row, "lock_version", row.lock_version - 1)
        return real(row, *args, **kwargs)

    monkeypatch.setattr(core.engine, "history_values", stale)
    outcome = _fire(app, pk)
    assert outcome.status == 409 and "同时" in outcome.message, outcome.message
    monkeypatch.undo()
    with app.app_context():
        session = core.db.session
        assert session.get(core.orm["application"], pk).stage == "acceptance"
        history = core.orm["workflow_history"]
        assert session.scalar(select(func.count()).select_from(history).where(
            history.application_id == pk, history.kind == "transition")) == 0
        session.remove()
