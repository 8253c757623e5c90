"""The case's fields on its page, grouped by the stage that fills them (app/workflow/field_stages.py):
stages reached are open, the current one marked; a later stage's group is collapsed, or left out while
none of its fields has a value, so a new case does not show dozens of blank rows."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from app.workflow.field_stages import field_groups


def stage_fieldsets(row, columns) -> list[tuple[str, dict]]:
    """FAB `show_fieldsets` for this case: [(label, {"fields": [...], "expanded": bool})]."""
    core = current_app.extensions["yekuotong"]
    eng = core.engine
    wf = core.model.workflow
    stage = getattr(row, wf.state_field)
    visited = {stage}
    for h in eng.history(core.db.session, row):
        visited.update(s for s in (h.from_stage, h.to_stage) if s)
    fields = core.model.entities[wf.entity].fields
    out = []
    for key, names in field_groups(wf, columns):
        label = str(eng.stage_label(key))
        if key == stage:
            label = _("%(stage)s (current stage)", stage=label)
        if key in visited:
            out.append((label, {"fields": names, "expanded": True}))
        elif any(not _empty(getattr(row, name, None), fields.get(name)) for name in names):
            out.append((label, {"fields": names, "expanded": False}))
    return out


def _empty(value, spec) -> bool:
    """No value worth showing: nothing entered, or a yes/no still at its default."""
    if spec is not None and spec.type == "boolean":
        return value is None or value == (spec.default if spec.default is not None else False)
    return value is None or value == ""
