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

from app.i18n import SHANGHAI
from app.model import conditions
from app.model.schema import AmountRange
from app.database.types import UTCDateTime, id_in, now_utc
from app.security.user import StaffUser

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
        return self._insert(session, [self._values(rule, trigger_key, row, at, evidence, user_id, unit_id,
                                                   amount)]) == 1

    def _values(self, rule, trigger_key, row, at, evidence, user_id, unit_id, amount=None) -> dict:
        fixed = None if isinstance(rule.amount, AmountRange) else Decimal(rule.amount)
        return dict(trigger_key=trigger_key, rule_id=rule.id, rule_label=rule.label_zh,
                    model_version=self.model.version, application_id=getattr(row, "id", None),
                    application_number=getattr(row, "number", None), target_user_id=user_id,
                    target_unit_id=unit_id, amount=amount if amount is not None else fixed,
                    amount_min=rule.amount.min if fixed is None else None,
                    amount_max=rule.amount.max if fixed is None else None, sanction=rule.sanction,
                    evidence=json.dumps(evidence, ensure_ascii=False, default=str), status="proposed",
                    proposed_at=at, month=_month(at))

    @staticmethod
    def _insert(session, rows: list[dict]) -> int:
        """One multi-row INSERT ... ON CONFLICT DO NOTHING; returns how many were new."""
        if not rows:
            return 0
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(FineEntry).on_conflict_do_nothing(index_elements=["trigger_key"]).returning(FineEntry.id)
        # ORM-executed INSERTs report rowcount -1 on psycopg: count the ids actually returned.
        return sum(len(session.execute(statement.values(**row)).all()) for row in rows)

    def _target(self, session, rule, row, first_actor: dict | None = None) -> tuple[int | None, int | None]:
        """Who is fined: a unit by code, the application's owner, or whoever of the rule's role
        first acted on it (its clerk). `first_actor` is a prefetched {(app id, role): user id}."""
        target = rule.target
        if target.unit:
            return None, self._unit_id(session, target.unit)
        definition = self.core.engine.definition
        if target.role == definition.owner_role and definition.owner_field:
            return getattr(row, f"{definition.owner_field}_id"), None
        actors = first_actor if first_actor is not None else self._first_actors(session, [row.id])
        return actors.get((row.id, target.role), row.created_by_fk), None

    def _unit_id(self, session, code: str) -> int | None:
        unit_cls = self.core.orm["unit"]
        return session.scalars(select(unit_cls.id).where(unit_cls.code == code)).first()

    def _first_actors(self, session, app_ids) -> dict[tuple[int, str], int]:
        history = self.core.orm["workflow_history"]
        result: dict[tuple[int, str], int] = {}
        query = (select(history.application_id, history.user_id, history.roles)
                 .where(id_in(history.application_id, app_ids, session.get_bind().dialect.name))
                 .order_by(history.id))
        for app_id, user_id, roles in session.execute(query):
            for role in (roles or "").split(","):
                result.setdefault((app_id, role), user_id)
        return result

    def on_breach(self, session, timer, row) -> None:
        self.on_breach_batch(session, [timer], {row.id: row})

    def on_breach_batch(self, session, timers, apps: dict) -> None:
        """Fines for breached timers: conditions judged where each deadline passed; one INSERT."""
        engine = self.core.engine
        by_timer: dict[str, list] = {}
        for rule in self.model.fines:
            if rule.trigger.timer:
                by_timer.setdefault(rule.trigger.timer, []).append(rule)
        timers = [t for t in timers if t.timer in by_timer]
        if not timers:
            return
        late = self._late_timers(session, {t.application_id for t in timers})
        actors = self._first_actors(session, {t.application_id for t in timers})
        units = {code: self._unit_id(session, code) for code in {r.target.unit for r in self.model.fines if r.target.unit}}
        targets: dict[tuple, tuple] = {}
        records: dict[int, dict] = {}
        rows = []
        for timer in timers:
            row = apps[timer.application_id]
            if row.id not in records:
                records[row.id] = _record(engine, row)
            record = dict(records[row.id])
            record[engine.definition.state_field] = timer.stage_at_breach or record[engine.definition.state_field]
            functions = {"timer_overdue": lambda key, a=row.id: (a, key) in late,
                         "timer_status": lambda key, a=row.id: "overdue" if (a, key) in late else "running",
                         "documents_complete": lambda r=row: engine.documents_complete(session, r),
                         "has_role": lambda role: False}
            for rule in by_timer[timer.timer]:
                cond = self._when.get(rule.id)
                if cond is not None and not conditions.evaluate(cond, record, {}, functions):
                    continue
                key = (rule.target.role, rule.target.unit, row.id)
                if rule.target.unit:
                    targets[key] = (None, units[rule.target.unit])
                elif key not in targets:
                    targets[key] = self._target(session, rule, row, actors)
                at = timer.breached_at or now_utc()
                rows.append(self._values(rule, f"timer:{timer.id}:{rule.id}", row, at,
                                         {"timer": timer.timer, "due_at": timer.due_at, "breached_at": at,
                                          "stage": timer.stage_at_breach}, *targets[key]))
        if rows:  # executemany: psycopg pipelines it; one huge VALUES list costs more to parse
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(FineEntry).on_conflict_do_nothing(index_elements=["trigger_key"]), rows)

    def _late_timers(self, session, app_ids: set[int]) -> set[tuple[int, str]]:
        cls = self.core.orm["sla_timer"]
        query = select(cls.application_id, cls.timer).where(
            id_in(cls.application_id, app_ids, session.get_bind().dialect.name),
            (cls.breach_recorded.is_(True)) | cls.status.in_(("overdue", "met_late")))
        return {(a, t) for a, t in session.execute(query)}

    def on_breached(self, _core, *, session, timers, apps: dict) -> None:
        """Receiver of events.deadlines_breached."""
        self.on_breach_batch(session, timers, apps)

    def on_step(self, _core, *, session, row, trigger, source, dest, at) -> None:
        """Receiver of events.step_taken: a fault suspension proposes the fines its reason names."""
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
            self.add_history(session, fine, auditor, action, reason)
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
        if self._insert(session, [values]) != 1:
            raise FineError(_("This fine was already corrected."))
        entry = session.scalars(select(FineEntry).where(FineEntry.trigger_key == f"reversal:{fine.id}")).one()
        self.add_history(session, entry, auditor, "reverse", reason)
        session.commit()
        return entry

    def add_history(self, session, fine, auditor, action: str, reason: str | None) -> None:
        if fine.application_id is None:
            return
        engine = self.core.engine
        row = session.get(engine.cls, fine.application_id)
        stage = getattr(row, engine.definition.state_field)
        record = engine.record(row)
        text = f"{fine.rule_id} {fine.rule_label} #{fine.id} {action}" + (f"：{reason}" if reason else "")
        engine.add_history(session, row, auditor, engine.roles_of(auditor), "fine", action, stage, stage, text,
                        record, record)


def _record(engine, row) -> dict:
    """The condition record of a full ORM row or of the sweep's narrow row (absent fields: None)."""
    record = {name: getattr(row, f"{name}_id" if f.type == "reference" else name, None)
              for name, f in engine.entity.fields.items()}
    record.update(number=getattr(row, "number", None), suspended=getattr(row, "suspended", None))
    record[engine.definition.state_field] = getattr(row, engine.definition.state_field, None)
    return record
