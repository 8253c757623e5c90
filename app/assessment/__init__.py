"""Assessment (考核): the fines ledger, incidents and sanctions (ledger.py), the monthly summary,
fine notices printed with verification (printing.py) and the screens (views.py)."""
from __future__ import annotations

from flask import Blueprint


def init_app(app, core, appbuilder) -> None:
    """Subscribe the ledger to steps and breaches (after the deadlines), add its screens and the
    verification of its printed notices."""
    if core.engine is None or not core.model.fines:
        return
    from app import events
    from app.assessment.ledger import Ledger
    from app.assessment.printing import verifier
    from app.assessment.views import init_views

    app.register_blueprint(Blueprint("assessment", __name__, template_folder="templates"))
    from app.database.integrity import protect, reference

    # A decided fine (confirmed, waived, a reversal) is corrected by a new entry, never edited.
    # Fines and incidents name their application: it must exist and cannot be deleted under them.
    entity = core.model.workflow.entity

    def _integrity(_core, *, connection) -> None:
        protect(connection, "fine_entry", frozen_when="OLD.status <> 'proposed'")
        reference(connection, "fine_entry", "application_id", entity)
        reference(connection, "incident", "application_id", entity)

    events.schema_migrated.connect(_integrity, sender=core, weak=False)
    ledger = core.ledger = Ledger(core)
    events.step_taken.connect(ledger.on_step, sender=core)
    if core.sla is not None:
        events.deadlines_breached.connect(ledger.on_breached, sender=core)
    init_views(app, core, appbuilder)
    printing = core.printing
    if printing is not None:
        printing.extra_verifiers.append(verifier(core))
