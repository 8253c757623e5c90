"""The assessment's tables: fine entries, incidents, sanctions; and the error a refused decision raises."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, Numeric, String, Text

from app.database.types import UTCDateTime, now_utc
from app.i18n import SHANGHAI


class FineEntry(Model):
    """One fine. Amount and rule text are copied when proposed: later model edits do not change it.
    A correction is a new entry (negative amount, `reverses_id`) booked in the month it is made."""

    __tablename__ = "fine_entry"
    __table_args__ = (Index("ix_fine_unit_month", "target_unit_id", "month"),
                      Index("ix_fine_user_month", "target_user_id", "month"),
                      Index("ix_fine_status", "status"),
                      Index("ix_fine_month_status", "month", "status"))  # the monthly summary
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
    amount_max = Column(Numeric(12, 2), nullable=True)  # None with amount_min set: no upper bound
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
    """Non-monetary sanctions: 待岗学习 until an exam is passed, 调离岗位 removed from post.
    Ended by a passed exam, or by the correction (`ended_by_id`) of the fine that caused it."""

    __tablename__ = "sanction"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    kind = Column(String(30), nullable=False)
    fine_id = Column(Integer, ForeignKey("fine_entry.id"), nullable=False, unique=True)
    since = Column(Date, nullable=False)
    exam_passed_on = Column(Date, nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    ended_on = Column(Date, nullable=True)
    # the reversal (fine_entry.id); no FK constraint: SQLite cannot add an unnamed one to an existing table
    ended_by_id = Column(Integer, nullable=True)


class FineError(ValueError):
    """A refused decision; the message is translated and says what to do."""


def month_of(at: dt.datetime) -> str:
    """The ledger month (YYYY-MM, Asia/Shanghai) an entry made at `at` is booked in."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m")
