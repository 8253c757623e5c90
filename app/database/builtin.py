"""Tables every model has: applied model revisions and application-number counters."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, Index, Integer, String, Text

from app.database.types import UTCDateTime, now_utc


class ModelRevision(Model):
    """One numbered version of the model per `model apply` (app/versions/store.py): its text, who applied
    it, when, why, and the schema operations it ran. The newest row with a text is the active model.
    Rows written before versions existed have no text (and are numbered by their id)."""

    __tablename__ = "model_revision"
    __table_args__ = (Index("ix_model_revision_number", "number", unique=True),)
    id = Column(Integer, primary_key=True)
    number = Column(Integer, nullable=True)
    digest = Column(String(16), nullable=False)
    version = Column(String(40), nullable=False)  # the model's own `version:` string
    applied_at = Column("applied_on", UTCDateTime(), default=now_utc, nullable=False)
    applied_by = Column(String(256), nullable=True)
    comment = Column(Text, nullable=True)
    content = Column(Text, nullable=True)
    operations = Column("changes", Text, nullable=False, default="")


class NumberCounter(Model):
    """Per-prefix counters for application numbers (YK2026110001), bumped under a row lock."""

    __tablename__ = "number_counter"
    prefix = Column(String(20), primary_key=True)
    value = Column(Integer, nullable=False, default=0)
