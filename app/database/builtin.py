"""Tables every model has: applied model revisions and application-number counters."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, Integer, String, Text

from app.database.types import UTCDateTime, now_utc


class ModelRevision(Model):
    """One row per `model apply` that changed the schema: what changed, when, from which text."""

    __tablename__ = "model_revision"
    id = Column(Integer, primary_key=True)
    digest = Column(String(16), nullable=False)
    version = Column(String(40), nullable=False)
    applied_on = Column(UTCDateTime(), default=now_utc, nullable=False)
    changes = Column(Text, nullable=False, default="")


class NumberCounter(Model):
    """Per-prefix counters for application numbers (YK2026110001), bumped under a row lock."""

    __tablename__ = "number_counter"
    prefix = Column(String(20), primary_key=True)
    value = Column(Integer, nullable=False, default=0)
