"""Paging that costs the same on a million rows as on a hundred: a list counts at most COUNT_LIMIT
rows (shown as "10,000+" beyond), and pages reach no deeper than that (OFFSET reads every row it
skips); past it the user is asked to filter instead."""
from __future__ import annotations

from markupsafe import Markup
from sqlalchemy import func, select

#: The most rows a list counts, and the deepest row a page may start at.
COUNT_LIMIT = 10_000


class AtLeast(int):
    """A count that stopped at its limit: the number for paging, "10,000+" on screen."""

    def __html__(self) -> str:
        return Markup("{:,}+").format(int(self))

    def __str__(self) -> str:
        return f"{int(self):,}+"


def bounded_count(session, query) -> int:
    """How many rows `query` (an ORM query) returns, counting no further than COUNT_LIMIT + 1."""
    inner = query.order_by(None).limit(COUNT_LIMIT + 1).subquery()
    found = session.scalar(select(func.count()).select_from(inner))
    return AtLeast(COUNT_LIMIT) if found > COUNT_LIMIT else found


def too_deep(page: int, page_size: int) -> bool:
    """Whether a page starts past the rows a list pages through."""
    return page * page_size >= COUNT_LIMIT
