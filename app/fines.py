"""Assessment (考核): fine rules from model.yaml turned into an exactly-once, auditable ledger."""
from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal, InvalidOperation

from flask_appbuilder import Model
from flask_babel import gettext as _
from sqlalchemy import (Boolean, Column, Date, ForeignKey, Index, Integer, Numeric, String, Text, select,
                        update)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .i18n import SHANGHAI
from .model import conditions
from .model.schema import AmountRange
from .orm.generate import UTCDateTime, now_utc
from .orm.user import StaffUser

log = logging.getLogger(__name__)


class FineEntry(Model):
    """One fine. Amount and rule text are copied when proposed: later model edits do not change it."""

    __tablename__ = "fine_entry"
    __table_args__ = (Index("ix_fine_unit_month", "target_unit_id", "month"),
                      Index("ix_fine_user_month", "target_user_id", "month"),
                      Index("ix_fine_status", "status"))
    id = Column(Integer, primary_key=True)
    trigger_key = Column(String(80), nullable=False, unique=True)  # one trigger, one fine
    rule_id = Column(String(10), nullable=False)
    rule_label = Column(String(100), nullable=False)
    model_version = Column(String(40), nullable=False)
    application_id = Column(Integer, nullable=True, index=True)
    application_number = Column(String(20), nullable=True)
    target_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    target_unit_id = Column(Integer, ForeignKey("unit.id"), nullable=True)
    amount = Column(Numeric(12, 2), nullable=True)  # None: to be set by the auditor (range rules)
    amount_min = Column(Numeric(12, 2), nullable=True)
    amount_max = Column(Numeric(12, 2), nullable=True)
    sanction = Column(String(30), nullable=True)
    evidence = Column(Text, nullable=False, default="{}")
    status = Column(String(12), nullable=False, default="proposed")
    proposed_at = Column(UTCDateTime(), nullable=False, default=now_utc)
    month = Column(String(7), nullable=False)  # YYYY-MM (Asia/Shanghai) of the triggering event
    decided_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    decided_at = Column(UTCDateTime(), nullable=True)
    decision_reason = Column(Text, nullable=True)
    reverses_id = Column(Integer, ForeignKey("fine_entry.id"), nullable=True)


class Incident(Model):
    """A manual incident an auditor records (complaints etc.); it proposes its rule's fine."""

    __tablename__ = "incident"
    id = Column(Integer, primary_key=True)
    category = Column(String(40), nullable=False)
    application_id = Column(Integer, nullable=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    description = Column(Text, nullable=False)
    recorded_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    recorded_at = Column(UTCDateTime(), nullable=False, default=now_utc)


class Sanction(Model):
    """Non-monetary sanctions: 待岗学习 until an exam is passed, 调离岗位 removed from post."""

    __tablename__ = "sanction"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    kind = Column(String(30), nullable=False)
    fine_id = Column(Integer, ForeignKey("fine_entry.id"), nullable=False, unique=True)
    since = Column(Date, nullable=False)
    exam_passed_on = Column(Date, nullable=True)
    active = Column(Boolean, nullable=False, default=True)


class FineError(ValueError):
    """A refused decision; the message is translated and says what to do."""


def _month(at: dt.datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m")


class Ledger:
    def __init__(self, core):
        self.core = core
        self.model = core.model
        self.rules = {rule.id: rule for rule in core.model.fines}
        self._when = {r.id: conditions.parse(r.trigger.when) for r in core.model.fines if r.trigger.when}

    # ------------------------------------------------------------------ proposing
    def _propose(self, session, rule, trigger_key: str, row, at: dt.datetime, evidence: dict,
                 user_id: int | None = None, unit_id: int | None = None, amount: Decimal | None = None) -> bool:
        """Insert once: a second proposal for the same trigger is ignored by the unique key."""
        if user_id is None and unit_id is None:
            user_id, unit_id = self._target(session, rule, row)
        fixed = None if isinstance(rule.amount, AmountRange) else Decimal(rule.amount)
        values = dict(trigger_key=trigger_key, rule_id=rule.id, rule_label=rule.label_zh,
                      model_version=self.model.version, application_id=getattr(row, "id", None),
                      application_number=getattr(row, "number", None), target_user_id=user_id,
                      target_unit_id=unit_id, amount=amount if amount is not None else fixed,
                      amount_min=rule.amount.min if fixed is None else None,
                      amount_max=rule.amount.max if fixed is None else None, sanction=rule.sanction,
                      evidence=json.dumps(evidence, ensure_ascii=False, default=str), status="proposed",
                      proposed_at=at, month=_month(at))
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        result = session.execute(insert(FineEntry).values(**values).on_conflict_do_nothing(
            index_elements=["trigger_key"]))
        return result.rowcount == 1

    def _target(self, session, rule, row) -> tuple[int | None, int | None]:
        target = rule.target
        if target.unit:
            unit = session.scalars(select(self.core.orm["unit"]).where(self.core.orm["unit"].code == target.unit)).first()
            return None, unit.id if unit else None
        definition = self.core.engine.definition
        if target.role == definition.owner_role and definition.owner_field:
            return getattr(row, f"{definition.owner_field}_id"), None
        # Another role on the application: whoever of that role first acted on it.
        history = self.core.orm["workflow_history"]
        first = session.scalars(select(history).where(history.application_id == row.id,
                                                      history.roles.contains(target.role))
                                .order_by(history.id)).first()
        return (first.user_id if first else row.created_by_fk), None

    def on_breach(self, session, timer, row) -> None:
        engine = self.core.engine
        record = engine.record(row)
        record[engine.definition.state_field] = timer.stage_at_breach or record[engine.definition.state_field]
        functions = engine.functions(session, row, set())
        for rule in self.model.fines:
            if rule.trigger.timer != timer.timer:
                continue
            cond = self._when.get(rule.id)
            if cond is not None and not conditions.evaluate(cond, record, {}, functions):
                continue
            self._propose(session, rule, f"timer:{timer.id}:{rule.id}", row, timer.breached_at or now_utc(),
                          {"timer": timer.timer, "due_at": timer.due_at, "breached_at": timer.breached_at,
                           "stage": timer.stage_at_breach})

    def on_step(self, session, row, *, trigger, source, dest, at) -> None:
        if trigger != "suspend":
            return
        sus_cls = self.core.orm["suspension"]
        session.flush()  # the suspension row of this step
        suspension = session.scalars(select(sus_cls).where(sus_cls.application_id == row.id)
                                     .order_by(sus_cls.id.desc())).first()
        for rule in self.model.fines:
            trig = rule.trigger
            stages = [trig.suspension_stage] if isinstance(trig.suspension_stage, str) else trig.suspension_stage
            if trig.suspension_reason != suspension.reason or (stages and suspension.stage not in stages):
                continue
            person = (suspension.responsible_user_id, suspension.responsible_unit_id) if rule.target.responsible \
                else (None, None)
            self._propose(session, rule, f"suspension:{suspension.id}:{rule.id}", row, at,
                          {"suspension": suspension.id, "reason": suspension.reason, "stage": suspension.stage,
                           "note": suspension.note}, *person)

    def record_incident(self, session, auditor, category: str, user_id, description: str,
                        application_number: str | None = None, amount: str | None = None) -> FineEntry:
        """An auditor's incident entry: validated fully before anything is written."""
        rules = [r for r in self.model.fines if r.trigger.incident == category]
        if not rules:
            raise FineError(_("Unknown incident category."))
        try:
            person = session.get(StaffUser, int(user_id))
        except (TypeError, ValueError):
            person = None
        if person is None:
            raise FineError(_("No such person: choose a staff member from the list."))
        if not (description or "").strip():
            raise FineError(_("Describe what happened."))
        row = None
        if application_number:
            cls = self.core.engine.cls
            row = session.scalars(select(cls).where(cls.number == application_number.strip())).first()
            if row is None:
                raise FineError(_("No application with this number."))
        rule = rules[0]
        value = self._amount(rule, amount)
        incident = Incident(category=category, application_id=row.id if row else None, user_id=person.id,
                            description=description.strip(), recorded_by_id=auditor.id)
        session.add(incident)
        session.flush()
        self._propose(session, rule, f"incident:{incident.id}:{rule.id}", row, incident.recorded_at,
                      {"incident": incident.id, "description": incident.description}, person.id, None, value)
        session.commit()
        return session.scalars(select(FineEntry).where(FineEntry.trigger_key == f"incident:{incident.id}:{rule.id}")).one()

    @staticmethod
    def _amount(rule, text: str | None) -> Decimal | None:
        if not isinstance(rule.amount, AmountRange):
            return None
        try:
            value = Decimal(str(text).strip())
        except (InvalidOperation, AttributeError):
            raise FineError(_("Give the amount in yuan.")) from None
        if not rule.amount.min <= value <= rule.amount.max:
            raise FineError(_("The amount must be between %(min)s and %(max)s yuan.",
                              min=rule.amount.min, max=rule.amount.max))
        return value

    # ------------------------------------------------------------------ deciding
    def decide(self, session, fine_ids: list[int], auditor, action: str, reason: str | None = None,
               amount: str | None = None) -> int:
        """Confirm or waive proposals; all of them or none (each must still be proposed)."""
        reason = (reason or "").strip()
        if action == "waive" and not reason:
            raise FineError(_("A waiver needs a reason."))
        if action not in ("confirm", "waive"):
            raise FineError(_("Unknown decision."))
        fines = list(session.scalars(select(FineEntry).where(FineEntry.id.in_(fine_ids)).with_for_update()))
        if len(fines) != len(set(fine_ids)) or not fines:
            raise FineError(_("Some of the selected fines do not exist."))
        decided = [f for f in fines if f.status != "proposed"]
        if decided:
            raise FineError(_("Already decided: %(ids)s. Nothing was changed.",
                              ids="、".join(f"#{f.id}" for f in decided)))
        now = now_utc()
        for fine in fines:
            if action == "confirm" and fine.amount is None:
                if len(fines) > 1:
                    raise FineError(_("Fine #%(id)s needs an amount set by the auditor: confirm it alone.", id=fine.id))
                fine.amount = self._amount(self.rules[fine.rule_id], amount) if fine.rule_id in self.rules \
                    else Decimal(str(amount))
            # Conditional update: a concurrent decision on the same fine changes nothing.
            done = session.execute(update(FineEntry).where(FineEntry.id == fine.id, FineEntry.status == "proposed")
                                   .values(status="confirmed" if action == "confirm" else "waived",
                                           decided_by_id=auditor.id, decided_at=now, decision_reason=reason or None,
                                           amount=fine.amount).execution_options(synchronize_session=False))
            if done.rowcount != 1:
                session.rollback()
                raise FineError(_("Already decided: %(ids)s. Nothing was changed.", ids=f"#{fine.id}"))
            if action == "confirm" and fine.sanction and fine.target_user_id:
                session.add(Sanction(user_id=fine.target_user_id, kind=fine.sanction, fine_id=fine.id,
                                     since=now.astimezone(SHANGHAI).date()))
            self._history(session, fine, auditor, action, reason)
        session.commit()
        return len(fines)

    def reverse(self, session, fine_id: int, auditor, reason: str) -> FineEntry:
        """Correct a confirmed fine with a reversing entry; the original stays as it was."""
        if not (reason or "").strip():
            raise FineError(_("A correction needs a reason."))
        fine = session.get(FineEntry, fine_id)
        if fine is None or fine.status != "confirmed" or fine.reverses_id is not None:
            raise FineError(_("Only a confirmed fine can be corrected."))
        values = dict(trigger_key=f"reversal:{fine.id}", rule_id=fine.rule_id, rule_label=fine.rule_label,
                      model_version=fine.model_version, application_id=fine.application_id,
                      application_number=fine.application_number, target_user_id=fine.target_user_id,
                      target_unit_id=fine.target_unit_id, amount=-(fine.amount or 0), evidence=json.dumps(
                          {"reverses": fine.id, "reason": reason.strip()}, ensure_ascii=False),
                      status="confirmed", month=fine.month, decided_by_id=auditor.id, decided_at=now_utc(),
                      decision_reason=reason.strip(), reverses_id=fine.id)
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        if session.execute(insert(FineEntry).values(**values).on_conflict_do_nothing(
                index_elements=["trigger_key"])).rowcount != 1:
            raise FineError(_("This fine was already corrected."))
        entry = session.scalars(select(FineEntry).where(FineEntry.trigger_key == f"reversal:{fine.id}")).one()
        self._history(session, entry, auditor, "reverse", reason)
        session.commit()
        return entry

    def _history(self, session, fine, auditor, action: str, reason: str | None) -> None:
        if fine.application_id is None:
            return
        engine = self.core.engine
        row = session.get(engine.cls, fine.application_id)
        stage = getattr(row, engine.definition.state_field)
        record = engine.record(row)
        text = f"{fine.rule_id} {fine.rule_label} #{fine.id} {action}" + (f"：{reason}" if reason else "")
        engine._history(session, row, auditor, engine.roles_of(auditor), "fine", action, stage, stage, text,
                        record, record)


def init_fines(app, core, appbuilder) -> None:
    if core.engine is None or not core.model.fines:
        return
    ledger = core.ledger = Ledger(core)
    core.engine.timer_hooks.append(ledger.on_step)
    if getattr(core, "sla", None) is not None:
        core.sla.breach_hooks.append(ledger.on_breach)
    from .views.fines import init_views

    init_views(app, core, appbuilder)
