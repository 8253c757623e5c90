"""The assessment's read side: fine rows as lists show them, evidence in words, the monthly summary."""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from app import i18n
from app.assessment.entries import FineEntry
from app.security.user import StaffUser


def _core():
    return current_app.extensions["yekuotong"]


def target_names(session, user_ids=None, unit_ids=None) -> tuple[dict, dict]:
    """{user id: name}, {unit id: name}: of everyone, or only of the ids given (a collection or a
    select of ids) — a page of fines names its own targets, not every member of staff."""
    people = select(StaffUser.id, StaffUser.last_name, StaffUser.first_name)
    if user_ids is not None:
        people = people.where(StaffUser.id.in_(user_ids))
    users = {pk: f"{last or ''}{first or ''}" for pk, last, first in session.execute(people)}
    unit_cls = _core().orm["unit"]
    query = select(unit_cls.id, unit_cls.name)
    if unit_ids is not None:
        query = query.where(unit_cls.id.in_(unit_ids))
    return users, {pk: i18n.unit_text(name) for pk, name in session.execute(query)}


def fine_rows(session, fines) -> list[dict]:
    fines = list(fines)
    users, units = target_names(session, {f.target_user_id for f in fines if f.target_user_id},
                                {f.target_unit_id for f in fines if f.target_unit_id})
    return [{"f": f, "target": users.get(f.target_user_id) or units.get(f.target_unit_id, ""),
             "amount": i18n.fmt_money(f.amount) if f.amount is not None else _("set by the auditor"),
             "range": _range_text(f),
             "evidence": evidence_text(f), "at": i18n.fmt_datetime(f.proposed_at),
             "decided": i18n.fmt_datetime(f.decided_at)} for f in fines]


def _range_text(fine) -> str:
    if fine.amount_min is None:
        return ""
    if fine.amount_max is None:
        return _("at least %(min)s", min=i18n.fmt_money(fine.amount_min))
    return f"{i18n.fmt_money(fine.amount_min)}–{i18n.fmt_money(fine.amount_max)}"


def evidence_text(fine) -> str:
    data = json.loads(fine.evidence or "{}")
    core = _core()
    if "timer" in data:
        timer = core.model.timers.get(data["timer"])
        label = i18n.label(timer) if timer else data["timer"]
        text = _("%(timer)s overdue (due %(due)s, at stage %(stage)s)", timer=label,
                 due=_due_day(data.get("due_at")), stage=core.engine.stage_label(data.get("stage")))
        if data.get("judged_at"):
            text += _("; judged when the outcome was known (%(at)s)", at=_local_time(data["judged_at"]))
        return text
    if "suspension" in data:
        return _("Suspension: %(reason)s at %(stage)s %(note)s", reason=core.engine.reason_label("suspend", data["reason"]),
                 stage=core.engine.stage_label(data.get("stage")), note=data.get("note") or "")
    if "incident" in data:
        return _("Incident: %(text)s", text=data.get("description", ""))
    if "reverses" in data and data.get("original_month"):
        return _("Correction of #%(id)s (originally booked in %(month)s): %(reason)s", id=data["reverses"],
                 month=data["original_month"], reason=data.get("reason", ""))
    if "reverses" in data:
        return _("Correction of #%(id)s: %(reason)s", id=data["reverses"], reason=data.get("reason", ""))
    return ""


def _local_time(text) -> str:
    try:
        return i18n.fmt_datetime(dt.datetime.fromisoformat(str(text)))
    except ValueError:
        return str(text or "")


def _due_day(text) -> str:
    """Stored deadlines are 00:00 of the next day (UTC): show the last day, in Shanghai."""
    try:
        due = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return str(text or "")
    if due.tzinfo is None:
        due = due.replace(tzinfo=dt.timezone.utc)
    return i18n.fmt_date((due - dt.timedelta(microseconds=1)).astimezone(i18n.SHANGHAI).date())


def monthly_summary(session, month: str, unit_id: int | None = None) -> dict:
    """Counts and amounts by person and by unit, per rule, confirmed vs waived (one grouped query each).
    Corrections count in the month they were made: the confirmed amount is net of them, and a month
    already printed never changes."""
    confirmed = FineEntry.status == "confirmed"
    original = confirmed & FineEntry.reverses_id.is_(None)
    columns = (FineEntry.rule_id,
               func.sum(case((original, 1), else_=0)), func.sum(case((confirmed, FineEntry.amount), else_=0)),
               func.sum(case((FineEntry.status == "waived", 1), else_=0)),
               func.sum(case((FineEntry.status == "waived", FineEntry.amount), else_=0)),
               func.sum(case((FineEntry.status == "proposed", 1), else_=0)),
               func.sum(case((FineEntry.reverses_id.isnot(None), 1), else_=0)))
    users, units = target_names(session, select(FineEntry.target_user_id).where(FineEntry.month == month),
                                select(FineEntry.target_unit_id).where(FineEntry.month == month))
    result = {}
    for key, column, names in (("people", FineEntry.target_user_id, users), ("units", FineEntry.target_unit_id, units)):
        query = select(column, *columns).where(FineEntry.month == month, column.isnot(None))
        if unit_id is not None:  # a unit head: the unit itself and the people in it
            query = query.where(FineEntry.target_user_id.in_(select(StaffUser.id).where(StaffUser.unit_id == unit_id))
                                if key == "people" else FineEntry.target_unit_id == unit_id)
        rows = []
        for target, rule, c_n, c_amt, w_n, w_amt, p_n, r_n in session.execute(
                query.group_by(column, FineEntry.rule_id).order_by(column, FineEntry.rule_id)):
            rows.append({"name": names.get(target, target), "rule": rule, "confirmed": int(c_n or 0),
                         "confirmed_amount": Decimal(c_amt or 0), "waived": int(w_n or 0),
                         "waived_amount": Decimal(w_amt or 0), "pending": int(p_n or 0),
                         "corrected": int(r_n or 0)})
        result[key] = rows
    totals = defaultdict(Decimal)
    for r in result["people"] + result["units"]:
        totals[r["name"]] += r["confirmed_amount"]
    result["chart"] = sorted(totals.items(), key=lambda kv: -kv[1])[:15]
    result["peak"] = max([v for _k, v in result["chart"]] + [Decimal(1)])
    return result
