"""Application numbers: prefix + year + month + a 4-digit sequence from a locked counter row."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.database.builtin import NumberCounter
from app.i18n import SHANGHAI


def next_number(connection, prefix: str) -> str:
    """YK + year + month + 4-digit sequence; the counter row lock serialises concurrent creators."""
    month = prefix + dt.datetime.now(SHANGHAI).strftime("%Y%m")
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(insert(NumberCounter).values(prefix=month, value=0).on_conflict_do_nothing())
    value = connection.execute(update(NumberCounter).where(NumberCounter.prefix == month)
                               .values(value=NumberCounter.value + 1)
                               .returning(NumberCounter.value)).scalar_one()
    return f"{month}{value:04d}"
