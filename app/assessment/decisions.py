"""What auditors do with the ledger: record incidents, confirm or waive proposals, correct confirmed fines.

Nobody decides a fine on themselves or records an incident against themselves; an incident rule that
names a role fines only a person holding it. Every refusal is a FineError with a Chinese message and
leaves the ledger as it was.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.assessment.entries import FineEntry, FineError, Incident, Sanction, month_of
from app.database.types import now_utc
from app.i18n import SHANGHAI
from app.model.schema import AmountRange
from app.security.user import StaffUser


class AuditorActions:
    """Mixed into the Ledger: needs `core`, `model`, `rules` and `_propose`."""

    def record_incident(self, session, auditor, category: str, user_id, description: str,
                        application_number: str | None = None, amount: str | None = None,
                        at: dt.datetime | None = None) -> FineEntry:
        """An auditor's incident entry: validated fully before anything is written. `at` backdates it
        (paper records entered late), as steps can be; default now."""
        rules = [r for r in self.model.fines if r.trigger.incident == category]
        if not rules:
            raise FineError(_("Unknown incident category."))
        rule = rules[0]
        try:
            person = session.scalars(select(StaffUser).where(StaffUser.id == int(user_id))
                                     .options(selectinload(StaffUser.roles))).first()
        except (TypeError, ValueError):
            person = None
        if person is None:
            raise FineError(_("No such person: choose a staff member from the list."))
        if person.id == getattr(auditor, "id", None):
            raise FineError(_("Nobody records an incident against themselves: ask another auditor to record it."))
        role = rule.target.role
        if role and role not in {r.name for r in person.roles}:
            raise FineError(_("Rule %(rule)s fines a %(role)s only; %(name)s does not hold this role. "
                              "Nothing was recorded.", rule=rule.id, role=self.core.engine.label(self.model.roles[role]),
                              name=str(person)))
        if not (description or "").strip():
            raise FineError(_("Describe what happened."))
        self._bounded(description)
        row = None
        if application_number:
            cls = self.core.engine.cls
            row = session.scalars(select(cls).where(cls.number == application_number.strip())).first()
            if row is None:
                raise FineError(_("No application with this number."))
        value = self._amount(rule, amount)
        incident = Incident(category=category, application_id=row.id if row else None, user_id=person.id,
                            description=description.strip(), recorded_by_id=auditor.id, recorded_at=at or now_utc())
        session.add(incident)
        session.flush()
        self._propose(session, rule, f"incident:{incident.id}:{rule.id}", row, incident.recorded_at,
                      {"incident": incident.id, "description": incident.description}, person.id, None, value)
        session.commit()
        return session.scalars(select(FineEntry).where(FineEntry.trigger_key == f"incident:{incident.id}:{rule.id}")).one()

    @classmethod
    def _amount(cls, rule, text: str | None) -> Decimal | None:
        """The auditor's amount for a range rule (None for fixed amounts)."""
        if not isinstance(rule.amount, AmountRange):
            return None
        return cls._amount_in(rule.amount.min, rule.amount.max, text)

    @staticmethod
    def _amount_in(low: Decimal, high: Decimal | None, text: str | None) -> Decimal:
        try:
            value = Decimal(str(text).strip())
        except (InvalidOperation, AttributeError):
            raise FineError(_("Give the amount in yuan.")) from None
        if not value.is_finite() or value.as_tuple().exponent < -2 or abs(value) >= Decimal("1e10"):
            raise FineError(_("Give the amount in yuan."))
        if high is None and value < low:
            raise FineError(_("The amount must be at least %(min)s yuan.", min=low))
        if high is not None and not low <= value <= high:
            raise FineError(_("The amount must be between %(min)s and %(max)s yuan.", min=low, max=high))
        return value

    @staticmethod
    def _not_own(fines, auditor) -> None:
        own = [f for f in fines if f.target_user_id is not None and f.target_user_id == getattr(auditor, "id", None)]
        if own:
            raise FineError(_("Nobody decides a fine on themselves: %(ids)s. Ask another auditor; nothing was changed.",
                              ids="、".join(f"#{f.id}" for f in own)))

    def _bounded(self, text: str) -> str:
        """Reasons and descriptions are as long as a step comment may be (model: comment_max_length)."""
        limit = self.model.workflow.comment_max_length
        if len(text) > limit:
            raise FineError(_("At most %(n)d characters.", n=limit))
        return text

    def decide(self, session, fine_ids: list[int], auditor, action: str, reason: str | None = None,
               amount: str | None = None, at: dt.datetime | None = None) -> int:
        """Confirm or waive proposals; all of them or none (each must still be proposed)."""
        reason = self._bounded((reason or "").strip())
        if action == "waive" and not reason:
            raise FineError(_("A waiver needs a reason."))
        if action not in ("confirm", "waive"):
            raise FineError(_("Unknown decision."))
        fines = list(session.scalars(select(FineEntry).where(FineEntry.id.in_(fine_ids)).with_for_update()))
        if len(fines) != len(set(fine_ids)) or not fines:
            raise FineError(_("Some of the selected fines do not exist."))
        self._not_own(fines, auditor)
        decided = [f for f in fines if f.status != "proposed"]
        if decided:
            raise FineError(_("Already decided: %(ids)s. Nothing was changed.",
                              ids="、".join(f"#{f.id}" for f in decided)))
        amounts = {}
        for fine in fines:
            amounts[fine.id] = fine.amount
            if action == "confirm" and fine.amount is None:
                if len(fines) > 1:
                    raise FineError(_("Fine #%(id)s needs an amount set by the auditor: confirm it alone.", id=fine.id))
                # The range copied when it was proposed: a later model edit does not change it.
                amounts[fine.id] = self._amount_in(fine.amount_min or Decimal(0), fine.amount_max, amount)
        now = at or now_utc()
        for fine in fines:
            # Conditional update: a concurrent decision on the same fine changes nothing.
            done = session.execute(update(FineEntry).where(FineEntry.id == fine.id, FineEntry.status == "proposed")
                                   .values(status="confirmed" if action == "confirm" else "waived",
                                           decided_by_id=auditor.id, decided_at=now, decision_reason=reason or None,
                                           amount=amounts[fine.id]).execution_options(synchronize_session=False))
            if done.rowcount != 1:
                session.rollback()
                raise FineError(_("Already decided: %(ids)s. Nothing was changed.", ids="#" + str(fine.id)))
            if action == "confirm" and fine.sanction and fine.target_user_id:
                session.add(Sanction(user_id=fine.target_user_id, kind=fine.sanction, fine_id=fine.id,
                                     since=now.astimezone(SHANGHAI).date()))
            self.add_history(session, fine, auditor, action, reason, now)
        session.commit()
        return len(fines)

    def reverse(self, session, fine_id: int, auditor, reason: str, at: dt.datetime | None = None) -> FineEntry:
        """Correct a confirmed fine with a reversing entry booked in the month of the correction (`at`,
        default now); the original stays as it was, in its month's summary; the sanction it caused ends."""
        reason = self._bounded((reason or "").strip())
        if not reason:
            raise FineError(_("A correction needs a reason."))
        fine = session.get(FineEntry, fine_id)
        if fine is None or fine.status != "confirmed" or fine.reverses_id is not None:
            raise FineError(_("Only a confirmed fine can be corrected."))
        self._not_own([fine], auditor)
        now = at or now_utc()
        values = dict(trigger_key=f"reversal:{fine.id}", rule_id=fine.rule_id, rule_label=fine.rule_label,
                      model_version=fine.model_version, application_id=fine.application_id,
                      application_number=fine.application_number, target_user_id=fine.target_user_id,
                      target_unit_id=fine.target_unit_id, amount=-(fine.amount or 0), evidence=json.dumps(
                          {"reverses": fine.id, "original_month": fine.month, "reason": reason}, ensure_ascii=False),
                      status="confirmed", proposed_at=now, month=month_of(now), decided_by_id=auditor.id,
                      decided_at=now, decision_reason=reason, reverses_id=fine.id)
        if self._insert(session, [values]) != 1:
            raise FineError(_("This fine was already corrected."))
        entry = session.scalars(select(FineEntry).where(FineEntry.trigger_key == f"reversal:{fine.id}")).one()
        for sanction in session.scalars(select(Sanction).where(Sanction.fine_id == fine.id, Sanction.active.is_(True))):
            sanction.active, sanction.ended_on, sanction.ended_by_id = False, now.astimezone(SHANGHAI).date(), entry.id
        self.add_history(session, entry, auditor, "reverse", reason, now)
        session.commit()
        return entry

    def add_history(self, session, fine, auditor, action: str, reason: str | None, at: dt.datetime | None = None) -> None:
        if fine.application_id is None:
            return
        engine = self.core.engine
        row = session.get(engine.cls, fine.application_id)
        stage = getattr(row, engine.definition.state_field)
        record = engine.record(row)
        # The row's step names the decision (engine.step_label); the comment, the fine and the reason.
        text = f"{fine.rule_id} {fine.rule_label} #{fine.id}" + (f"：{reason}" if reason else "")
        engine.add_history(session, row, auditor, engine.roles_of(auditor), "fine", action, stage, stage, text,
                           record, record, at)
