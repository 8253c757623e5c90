"""Printing: the model's forms as A4 PDFs (forms.py), rendering with an embedded CJK font (render.py,
fonts.py), verification codes (verify.py), and the print / verify screens and API (views.py)."""
from __future__ import annotations

from flask import Blueprint


def init_app(app, core, appbuilder) -> None:
    """Register the print_record table, the print/verify screens, the API and the page buttons."""
    if core.model.workflow is None:
        return
    from app.printing.forms import Printing, print_record_class
    from app.printing.views import register_printing

    app.register_blueprint(Blueprint("printing", __name__, template_folder="templates"))
    printing = Printing(core, print_record_class(core.model.workflow.entity))
    app.extensions["ykt_printing"] = printing
    core.printing = printing
    register_printing(appbuilder, core, printing)
