"""Portal: where each role starts: the workbench (工作台) and the to-do queue (我的待办); and where the
customer looks up the progress of an application without signing in (办事公开, /progress/)."""
from __future__ import annotations

from flask import Blueprint


def init_app(app, core, appbuilder) -> None:
    """The to-do menu entry (the workbench is FAB's index view, named in config) and, when the model
    declares `workflow.public_lookup`, the public progress lookup with its rate limits."""
    from flask_babel import LazyString

    from app.portal.views import TodoView, todo_label

    from app import i18n

    app.register_blueprint(Blueprint("portal", __name__, template_folder="templates"))
    # Templates compose texts with the language's punctuation: {{ punct().colon }} (： or ": ").
    app.jinja_env.globals.update(punct=i18n.punctuation, unit_name=i18n.unit_name, fine_rule=i18n.fine_rule)
    if core.model.workflow is not None:
        appbuilder.add_view(TodoView, "todo", label=LazyString(todo_label(core)), icon="fa-check-square-o")
    if core.model.workflow is not None and core.model.workflow.public_lookup is not None:
        from app.portal.lookup import ProgressLookup
        from app.portal.views import progress

        # Flask-Limiter notation; per number: 10,000 possible digits stay out of reach at 30 a day.
        app.config.setdefault("PUBLIC_LOOKUP_LIMIT_IP", "10 per minute;100 per day")
        app.config.setdefault("PUBLIC_LOOKUP_LIMIT_NUMBER", "5 per minute;30 per day")
        app.extensions["ykt_progress"] = ProgressLookup(core)
        app.register_blueprint(progress)
