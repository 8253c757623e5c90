"""Checks of `migrate:` (where the cases of the replaced version go): M501–M504."""
from __future__ import annotations

from .checker import Checker
from .diff import can_finish
from .problems import N_


def check_migrate(c: Checker) -> None:
    migrate = c.model.migrate
    if migrate is None:
        return
    wf = c.model.workflow
    stages = wf.stages if wf else {}
    working = can_finish(wf)  # stages from which an end is still reachable: nothing to rescue there
    for old, new in migrate.stages.items():
        path = ("migrate", "stages", old)
        if new not in stages:
            c.unknown(path, "M501", "stage", new, stages)
        if old in working:
            c.report(path, "M504", N_("'{name}' is still in the model: only removed stages and values are mapped"),
                     N_("remove this line, or the stage '{name}' from workflow.stages"), key=True, name=old)
    targets = set(migrate.stages.values())
    fields = c.model.entities[wf.entity].fields if wf and wf.entity in c.model.entities else {}
    for stage, values in migrate.set.items():
        path = ("migrate", "set", stage)
        if stage not in targets:
            c.unknown(path, "M501", "stage", stage, targets, key=True)
        for name in values:
            if name not in fields:
                c.unknown(path + (name,), "M204", "field", name, fields, key=True)
    for name, mapping in migrate.values.items():
        path = ("migrate", "values", name)
        entity_key, _sep, field_key = name.partition(".")
        entity = c.model.entities.get(entity_key)
        field = entity.fields.get(field_key) if entity else None
        if field is None or field.type != "choice":
            c.report(path, "M502", N_("'{name}' is not a choice field"),
                     N_("write the entity and the field with a dot, e.g. 'application.business_type'"),
                     key=True, name=name)
            continue
        values = {ch.value for ch in field.choices or []}
        for old, new in mapping.items():
            if new not in values:
                c.unknown(path + (old,), "M503", "choice", new, values)
            if old in values:
                c.report(path + (old,), "M504",
                         N_("'{name}' is still in the model: only removed stages and values are mapped"),
                         N_("remove this line, or the choice '{name}' from the field"), key=True, name=old)
