"""The working-day calendar's tables: special days of loaded years, and which years are loaded."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, Column, Date, DateTime, Integer, String

from app.database.types import now_utc
from app.workflow.notice import N_

KINDS = ("holiday", "workday")
SOURCES = ("chinesecalendar", "import", "admin")
ACTIONS = ("holiday", "workday", "default")
NAME_LENGTH = 100


class CalendarDay(Model):
    """A day that differs from (or names a day of) the plain weekend rule in a loaded year."""

    __tablename__ = "calendar_day"
    __table_args__ = (
        CheckConstraint("kind IN ('holiday', 'workday')", name="ck_calendar_day_kind"),
        CheckConstraint("source IN ('chinesecalendar', 'import', 'admin')", name="ck_calendar_day_source"),
    )
    day = Column(Date, primary_key=True, autoincrement=False)
    kind = Column(String(10), nullable=False)
    name = Column(String(NAME_LENGTH), nullable=False, default="")
    source = Column(String(20), nullable=False)
    changed_on = Column(DateTime(timezone=True), nullable=False, default=now_utc)

    def __repr__(self) -> str:
        return f"CalendarDay({self.day}, {self.kind}, {self.name!r}, {self.source})"


class CalendarYear(Model):
    """A year whose official schedule (State Council notice) is loaded."""

    __tablename__ = "calendar_year"
    __table_args__ = (
        CheckConstraint("source IN ('chinesecalendar', 'import', 'admin')", name="ck_calendar_year_source"),
    )
    year = Column(Integer, primary_key=True, autoincrement=False)
    source = Column(String(20), nullable=False)
    loaded_on = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    note = Column(String(200), nullable=False, default="")

    def __repr__(self) -> str:
        return f"CalendarYear({self.year}, {self.source})"


class CalendarError(ValueError):
    """A refused calendar change; ``template`` is an English N_ message with {placeholders}."""

    def __init__(self, code: str, template: str, **params: Any) -> None:
        self.code = code
        self.template = template
        self.params = params
        super().__init__(template.format(**params))

    def format(self, gettext: Callable[[str], str] = N_) -> str:
        return gettext(self.template).format(**self.params)


@dataclass(frozen=True)
class LoadResult:
    year: int
    holidays: int
    workdays: int
    working_days: int
