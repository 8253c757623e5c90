"""Workflow records beside the application: append-only history (流程记录) and suspensions."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text, event, literal_column, text
from sqlalchemy.orm import relationship

from app.database.types import UTCDateTime, now_utc
from app.security.user import StaffUser


#: Timers of a case still in progress (the partial index's condition; queries repeat it to use it).
OPEN_TIMERS = "status IN ('running', 'paused', 'overdue')"


def open_timers(status):
    """`status` IN the open statuses, written out as constants so PostgreSQL proves the partial index
    ix_sla_timer_open applies (bound parameters would hide the values from its planner's proof)."""
    return status.in_([literal_column(f"'{s}'") for s in ("running", "paused", "overdue")])


class AppendOnlyError(RuntimeError):
    """History rows are evidence: they are written once and never changed or deleted."""


def workflow_classes(base, entity_key: str, entity_cls) -> dict[str, type]:
    fk = f"{entity_key}.id"
    history = type("WorkflowHistory", (base,), {
        "__tablename__": "workflow_history",
        "id": Column(Integer, primary_key=True),
        "application_id": Column(Integer, ForeignKey(fk), nullable=False, index=True),
        "at": Column(UTCDateTime(), default=now_utc, nullable=False),
        "user_id": Column(Integer, ForeignKey("ab_user.id"), nullable=True),
        "user_name": Column(String(64), nullable=False, default=""),
        "roles": Column(String(120), nullable=False, default=""),
        "unit_name": Column(String(100), nullable=False, default=""),
        "kind": Column(String(20), nullable=False, default="transition"),
        "trigger": Column(String(40), nullable=False),
        "from_stage": Column(String(40), nullable=True),
        "to_stage": Column(String(40), nullable=True),
        "comment": Column(Text, nullable=True),
        "changes": Column(Text, nullable=True),  # JSON {field: [old, new]}
        "application": relationship(entity_cls),
    })
    suspension = type("Suspension", (base,), {
        "__tablename__": "suspension",
        "id": Column(Integer, primary_key=True),
        "application_id": Column(Integer, ForeignKey(fk), nullable=False, index=True),
        "stage": Column(String(40), nullable=False),
        "reason": Column(String(40), nullable=False),
        "responsible_user_id": Column(Integer, ForeignKey("ab_user.id"), nullable=True),
        "responsible_unit_id": Column(Integer, ForeignKey("unit.id"), nullable=True),
        "note": Column(Text, nullable=True),
        "started_at": Column(UTCDateTime(), default=now_utc, nullable=False),
        "started_by_id": Column(Integer, ForeignKey("ab_user.id"), nullable=True),
        "ended_at": Column(UTCDateTime(), nullable=True),
        "ended_by_id": Column(Integer, ForeignKey("ab_user.id"), nullable=True),
        "responsible_user": relationship(StaffUser, foreign_keys="Suspension.responsible_user_id"),
    })
    timer = type("SlaTimer", (base,), {
        "__tablename__": "sla_timer",
        # The sweep reads only what is due: (status, due_at) keeps it independent of open cases.
        # Open timers (OPEN_TIMERS) by case: the dashboard, the to-do's earliest deadline, badges.
        "__table_args__": (Index("ix_sla_timer_status_due", "status", "due_at"),
                           Index("ix_sla_timer_app_key", "application_id", "timer"),
                           Index("ix_sla_timer_open", "application_id", "due_at",
                                 postgresql_where=text(OPEN_TIMERS), sqlite_where=text(OPEN_TIMERS))),
        "id": Column(Integer, primary_key=True),
        "application_id": Column(Integer, ForeignKey(fk), nullable=False),
        "timer": Column(String(40), nullable=False),
        "status": Column(String(12), nullable=False, default="running"),
        "limit_days": Column(Integer, nullable=False),
        "started_at": Column(UTCDateTime(), nullable=False),
        "due_at": Column(UTCDateTime(), nullable=True),
        "provisional": Column(Boolean, nullable=False, default=False),
        "paused_at": Column(UTCDateTime(), nullable=True),
        "remaining_days": Column(Integer, nullable=True),
        "stopped_at": Column(UTCDateTime(), nullable=True),
        "breached_at": Column(UTCDateTime(), nullable=True),
        "breach_recorded": Column(Boolean, nullable=False, default=False),
        "stage_at_breach": Column(String(40), nullable=True),
        "model_version": Column(String(40), nullable=True),
        "application": relationship(entity_cls),
    })
    event.listen(history, "before_update", _refuse)
    event.listen(history, "before_delete", _refuse)
    return {"workflow_history": history, "suspension": suspension, "sla_timer": timer}


def _refuse(_mapper, _connection, target) -> None:
    raise AppendOnlyError(f"workflow history row {target.id} is append-only")
