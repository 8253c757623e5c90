"""Deadlines: timers in working days (timers.py), the sweep, the working-day calendar in the database,
the dashboard and badges (views.py, calendar_views.py) and the `flask calendar` / `flask sla` commands."""
from __future__ import annotations

import os
import sys

from flask import Blueprint


def init_app(app, core, appbuilder) -> None:
    """The calendar service and screen; when the model has timers: start/stop them on every step,
    offer timer conditions to guards, show badges and the dashboard, sweep in the background."""
    from sqlalchemy import event

    from app import events
    from app.deadlines.calendar_store import CalendarService, seed_after_apply
    from app.deadlines.views.calendar import register_view
    from app.deadlines.cli import calendar_cli, sla_cli
    from app.deadlines.recompute import Recompute
    from app.deadlines.timers import Sla, SweepThread
    from app.deadlines.views.dashboard import init_views

    app.register_blueprint(Blueprint("deadlines", __name__, template_folder="templates"))
    service = core.calendar_service = CalendarService(core.db.engine)
    events.model_applied.connect(lambda _core, *, session: seed_after_apply(session), sender=core, weak=False)
    register_view(appbuilder, core)
    app.cli.add_command(calendar_cli)
    if core.engine is None or not core.model.timers:
        return
    sla = core.sla = Sla(core)
    events.step_taken.connect(sla.on_step, sender=core)
    events.list_rows_loaded.connect(sla.prefetch_running, sender=core)
    events.case_corrected.connect(Recompute(core, sla).on_corrected, sender=core, weak=False)
    core.engine.function_providers.append(sla.condition_functions)
    if not getattr(core.engine.cls, "_sla_insert", False):
        # One listener per class and process; it serves whichever app is current (tests run two).
        from flask import current_app

        event.listen(core.engine.cls, "after_insert",
                     lambda m, c, t: current_app.extensions["yekuotong"].sla.on_insert(m, c, t))
        core.engine.cls._sla_insert = True

    def recompute(_year: int) -> None:
        # A year's official schedule arrived: provisional deadlines become official ones.
        with app.app_context():
            sla.recompute_provisional(core.db.session)

    service.on_year_loaded.append(recompute)
    init_views(app, core, appbuilder)
    app.cli.add_command(sla_cli)
    serving = not (os.environ.get("FLASK_RUN_FROM_CLI") == "true" and "run" not in sys.argv[1:])
    if app.config.get("SLA_SWEEP_IN_PROCESS") and not app.testing and serving:
        SweepThread(app).start()
