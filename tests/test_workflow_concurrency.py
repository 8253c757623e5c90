"""Two people firing the same step at once: exactly one wins, the other gets a clear message."""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from app import events

from test_workflow_api import new_application


def test_two_concurrent_steps_one_wins(app):
    pk = new_application(app, "residential", False)
    core = app.extensions["yekuotong"]
    engine = core.engine
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def slow_hook(_core, **_):  # hold the transaction open so the other request must wait
        time.sleep(0.4)

    events.step_taken.connect(slow_hook, sender=core)

    def fire(name: str) -> None:
        with app.app_context():
            session = core.db.session
            user = app.appbuilder.sm.find_user(username="clerk")
            barrier.wait()
            results[name] = engine.fire(session, pk, "forward", user, {}, name)
            core.db.session.remove()

    threads = [threading.Thread(target=fire, args=(n,)) for n in ("a", "b")]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        events.step_taken.disconnect(slow_hook, sender=core)
    statuses = sorted(r.status for r in results.values())
    assert statuses == [200, 409], {k: (v.status, v.message) for k, v in results.items()}
    loser = next(r for r in results.values() if r.status == 409)
    assert any(word in loser.message for word in ("同时", "无法执行")), loser.message
    with app.app_context():
        history = core.orm["workflow_history"]
        count = core.db.session.execute(select(func.count()).select_from(history)
                                        .where(history.application_id == pk, history.kind == "transition")).scalar_one()
        assert count == 1  # one step recorded (besides the acceptance and its documents)
        assert core.db.session.get(core.orm["application"], pk).stage == "initial_review"
