"""Cases: firing steps (engine.py), numbering, the application page and the workflow API (views.py)."""
from __future__ import annotations

from flask import Blueprint


def init_app(app, core, appbuilder) -> dict[str, tuple]:
    """Register the workflow API; return the mixins the workflow entity's generated screen needs."""
    if core.model.workflow is None:
        return {}
    from app.cases.views import WorkflowViewMixin, make_workflow_api

    app.register_blueprint(Blueprint("cases", __name__, template_folder="templates"))
    appbuilder.add_api(make_workflow_api(core.model.workflow.entity))
    return {core.model.workflow.entity: (WorkflowViewMixin,)}
