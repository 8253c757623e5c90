"""Firing workflow steps on applications: one transaction per step, row-locked, recorded in history."""
from __future__ import annotations

import json
import logging
from typing import Callable

from flask_babel import gettext as _
from sqlalchemy import insert, literal, select, update
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from app import events
from app.database.errors import CONFLICT, UNAVAILABLE, classify
from app.database.types import now_utc
from app.cases.coercion import DataError, FieldValues
from app.cases.corrections import Corrections
from app.cases.outcome import Outcome
from app.cases.records import IN_STEP, json_value
from app.i18n import is_english
from app.model.condition_words import guard_reasons
from app.security import scope
from app.security.user import StaffUser
from app.workflow import machine as wm

log = logging.getLogger(__name__)
PSEUDO = (wm.SUSPEND, wm.RESUME, wm.CANCEL)


class Engine:
    """The workflow of one loaded model, applied to rows of its entity."""

    def __init__(self, core):
        self.core = core
        self.model = core.model
        self.wf = wm.Workflow.from_model(core.model)
        self.wf.english_now = is_english  # the diagram in the request's language
        self.definition = core.model.workflow
        self.values = FieldValues(core, self)
        self.corrections = Corrections(core, self)
        self.entity = core.model.entities[self.definition.entity]
        # Condition functions other parts add (timer_overdue, timer_status): (session, row) -> dict
        self.function_providers: list[Callable] = []

    # ------------------------------------------------------------------ reading
    @property
    def cls(self):
        return self.core.orm[self.definition.entity]

    def roles_of(self, user) -> set[str]:
        return {role.name for role in getattr(user, "roles", [])}

    def record(self, row) -> dict:
        data = {name: getattr(row, f"{name}_id" if f.type == "reference" else name)
                for name, f in self.entity.fields.items()}
        data.update(number=row.number, suspended=row.suspended,
                    **{self.definition.state_field: getattr(row, self.definition.state_field)})
        return data

    def collections(self, session, row, names) -> dict[str, list[dict]]:
        result = {}
        for name in names:
            cls = self.core.orm[name]
            link = next(n for n, f in self.model.entities[name].fields.items()
                        if f.type == "reference" and f.to == self.definition.entity)
            rows = session.scalars(select(cls).where(getattr(cls, f"{link}_id") == row.id))
            result[name] = [{n: getattr(r, f"{n}_id" if f.type == "reference" else n)
                             for n, f in self.model.entities[name].fields.items()} for r in rows]
        return result

    def functions(self, session, row, roles: set[str]) -> dict[str, Callable]:
        funcs: dict[str, Callable] = {
            "documents_complete": lambda: self.documents_complete(session, row),
            "has_role": lambda role: role in roles,
            "timer_overdue": lambda _timer: False,
            "timer_status": lambda _timer: "none",
        }
        for provider in self.function_providers:
            funcs.update(provider(session, row))
        return funcs

    def documents_complete(self, session, row) -> bool:
        """Every document the model requires at the application's stage has a received row."""
        docs = self.definition.documents
        if docs is None:
            return True
        record = {name: getattr(row, name, None) for name in self.wf.documents.fields}
        needed = set(self.wf.required_documents(record, getattr(row, self.definition.state_field, None)))
        if not needed:
            return True
        cls = self.core.orm[docs.entity]
        link = next(n for n, f in self.model.entities[docs.entity].fields.items()
                    if f.type == "reference" and f.to == self.definition.entity)
        have = set(session.scalars(select(getattr(cls, docs.kind_field)).where(
            getattr(cls, f"{link}_id") == row.id, getattr(cls, docs.received_field).is_(True))))
        return needed <= have

    def context(self, session, row, roles: set[str], specs=None) -> dict:
        """What guards read: the record, the collections `specs` need (all by default), functions."""
        specs = self.wf.transitions if specs is None else specs
        names = {n for t in specs for n in t.collections}
        return {"record": self.record(row), "collections": self.collections(session, row, names),
                "functions": self.functions(session, row, roles)}

    def available(self, session, row, user) -> list:
        roles = self.roles_of(user)
        stage = getattr(row, self.definition.state_field)
        ctx = self.context(session, row, roles, self.wf.transitions_from(stage) if stage in self.wf.stages else [])
        return self.wf.available(getattr(row, self.definition.state_field), row.suspended, roles,
                                 ctx["record"], ctx["collections"], ctx["functions"])

    def history(self, session, row) -> list:
        cls = self.core.orm["workflow_history"]
        return list(session.scalars(select(cls).where(cls.application_id == row.id).order_by(cls.id)))

    def coerce(self, session, data: dict, allowed: tuple[str, ...]) -> dict:
        """Typed values of the allowed fields in `data`; raises DataError naming every bad one."""
        return self.values.coerce(session, data, allowed)

    # ------------------------------------------------------------------ firing
    def fire(self, session, app_id: int, trigger: str, user, data: dict | None = None,
             comment: str | None = None, at=None) -> Outcome:
        """One step in one transaction: lock, decide, save fields, stage and history, commit.
        `at` backdates the step (imports of paper records, demo data); default now."""
        data = dict(data or {})
        if comment is not None and not isinstance(comment, str):
            return Outcome(422, _("Some values are not valid; nothing was saved."), None,
                           {"comment": _("The comment must be text.")})
        comment = (comment or "").strip() or None
        limit = self.definition.comment_max_length
        if comment is not None and len(comment) > limit:
            return Outcome(422, _("Some values are not valid; nothing was saved."), None,
                           {"comment": _("At most %(n)d characters.", n=limit)})
        at = at or now_utc()
        session.info[IN_STEP] = True  # this step writes its own history (app.cases.records)
        try:
            outcome = self._fire(session, app_id, trigger, user, data, comment, at)
            if outcome.ok:
                session.commit()
            else:
                session.rollback()
            return outcome
        except (StaleDataError, DBAPIError) as exc:
            session.rollback()
            kind = classify(exc)
            if kind == CONFLICT:
                log.info("conflict on application %s (%s): %s", app_id, trigger, exc)
                return Outcome(409, _("Someone else changed this application at the same time; "
                                      "nothing was saved. Reload the page and try again."))
            if kind == UNAVAILABLE:
                log.error("storage error on application %s (%s): %s", app_id, trigger, str(exc)[:500])
                return Outcome(503, _("The server cannot save right now; please try again later."))
            raise
        except Exception:
            session.rollback()
            raise
        finally:
            session.info.pop(IN_STEP, None)

    def _fire(self, session, app_id, trigger, user, data, comment, at) -> Outcome:
        # Lock the row itself only: eager joins cannot be locked on PostgreSQL.
        row = session.execute(select(self.cls).where(self.cls.id == app_id).options(lazyload("*"))
                              .with_for_update()).scalar_one_or_none()
        if row is None or not scope.may_act(self.core, user, row):  # out of the role's row scope: unseen
            return Outcome(404, _("Application not found."))
        roles = self.roles_of(user)
        stage = getattr(row, self.definition.state_field)
        if trigger in PSEUDO:
            return self._pseudo(session, row, trigger, user, roles, data, comment, at)
        if trigger in self.corrections.specs:
            return self.corrections.correct(session, row, trigger, user, roles, data, comment, at)
        spec = self.spec_for(trigger, stage)
        try:
            typed = self.coerce(session, data, spec.fields if spec else ())
        except DataError as exc:
            return Outcome(422, _("Some values are not valid; nothing was saved."), stage, exc.errors)
        unknown = [k for k in data if spec is None or k not in spec.fields]
        ctx = self.context(session, row, roles, [spec] if spec else [])
        decision = self.wf.decide(trigger, stage=stage, suspended=row.suspended, roles=roles,
                                  record=ctx["record"], collections=ctx["collections"],
                                  functions=ctx["functions"], data={**typed, **{k: data[k] for k in unknown}},
                                  comment=comment)
        if not decision.ok:
            return self._refusal(decision, stage)
        before = self.record(row)
        values = {f"{name}_id" if self.entity.fields[name].type == "reference" else name: value
                  for name, value in decision.changes.items()}
        values[self.definition.state_field] = decision.dest
        after = {**before, **decision.changes, self.definition.state_field: decision.dest}
        self.write_step(session, row, values, self.history_values(
            row, user, roles, "transition", trigger, stage, decision.dest, comment, before, after, at))
        events.step_taken.send(self.core, session=session, row=row, trigger=trigger, source=stage,
                               dest=decision.dest, at=at)
        session.flush()
        return Outcome(200, _("Done: %(label)s.", label=self.label(spec)), decision.dest)

    def spec_for(self, trigger: str, stage: str):
        try:
            return self.wf.transition(trigger, stage)
        except KeyError:
            return None

    def label(self, item) -> str:
        from app.i18n import is_english

        return item.label_en if is_english() else item.label_zh

    def step_label(self, trigger: str, source: str | None) -> str:
        """What a history row's step is called: the transition's label, or suspend/resume/cancel/print."""
        names = {"suspend": _("Suspend"), "resume": _("Resume"), "cancel": _("Cancel application"),
                 "print": _("Print"), "accept": _("Application accepted"), "edit": _("Edited"),
                 "migrate": _("Model version migration")}  # app/versions/impact.py moved it
        if trigger in names:
            return names[trigger]
        if trigger in self.corrections.specs:
            return self.label(self.corrections.specs[trigger])
        action, _sep, entity = trigger.partition("_")
        if action in ("add", "edit", "delete") and entity in self.model.entities:
            verbs = {"add": _("Added: %(what)s"), "edit": _("Changed: %(what)s"), "delete": _("Removed: %(what)s")}
            return verbs[action] % {"what": self.label(self.model.entities[entity])}
        spec = self.spec_for(trigger, source) if source else None
        if spec:
            return self.label(spec)
        # Rows other capabilities write on the case: fine decisions (app/assessment), recomputed deadlines.
        others = {"confirm": _("Fine confirmed"), "waive": _("Fine waived"), "reverse": _("Fine corrected"),
                  "recompute": _("Deadlines recomputed")}
        return others.get(trigger, trigger)

    def stage_label(self, key: str | None) -> str:
        return self.label(self.wf.stage(key)) if key in self.wf.stages else (key or "")

    def _refusal(self, decision, stage: str) -> Outcome:
        kind = decision.kind
        if kind == wm.UNKNOWN_TRIGGER:
            return Outcome(409, _("There is no step with this name."), stage)
        if kind == wm.WRONG_STAGE:
            return Outcome(409, _("This step cannot be taken now: the application is at %(stage)s.",
                                  stage=self.stage_label(stage)), stage)
        if kind == wm.SUSPENDED:
            return Outcome(409, _("The application is suspended; resume it first."), stage)
        if kind == wm.NOT_SUSPENDED:
            return Outcome(409, _("The application is not suspended."), stage)
        if kind == wm.WRONG_ROLE:
            roles = "、".join(self.label(self.model.roles[r]) for r in decision.allowed_roles if r in self.model.roles)
            return Outcome(403, _("Only %(roles)s may take this step.", roles=roles), stage)
        errors = {name: _("Required for this step.") for name in decision.missing_fields}
        errors.update({name: _("Not part of this step.") for name in decision.unknown_fields})
        if wm.COMMENT_REQUIRED in decision.kinds:
            errors["comment"] = _("Give a reason in the comment.")
        if wm.UNKNOWN_REASON in decision.kinds:
            errors["reason"] = _("Choose one of the listed reasons.")
        failed = list(decision.failed_conditions)
        message = _("The step was refused; nothing was saved.")
        if decision.failed_guards:  # in words from the model (its messages), not the condition language
            spec = decision.transition
            said = guard_reasons(spec.compiled, spec.messages, decision.failed_guards, self.model,
                                 "en" if is_english() else "zh")
            message += " " + _("Conditions not met: %(list)s", list="；".join(said))
        if decision.missing_signoffs:  # joint decisions: name the units/roles that have not signed
            names = "、".join(self.wf.signoff_label(k, is_english()) for k in decision.missing_signoffs)
            message += " " + _("Sign-offs still missing: %(list)s", list=names)
        return Outcome(422, message, stage, errors, failed)

    def add_history(self, session, row, user, roles, kind, trigger, source, dest, comment, before, after, at=None):
        session.add(self.core.orm["workflow_history"](**self.history_values(
            row, user, roles, kind, trigger, source, dest, comment, before, after, at)))

    def history_values(self, row, user, roles, kind, trigger, source, dest, comment, before, after, at=None) -> dict:
        """The columns of a history row: who (name, roles, unit), when, the step, what changed."""
        changes = {k: [json_value(before.get(k)), json_value(v)] for k, v in after.items()
                   if before.get(k) != v and k != self.definition.state_field}
        unit = getattr(user, "unit", None)
        return dict(application_id=row.id, user_id=getattr(user, "id", None), at=at or now_utc(),
                    user_name=str(user) if user is not None else "", roles=",".join(sorted(roles)),
                    unit_name=unit.name if unit is not None else "", kind=kind, trigger=trigger,
                    from_stage=source, to_stage=dest, comment=comment,
                    changes=json.dumps(changes, ensure_ascii=False) if changes else None)

    def write_step(self, session, row, values: dict, history: dict) -> None:
        """The Core write path of a step on the locked row: its new values (version checked and
        bumped) and its history row in one statement on PostgreSQL (an UPDATE in a WITH feeding the
        INSERT), two elsewhere; no unit-of-work flush. The loaded row object is given the saved
        values, so receivers of step_taken read the application as it now is."""
        session.flush()  # anything pending goes first, in order
        table, hist = self.cls.__table__, self.core.orm["workflow_history"].__table__
        mapper = self.cls.__mapper__
        values = {**values, "changed_on": now_utc(), "lock_version": row.lock_version + 1}
        columns = {mapper.get_property(attr).columns[0].key: value for attr, value in values.items()}
        moved = update(table).where(table.c.id == row.id, table.c.lock_version == row.lock_version).values(columns)
        rest = [k for k in history if k != "application_id"]
        if session.get_bind().dialect.name == "postgresql":
            cte = moved.returning(table.c.id).cte("moved")
            chosen = select(cte.c.id, *[literal(history[k], hist.c[k].type) for k in rest])
            written = len(session.execute(insert(hist).from_select(["application_id", *rest], chosen)
                                          .returning(hist.c.id)).all())
        else:
            written = session.execute(moved).rowcount
            if written == 1:
                session.execute(insert(hist).values(history))
        if written != 1:
            raise StaleDataError(f"application {row.id} changed while its step was taken")
        for attr, value in values.items():
            set_committed_value(row, attr, value)

    # ------------------------------------------------------------------ suspend, resume, cancel
    def _pseudo(self, session, row, trigger, user, roles, data, comment, at) -> Outcome:
        stage = getattr(row, self.definition.state_field)
        reason = (data.get("reason") or "").strip() or None
        if trigger == wm.SUSPEND:
            decision = self.wf.can_suspend(stage, row.suspended, roles, reason)
        elif trigger == wm.RESUME:
            decision = self.wf.can_resume(row.suspended, roles)
        else:
            decision = self.wf.can_cancel(stage, roles, reason)
        if not decision.ok:
            return self._refusal(decision, stage)
        before = self.record(row)
        sus_cls = self.core.orm["suspension"]
        if trigger == wm.SUSPEND:
            try:
                person = self._responsible(session, data)
            except DataError as exc:
                return Outcome(422, _("Some values are not valid; nothing was saved."), stage, exc.errors)
            row.suspended, row.suspended_from = True, stage
            session.add(sus_cls(application_id=row.id, stage=stage, reason=reason, note=comment, started_at=at,
                                started_by_id=getattr(user, "id", None), **person))
            dest, message = stage, _("The application is suspended.")
        else:
            open_suspension = session.scalars(select(sus_cls).where(
                sus_cls.application_id == row.id, sus_cls.ended_at.is_(None))).first()
            if open_suspension is not None:
                open_suspension.ended_at = at
                open_suspension.ended_by_id = getattr(user, "id", None)
            if trigger == wm.RESUME:
                dest = row.suspended_from or stage
                message = _("The application is resumed at %(stage)s.", stage=self.stage_label(dest))
            else:
                dest = decision.dest
                if reason is None:
                    return Outcome(422, _("Choose a reason."), stage, {"reason": _("Choose one of the listed reasons.")})
                message = _("The application is cancelled.")
            row.suspended, row.suspended_from = False, None
            setattr(row, self.definition.state_field, dest)
        text = " ".join(x for x in (self.reason_label(trigger, reason), comment) if x) or None
        self.add_history(session, row, user, roles, trigger, trigger, stage, dest, text, before, self.record(row), at)
        events.step_taken.send(self.core, session=session, row=row, trigger=trigger, source=stage, dest=dest, at=at)
        session.flush()
        return Outcome(200, message, dest)

    def reason_label(self, trigger: str, reason: str | None) -> str:
        reasons = self.wf.cancellation_reasons if trigger == wm.CANCEL else self.wf.suspension_reasons
        for r in reasons:
            if r.key == reason:
                return self.label(r)
        return ""

    def _responsible(self, session, data: dict) -> dict:
        result, errors = {}, {}
        for key, target in (("responsible_user", StaffUser), ("responsible_unit", self.core.orm["unit"])):
            raw = data.get(key)
            if raw in (None, ""):
                continue
            try:
                pk = int(raw)
            except (TypeError, ValueError):
                pk = None
            if pk is None or session.get(target, pk) is None:
                errors[key] = _("No such record.")
            else:
                result[f"{key}_id"] = pk
        if not result and not errors:
            errors["responsible_user"] = _("Name the responsible person or unit.")
        if errors:
            raise DataError(errors)
        return result
