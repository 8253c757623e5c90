"""Assessment (考核): fine rules from model.yaml turned into an exactly-once, auditable ledger.

Proposals come from three places: a breached deadline (the sweep, or a late step), a step that
settles a breach judged later (`judged_at`), and a fault suspension. Each has a trigger key that
the unique index makes count once: a breach, or a suspension reason per stage visit.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.assessment.decisions import AuditorActions
from app.assessment.entries import FineEntry, FineError, Incident, Sanction, month_of
from app.assessment.targets import FineTargets, TargetMemo
from app.database.types import id_in, now_utc
from app.model import conditions
from app.model.fine_stages import expand
from app.model.schema import AmountRange

log = logging.getLogger(__name__)
__all__ = ["FineEntry", "FineError", "Incident", "Ledger", "Sanction"]
PSEUDO_STEPS = ("suspend", "resume", "cancel")


class Ledger(AuditorActions):
    def __init__(self, core):
        self.core = core
        self.model = core.model
        self.rules = {rule.id: rule for rule in core.model.fines}
        self.targets = FineTargets(core)
        self._when = {r.id: conditions.parse(r.trigger.when) for r in core.model.fines if r.trigger.when}
        wf = core.model.workflow
        self._stages = {r.id: expand(r.trigger.at_stage if r.trigger.timer else r.trigger.suspension_stage, wf)
                        for r in core.model.fines}
        # Exclusion works both ways: A7 excludes A6, so A6 is not proposed beside an A7 either.
        self._excluded = {r.id: set(r.excludes) | {o.id for o in core.model.fines if r.id in o.excludes}
                          for r in core.model.fines}
        self._judged = [r for r in core.model.fines if r.trigger.timer and r.trigger.judged_at is not None]

    # ------------------------------------------------------------------ writing proposals
    def _propose(self, session, rule, trigger_key: str, row, at: dt.datetime, evidence: dict,
                 user_id: int | None = None, unit_id: int | None = None, amount: Decimal | None = None,
                 stage: str | None = None) -> bool:
        """Insert once: a second proposal for the same trigger is ignored by the unique key."""
        if user_id is None and unit_id is None:
            targets = self.targets.resolve(session, rule, row, stage, TargetMemo([row.id]))
        else:
            targets = [(user_id, unit_id)]
        return self._insert(session, [self._values(rule, key, row, at, evidence, *target, amount)
                                      for key, target in self._keyed(session, trigger_key, targets)]) > 0

    def _keyed(self, session, trigger_key: str, targets: list) -> list[tuple[str, tuple]]:
        """One trigger, one fine; when a trigger fines several units (each that has not signed), one each."""
        if len(targets) <= 1:
            return [(trigger_key, t) for t in targets]
        return [(f"{trigger_key}:{self.targets.unit_code(session, unit) or user}", (user, unit))
                for user, unit in targets]

    def _values(self, rule, trigger_key, row, at, evidence, user_id, unit_id, amount=None) -> dict:
        fixed = None if isinstance(rule.amount, AmountRange) else Decimal(rule.amount)
        return dict(trigger_key=trigger_key, rule_id=rule.id, rule_label=rule.label_zh,
                    model_version=self.model.version, application_id=getattr(row, "id", None),
                    application_number=getattr(row, "number", None), target_user_id=user_id,
                    target_unit_id=unit_id, amount=amount if amount is not None else fixed,
                    amount_min=rule.amount.min if fixed is None else None,
                    amount_max=rule.amount.max if fixed is None else None, sanction=rule.sanction,
                    evidence=json.dumps(evidence, ensure_ascii=False, default=str), status="proposed",
                    proposed_at=at, month=month_of(at))

    @staticmethod
    def _insert(session, rows: list[dict]) -> int:
        """One INSERT ... ON CONFLICT DO NOTHING per row; returns how many were new."""
        if not rows:
            return 0
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(FineEntry).on_conflict_do_nothing(index_elements=["trigger_key"]).returning(FineEntry.id)
        # ORM-executed INSERTs report rowcount -1 on psycopg: count the ids actually returned.
        return sum(len(session.execute(statement.values(**row)).all()) for row in rows)

    def _existing_rules(self, session, app_ids) -> dict[int, set[str]]:
        """{application id: rule ids already proposed on it} for the rules some rule excludes."""
        wanted = set().union(*self._excluded.values()) if self._excluded else set()
        if not wanted or not app_ids:
            return {}
        result: dict[int, set[str]] = {}
        query = select(FineEntry.application_id, FineEntry.rule_id).where(
            id_in(FineEntry.application_id, set(app_ids), session.get_bind().dialect.name),
            FineEntry.rule_id.in_(sorted(wanted)), FineEntry.reverses_id.is_(None))
        for app_id, rule_id in session.execute(query):
            result.setdefault(app_id, set()).add(rule_id)
        return result

    def _applies(self, rule, stage: str | None, record: dict, functions: dict, existing: set[str]) -> bool:
        """The rule's stage set, its condition and its exclusions, judged for one application."""
        stages = self._stages[rule.id]
        if stages is not None and stage not in stages:
            return False
        cond = self._when.get(rule.id)
        if cond is not None and not conditions.evaluate(cond, record, {}, functions):
            return False
        return not (self._excluded[rule.id] & existing)

    def _functions(self, session, row, late: set[tuple[int, str]]) -> dict:
        engine = self.core.engine
        return {"timer_overdue": lambda key, a=row.id: (a, key) in late,
                "timer_status": lambda key, a=row.id: "overdue" if (a, key) in late else "running",
                "documents_complete": lambda r=row: engine.documents_complete(session, r),
                "has_role": lambda role: False}

    # ------------------------------------------------------------------ breaches
    def on_breach(self, session, timer, row) -> None:
        self.on_breach_batch(session, [timer], {row.id: row})

    def on_breached(self, _core, *, session, timers, apps: dict) -> None:
        """Receiver of events.deadlines_breached."""
        self.on_breach_batch(session, timers, apps)

    def on_breach_batch(self, session, timers, apps: dict) -> None:
        """Fines for breached timers, judged where each deadline passed; one executemany INSERT.
        Rules with `judged_at` wait for their step (on_step)."""
        engine = self.core.engine
        by_timer: dict[str, list] = {}
        for rule in self.model.fines:
            if rule.trigger.timer and rule.trigger.judged_at is None:
                by_timer.setdefault(rule.trigger.timer, []).append(rule)
        timers = [t for t in timers if t.timer in by_timer]
        if not timers:
            return
        app_ids = {t.application_id for t in timers}
        late = self._late_timers(session, app_ids)
        existing = self._existing_rules(session, app_ids)
        memo = TargetMemo(app_ids)
        records: dict[int, dict] = {}
        rows = []
        for timer in timers:
            row = apps[timer.application_id]
            if row.id not in records:
                records[row.id] = _record(engine, row)
            stage = timer.stage_at_breach or records[row.id][engine.definition.state_field]
            record = dict(records[row.id], **{engine.definition.state_field: stage})
            functions = self._functions(session, row, late)
            for rule in by_timer[timer.timer]:
                done = existing.setdefault(row.id, set())
                if not self._applies(rule, stage, record, functions, done):
                    continue
                targets = self.targets.resolve(session, rule, row, stage, memo)
                at = timer.breached_at or now_utc()
                for key, target in self._keyed(session, f"timer:{timer.id}:{rule.id}", targets):
                    rows.append(self._values(rule, key, row, at, {"timer": timer.timer, "due_at": timer.due_at,
                                                                  "breached_at": at, "stage": stage}, *target))
                    done.add(rule.id)
        if rows:  # executemany: psycopg pipelines it; one huge VALUES list costs more to parse
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(FineEntry).on_conflict_do_nothing(index_elements=["trigger_key"]), rows)

    def _late_timers(self, session, app_ids: set[int]) -> set[tuple[int, str]]:
        cls = self.core.orm["sla_timer"]
        query = select(cls.application_id, cls.timer).where(
            id_in(cls.application_id, app_ids, session.get_bind().dialect.name),
            (cls.breach_recorded.is_(True)) | cls.status.in_(("overdue", "met_late")))
        return {(a, t) for a, t in session.execute(query)}

    # ------------------------------------------------------------------ steps
    def on_step(self, _core, *, session, row, trigger, source, dest, at) -> None:
        """Receiver of events.step_taken (after the deadlines): a fault suspension proposes the fines
        its reason names; a step that settles a breach judged later (`judged_at`) judges it now."""
        if trigger == "suspend":
            self._on_suspension(session, row, at)
        if trigger in PSEUDO_STEPS:
            return  # cancelling is no outcome: a breach judged at a step is not judged by a cancellation
        judged = [r for r in self._judged if _matches(r.trigger.judged_at, trigger, source, dest)]
        if judged:
            self._judge(session, row, judged, at)

    def _on_suspension(self, session, row, at) -> None:
        sus_cls = self.core.orm["suspension"]
        session.flush()  # the suspension row of this step
        suspension = session.scalars(select(sus_cls).where(sus_cls.application_id == row.id)
                                     .order_by(sus_cls.id.desc())).first()
        rules = [r for r in self.model.fines if r.trigger.suspension_reason == suspension.reason]
        if not rules:
            return
        visit = self._stage_visit(session, row, suspension.stage)
        engine = self.core.engine
        record = dict(engine.record(row), **{engine.definition.state_field: suspension.stage})
        functions = self._functions(session, row, self._late_timers(session, {row.id}))
        existing = self._existing_rules(session, [row.id]).get(row.id, set())
        for rule in rules:
            if not self._applies(rule, suspension.stage, record, functions, existing):
                continue
            given = (suspension.responsible_user_id, suspension.responsible_unit_id) if rule.target.responsible \
                else (None, None)
            # Once per stage visit: suspending and resuming again for the same fault is one fine.
            if self._propose(session, rule, f"suspension:{row.id}:{visit}:{rule.id}", row, at,
                             {"suspension": suspension.id, "reason": suspension.reason, "stage": suspension.stage,
                              "note": suspension.note}, *given, stage=suspension.stage):
                existing.add(rule.id)

    def _stage_visit(self, session, row, stage: str) -> int:
        """The history row that brought the application into `stage` this time (0: it started there)."""
        history = self.core.orm["workflow_history"]
        return session.scalar(select(func.max(history.id)).where(
            history.application_id == row.id, history.kind == "transition", history.to_stage == stage,
            history.from_stage != history.to_stage)) or 0

    def _judge(self, session, row, rules, at) -> None:
        """Breaches of the rules' timers on `row`, judged now that their outcome is known."""
        session.flush()  # the deadlines' changes of this step (a timer it stopped late)
        cls = self.core.orm["sla_timer"]
        breaches = list(session.scalars(select(cls).where(
            cls.application_id == row.id, cls.timer.in_({r.trigger.timer for r in rules}),
            cls.breach_recorded.is_(True)).order_by(cls.id)))
        if not breaches:
            return
        engine = self.core.engine
        functions = self._functions(session, row, self._late_timers(session, {row.id}))
        existing = self._existing_rules(session, [row.id]).get(row.id, set())
        memo = TargetMemo([row.id])
        for timer in breaches:
            record = dict(engine.record(row))
            for rule in (r for r in rules if r.trigger.timer == timer.timer):
                stage = timer.stage_at_breach
                # The stage set is where the deadline passed; the condition reads the application now.
                if not self._applies(rule, stage, record, functions, existing):
                    continue
                evidence = {"timer": timer.timer, "due_at": timer.due_at, "breached_at": timer.breached_at,
                            "stage": stage, "judged_at": at}
                targets = self.targets.resolve(session, rule, row, stage, memo)
                if self._insert(session, [self._values(rule, key, row, at, evidence, *target)
                                          for key, target in self._keyed(session, f"timer:{timer.id}:{rule.id}",
                                                                         targets)]):
                    existing.add(rule.id)


def _matches(event, trigger: str, source: str | None, dest: str | None) -> bool:
    """Whether a step is the event (a transition, or entering/leaving a stage) a rule waits for."""
    moved = source != dest
    return bool((event.transition and event.transition == trigger)
                or (event.leave and moved and event.leave == source)
                or (event.enter and moved and event.enter == dest))


def _record(engine, row) -> dict:
    """The condition record of a full ORM row or of the sweep's narrow row (absent fields: None)."""
    record = {name: getattr(row, f"{name}_id" if f.type == "reference" else name, None)
              for name, f in engine.entity.fields.items()}
    record.update(number=getattr(row, "number", None), suspended=getattr(row, "suspended", None))
    record[engine.definition.state_field] = getattr(row, engine.definition.state_field, None)
    return record
