"""Joint decisions (会签) on a case: each party's sign-off is a history row, and a step that needs
sign-offs completes only when every party has signed since the case entered its stage.

A transition's `signoffs:` names its parties, "unit:<key>" (any staff member of the unit signs for
it) or "role:<key>". Signing is recorded as a history row of kind ``signoff`` (trigger: the step
signed, from = to = the stage, comment: the signer's opinion, changes: ``{"signoff": [null, party]}``).
A round starts when the case enters its stage: after the plan is sent back and resubmitted, its
approval needs fresh signatures. The engine asks `signed_off(trigger)` through the condition
functions this module provides; the decisions themselves are app.workflow.signoff's.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased, lazyload

from app.cases.outcome import Outcome
from app.database.types import now_utc
from app.workflow import machine as wm

KIND = "signoff"


@dataclass(frozen=True)
class Signature:
    """One recorded sign-off of a party."""

    party: str
    user_name: str
    unit_name: str
    at: object
    comment: str | None


class Signoffs:
    """Sign-offs of the workflow entity's cases, kept in workflow_history."""

    def __init__(self, core):
        self.core = core

    @property
    def engine(self):
        return self.core.engine

    @property
    def history_cls(self):
        return self.core.orm["workflow_history"]

    # ------------------------------------------------------------------ reading
    def round_start(self, session, row) -> int:
        """Id of the history row by which the case entered its current stage (0: never re-entered)."""
        h = self.history_cls
        stage = getattr(row, self.engine.definition.state_field)
        last = session.scalar(select(func.max(h.id)).where(
            h.application_id == row.id, h.kind == "transition", h.to_stage == stage,
            or_(h.from_stage.is_(None), h.from_stage != stage)))
        return last or 0

    def signatures(self, session, row, trigger: str) -> dict[str, Signature]:
        """The parties that signed `trigger` off in this round, with who signed for them."""
        h = self.history_cls
        rows = session.scalars(select(h).where(h.application_id == row.id, h.kind == KIND, h.trigger == trigger,
                                               h.id > self.round_start(session, row)).order_by(h.id))
        found: dict[str, Signature] = {}
        for r in rows:
            party = (json.loads(r.changes or "{}").get(KIND) or [None, None])[1]
            if party and party not in found:
                found[party] = Signature(party, r.user_name, r.unit_name, r.at, r.comment)
        return found

    def condition_functions(self, session, row) -> dict:
        """For the engine's decisions: which parties signed a trigger off in this round."""
        return {wm.SIGNED_OFF: lambda trigger: set(self.signatures(session, row, trigger))}

    def open_steps(self, session, row, user) -> list[dict]:
        """The steps of the current stage that need sign-offs: each party, signed or not, and whether
        `user` may sign now (what the case page and the API show)."""
        stage = getattr(row, self.engine.definition.state_field)
        roles = self.engine.roles_of(user)
        unit = unit_key(user)
        out = []
        for spec in self.engine.wf.transitions_from(stage) if stage in self.engine.wf.stages else ():
            if not spec.signoffs:
                continue
            signed = self.signatures(session, row, spec.trigger)
            decision = self.engine.wf.can_sign_off(spec.trigger, stage=stage, suspended=row.suspended, roles=roles,
                                                   unit=unit, signed=signed)
            out.append({"trigger": spec.trigger, "label": self.engine.label(spec), "can_sign": decision.ok,
                        "parties": [{"key": k, "label": self.label(k), "signed": k in signed,
                                     "by": signed[k].user_name if k in signed else None,
                                     "at": signed[k].at if k in signed else None,
                                     "comment": signed[k].comment if k in signed else None}
                                    for k in spec.signoffs]})
        return out

    # ------------------------------------------------------------------ the co-signers' to-do
    def duties(self, user) -> list[tuple[str, str, str]]:
        """(stage, trigger, party) of each step the user signs off: parties named by one of the user's
        roles, and the user's unit when the user is co-signing staff — no role of theirs takes a step
        (staff who do see their stages' cases already and sign what they open), none oversees a unit
        (`scope: unit`) and none is the administrator."""
        engine = self.engine
        roles = engine.roles_of(user)
        stages = engine.definition.stages
        model_roles = self.core.model.roles
        admin = current_app.config.get("AUTH_ROLE_ADMIN") if has_app_context() else None
        signing_only = bool(roles) and not any(
            r == admin or (r in model_roles and model_roles[r].scope == "unit")
            or any(r in s.roles for s in stages.values() if not s.terminal) for r in roles)
        unit = unit_key(user)
        mine = {f"role:{r}" for r in roles} | ({f"unit:{unit}"} if unit and signing_only else set())
        out = []
        for key, stage in stages.items():
            if stage.terminal or key not in engine.wf.stages:
                continue
            for spec in engine.wf.transitions_from(key):
                out.extend((key, spec.trigger, party) for party in spec.signoffs if party in mine)
        return out

    def waiting_clause(self, user):
        """A condition on the workflow entity: the case is at a stage whose step needs a sign-off of
        the user's, not given in this round (None: the user signs nothing). Each test reads the case's
        own history rows through the application_id index."""
        duties = self.duties(user)
        if not duties:
            return None
        cls, h = self.engine.cls, self.history_cls
        state = getattr(cls, self.engine.definition.state_field)
        clauses = []
        for stage, trigger, party in duties:
            entered, signed = aliased(h), aliased(h)
            start = (select(func.max(entered.id)).where(
                entered.application_id == cls.id, entered.kind == "transition", entered.to_stage == stage,
                or_(entered.from_stage.is_(None), entered.from_stage != stage))
                .correlate(cls).scalar_subquery())
            done = exists().where(signed.application_id == cls.id, signed.kind == KIND, signed.trigger == trigger,
                                  signed.changes == json.dumps({KIND: [None, party]}, ensure_ascii=False),
                                  signed.id > func.coalesce(start, 0)).correlate(cls)
            clauses.append(and_(state == stage, ~done))
        return or_(*clauses)

    def waiting_steps(self, user) -> dict[str, list[str]]:
        """stage -> labels of the steps the user signs off there (what the to-do row names)."""
        out: dict[str, list[str]] = {}
        for stage, trigger, _party in self.duties(user):
            label = self.engine.label(self.engine.wf.transition(trigger, stage))
            if label not in out.setdefault(stage, []):
                out[stage].append(label)
        return out

    def label(self, party: str) -> str:
        from app.i18n import is_english

        return self.engine.wf.signoff_label(party, is_english())

    # ------------------------------------------------------------------ signing
    def sign(self, session, app_id: int, trigger: str, user, comment: str | None = None, at=None) -> Outcome:
        """Record `user`'s sign-off of `trigger` on the case, in one locked transaction."""
        comment = (comment or "").strip() or None
        try:
            outcome = self._sign(session, app_id, trigger, user, comment, at or now_utc())
            if outcome.ok:
                session.commit()
            else:
                session.rollback()
            return outcome
        except Exception:
            session.rollback()
            raise

    def _sign(self, session, app_id, trigger, user, comment, at) -> Outcome:
        engine = self.engine
        row = session.execute(select(engine.cls).where(engine.cls.id == app_id).options(lazyload("*"))
                              .with_for_update()).scalar_one_or_none()
        if row is None:
            return Outcome(404, _("Application not found."))
        stage = getattr(row, engine.definition.state_field)
        roles = engine.roles_of(user)
        signed = self.signatures(session, row, trigger) if trigger in engine.wf.triggers else {}
        decision = engine.wf.can_sign_off(trigger, stage=stage, suspended=row.suspended, roles=roles,
                                          unit=unit_key(user), signed=signed)
        if not decision.ok:
            return self._refusal(decision, stage)
        for party in decision.signoffs:
            engine.add_history(session, row, user, roles, KIND, trigger, stage, stage, comment,
                               {}, {KIND: party}, at)
        session.flush()
        names = "、".join(self.label(k) for k in decision.signoffs)
        message = _("Signed off for %(parties)s: %(step)s.", parties=names, step=engine.label(decision.transition))
        if decision.missing_signoffs:
            message += " " + _("Sign-offs still missing: %(list)s",
                               list="、".join(self.label(k) for k in decision.missing_signoffs))
        else:
            message += " " + _("Every sign-off is in; the step can be taken.")
        return Outcome(200, message, stage)

    def _refusal(self, decision, stage: str) -> Outcome:
        kind = decision.kind
        if kind == wm.NOT_A_SIGNER:
            parties = "、".join(self.label(k) for k in decision.transition.signoffs)
            return Outcome(403, _("Only %(parties)s sign this step off.", parties=parties), stage)
        if kind == wm.ALREADY_SIGNED:
            return Outcome(409, _("You have already signed this step off."), stage)
        if kind == wm.NO_SIGNOFFS:
            return Outcome(409, _("This step needs no sign-off."), stage)
        if kind == wm.SUSPENDED:
            return Outcome(409, _("The application is suspended; resume it first."), stage)
        if kind == wm.WRONG_STAGE:
            return Outcome(409, _("This step cannot be taken now: the application is at %(stage)s.",
                                  stage=self.engine.stage_label(stage)), stage)
        return Outcome(409, _("There is no step with this name."), stage)


def unit_key(user) -> str | None:
    """The key (code) of the user's unit, as the model's `units:` name it."""
    unit = getattr(user, "unit", None)
    return getattr(unit, "code", None) if unit is not None else None


def history_party(h) -> str | None:
    """The party a sign-off history row records (None for other rows)."""
    if h.kind != KIND or not h.changes:
        return None
    return (json.loads(h.changes).get(KIND) or [None, None])[1]
