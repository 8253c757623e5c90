"""Portal: where each role starts: the workbench (工作台) and the to-do queue (我的待办)."""
from __future__ import annotations

from flask import Blueprint


def init_app(app, core, appbuilder) -> None:
    """The to-do menu entry (the workbench is FAB's index view, named in config)."""
    from flask_babel import LazyString

    from app.portal.views import TodoView, todo_label

    app.register_blueprint(Blueprint("portal", __name__, template_folder="templates"))
    if core.model.workflow is not None:
        appbuilder.add_view(TodoView, "todo", label=LazyString(todo_label(core)), icon="fa-check-square-o")
