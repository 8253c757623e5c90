"""Cases: firing steps (engine.py), numbering, the application page and the workflow API (views.py)."""
from __future__ import annotations

from flask import Blueprint


def init_app(app, core, appbuilder) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Register the workflow API; return the mixins the generated screens and APIs need: the case
    page and stage-aware editing for the case, record rules for its documents, defects and fees."""
    if core.model.workflow is None:
        return {}, {}
    from app import events
    from app.cases.records import CaseRecorder, backfill_accepted_by, install_listener
    from app.cases.signoffs import Signoffs
    from app.cases.views.signoffs import SignoffViewMixin, make_signoff_api, signoff_panel
    from app.cases.views.editing import api_bases, screen_bases
    from app.cases.views.page import make_workflow_api
    from app.database.integrity import protect

    # History is evidence: the database itself refuses to change or delete it.
    events.schema_migrated.connect(lambda _core, *, connection: protect(connection, "workflow_history"),
                                   sender=core, weak=False)
    # Creating a case is its acceptance step; edits and sub-records outside steps are recorded too.
    core.recorder = CaseRecorder(core)
    install_listener()
    events.model_applied.connect(lambda _core, *, session: backfill_accepted_by(core, session),
                                 sender=core, weak=False)
    app.register_blueprint(Blueprint("cases", __name__, template_folder="templates"))
    appbuilder.add_api(make_workflow_api(core.model.workflow.entity))
    # Joint decisions (会签): signatures are history rows; a joint step completes once all are in.
    core.signoffs = Signoffs(core)
    core.engine.function_providers.append(core.signoffs.condition_functions)
    core.page_panels.append(signoff_panel)
    appbuilder.add_api(make_signoff_api(core.model.workflow.entity))
    screens = screen_bases(core)
    screens[core.model.workflow.entity] += (SignoffViewMixin,)
    return screens, api_bases(core)
