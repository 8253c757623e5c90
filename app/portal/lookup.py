"""办事公开: one application found by its number and the last 4 digits of its contact phone,
reduced to the few facts a customer may see (never an ID number, a full phone, an address,
a staff comment or a fine).

Both ways of failing (no such number, wrong digits) do the same work: one query and one
constant-time comparison against a value that can never match, so they cannot be told apart.
"""
from __future__ import annotations

import datetime as dt
import hmac
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app import i18n

NO_MATCH = "----"  # compared when there is nothing to compare against: never 4 digits
MAX_NUMBER = 40
TAIL = re.compile(r"\d{4}")


@dataclass(frozen=True)
class Milestone:
    """A stage as the customer sees it, with the day it was reached."""

    label: str
    on: dt.date
    current: bool = False


@dataclass(frozen=True)
class Progress:
    """Everything the public page shows; nothing else leaves this module."""

    number: str
    facts: list[tuple[str, str]]  # (label, value) of the model's public fields, e.g. 业务类型 / 新装
    stage: str
    finished: bool
    suspended: bool
    milestones: list[Milestone]
    due: dt.date | None
    action: str | None
    contact_who: str
    contact_phone: str


def normalise_number(text: str) -> str:
    return re.sub(r"\s+", "", text or "").upper()[:MAX_NUMBER]


def last_digits(phone: str | None, count: int = 4) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-count:] if len(digits) >= count else NO_MATCH


def _local_date(value: dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite returns naive values; everything is stored in UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(i18n.SHANGHAI).date()


class ProgressLookup:
    """The public lookup of one model's workflow (needs `workflow.public_lookup` in the model)."""

    def __init__(self, core):
        self.core = core
        self.wf = core.model.workflow
        self.spec = self.wf.public_lookup
        self.entity = core.model.entities[self.wf.entity]

    # ------------------------------------------------------------------ finding
    def _phone_query(self, number: str):
        cls = self.core.orm[self.wf.entity]
        first, _, second = self.spec.phone_field.partition(".")
        if not second:
            return select(cls.id, getattr(cls, first)).where(cls.number == number)
        target = self.core.orm[self.entity.fields[first].to]
        return (select(cls.id, getattr(target, second)).select_from(cls)
                .outerjoin(target, getattr(cls, f"{first}_id") == target.id).where(cls.number == number))

    def find(self, session, number: str, tail: str) -> Progress | None:
        """The application's progress, or None when the number or the digits are wrong (alike)."""
        number = normalise_number(number)
        found = session.execute(self._phone_query(number)).first()
        expected = last_digits(found[1]) if found is not None else NO_MATCH
        tail = (tail or "").strip()
        matches = hmac.compare_digest(expected.encode(), tail.encode())
        if found is None or not matches or not TAIL.fullmatch(tail):
            return None
        return self._progress(session, session.get(self.core.orm[self.wf.entity], found[0]))

    # ------------------------------------------------------------------ what is shown
    def stage_words(self, key: str) -> str:
        stage = self.wf.stages.get(key)
        if stage is None:
            return key
        return str(i18n.text(stage.public_zh or stage.label_zh, stage.public_en or stage.label_en))

    def _progress(self, session, row) -> Progress:
        key = getattr(row, self.wf.state_field)
        stage = self.wf.stages.get(key)
        action = None
        if stage is not None and stage.customer_action_zh and not row.suspended:
            action = str(i18n.text(stage.customer_action_zh, stage.customer_action_en))
        who, phone = self._contact(session, row)
        return Progress(number=row.number, facts=self._facts(row), stage=self.stage_words(key),
                        finished=bool(stage and stage.terminal), suspended=bool(row.suspended),
                        milestones=self._milestones(session, row, key),
                        due=None if stage is not None and stage.terminal else self._due(session, row),
                        action=action, contact_who=who, contact_phone=phone)

    def _facts(self, row) -> list[tuple[str, str]]:
        facts = []
        for name in self.spec.fields:
            field = self.entity.fields[name]
            value = getattr(row, name)
            if value is None:
                shown = "—"
            elif field.type == "choice":
                choice = next((c for c in field.choices or [] if c.value == value), None)
                shown = str(i18n.label(choice)) if choice else str(value)
            elif field.type == "boolean":
                shown = _("Yes") if value else _("No")
            elif field.type in ("date", "datetime"):
                shown = i18n.fmt_date(value)
            else:
                shown = str(value)
            facts.append((str(i18n.label(field)), shown))
        return facts

    def _milestones(self, session, row, current: str) -> list[Milestone]:
        """The stages reached, oldest first; consecutive stages with the same public words are one."""
        history = self.core.orm["workflow_history"]
        steps = session.execute(select(history.at, history.to_stage)
                                .where(history.application_id == row.id, history.to_stage.is_not(None),
                                       history.to_stage != history.from_stage)
                                .order_by(history.id)).all()
        initial = next(k for k, s in self.wf.stages.items() if s.initial)
        started = min([d for d in (row.created_on, steps[0].at if steps else None) if d is not None],
                      default=None, key=lambda d: _local_date(d))
        reached = [(initial, started)] + [(s.to_stage, s.at) for s in steps]
        milestones: list[Milestone] = []
        for key, at in reached:
            words = self.stage_words(key)
            if milestones and milestones[-1].label == words:
                continue
            milestones.append(Milestone(words, _local_date(at) or dt.date.today()))
        if milestones:
            milestones[-1] = Milestone(milestones[-1].label, milestones[-1].on, current=True)
        return milestones

    def _due(self, session, row) -> dt.date | None:
        """The earliest running deadline (the app's timers, when the model has any)."""
        sla = getattr(self.core, "sla", None)
        if sla is None or row.suspended:
            return None
        timer = sla.cls
        due = session.execute(select(timer.due_at).where(
            timer.application_id == row.id, timer.status.in_(("running", "overdue")), timer.due_at.is_not(None))
            .order_by(timer.due_at).limit(1)).scalar()
        return _local_date(due)

    def _contact(self, session, row) -> tuple[str, str]:
        """The customer manager's work phone, else their unit's, else the model's contact unit's."""
        model = self.core.model
        owner = getattr(row, self.wf.owner_field, None) if self.wf.owner_field else None
        if owner is not None:
            role = model.roles.get(self.wf.owner_role or "")
            who = str(i18n.label(role)) if role else ""
            if owner.work_phone:
                return who, owner.work_phone
            unit = getattr(owner, "unit", None)
            if unit is not None and self._unit_phone(unit):
                return unit.name, self._unit_phone(unit)
        code = self.spec.contact_unit
        if code is None:
            return "", ""
        unit_cls = self.core.orm["unit"]
        unit = session.scalars(select(unit_cls).where(unit_cls.code == code)).first()
        if unit is not None and self._unit_phone(unit):
            return unit.name, self._unit_phone(unit)
        declared = next((u for u in model.units if u.key == code), None)
        return (str(i18n.text(declared.name_zh, declared.name_en)), declared.phone or "") if declared else ("", "")

    def _unit_phone(self, unit) -> str:
        """The phone kept on the unit row (staff may edit it), else the one declared in the model."""
        phone = getattr(unit, "phone", None)
        if phone:
            return phone
        declared = next((u for u in self.core.model.units if u.key == getattr(unit, "code", None)), None)
        return declared.phone or "" if declared else ""
