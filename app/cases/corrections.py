"""Correction steps: fields that guards, timers or fines read (customer type, capacity, acceptance
date...) change only here — by the roles the model names, with a reason, recorded before -> after —
and the deadlines that depend on them are recomputed (announced as `events.case_corrected`)."""
from __future__ import annotations

from flask_babel import gettext as _

from app import events
from app.cases.coercion import DataError
from app.cases.outcome import Outcome


class Corrections:
    """The model's `workflow.corrections`, applied by the engine inside its locked step transaction."""

    def __init__(self, core, engine):
        self.core = core
        self.engine = engine
        self.specs = {c.trigger: c for c in core.model.workflow.corrections}

    def available(self, row, roles: set[str]) -> list:
        """The corrections the user may make on `row` now (none once the case is closed)."""
        stage = self.engine.wf.stages.get(getattr(row, self.engine.definition.state_field))
        if stage is None or stage.terminal:
            return []
        return [c for c in self.specs.values() if roles & set(c.roles)]

    def correct(self, session, row, trigger, user, roles, data, comment, at):
        spec = self.specs[trigger]
        engine = self.engine
        stage = getattr(row, engine.definition.state_field)
        if not roles & set(spec.roles):
            names = "、".join(engine.label(self.core.model.roles[r]) for r in spec.roles if r in self.core.model.roles)
            return Outcome(403, _("Only %(roles)s may take this step.", roles=names), stage)
        if engine.wf.stages[stage].terminal:
            return Outcome(409, _("The application is closed (archived or cancelled) and cannot be changed."), stage)
        errors = {name: _("Not part of this step.") for name in data if name not in spec.fields}
        try:
            typed = engine.coerce(session, {k: v for k, v in data.items() if k in spec.fields}, tuple(spec.fields))
        except DataError as exc:
            errors.update(exc.errors)
            typed = {}
        if comment is None:
            errors["comment"] = _("Give a reason in the comment.")
        before = engine.record(row)
        changed = {k: v for k, v in typed.items()
                   if before.get(k) != v and not (v is None and engine.entity.fields[k].required)}
        for name, value in typed.items():
            if value is None and engine.entity.fields[name].required:
                errors[name] = _("Required for this step.")
        if not errors and not changed:
            errors["data"] = _("Nothing to correct: every value is as before.")
        if errors:
            return Outcome(422, _("The step was refused; nothing was saved."), stage, errors)
        for name, value in changed.items():
            attr = f"{name}_id" if engine.entity.fields[name].type == "reference" else name
            setattr(row, attr, value)
        engine.add_history(session, row, user, roles, "correction", trigger, stage, stage, comment,
                           before, engine.record(row), at)
        session.flush()
        events.case_corrected.send(self.core, session=session, row=row, changed=set(changed), user=user, at=at)
        session.flush()
        return Outcome(200, _("Done: %(label)s.", label=engine.label(spec)), stage)
