"""Column types and SQL helpers shared by every table: UTC timestamps, `IN` lists that scale."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ARRAY, DateTime, Integer, TypeDecorator, any_, bindparam


def id_in(column, ids, dialect_name: str):
    """`column IN ids`; on PostgreSQL as `= ANY(array)`, one parameter instead of thousands."""
    ids = list(ids)
    if dialect_name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as UTC on every backend (SQLite keeps no offset) and read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone (times are stored in UTC)")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value


