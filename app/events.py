"""Signals: what one part of the app announces and others react to, in the order create_app connects them.

A workflow step is one event (``step_taken``) that the deadlines and the assessment ledger subscribe
to; the sweep announces breached deadlines (``deadlines_breached``) to the ledger; ``model apply``
announces ``model_applied`` so that parts seed their reference data (the calendar). Receivers are
connected per app (the sender is the app's ``core``), so two apps in one process never cross.
Every receiver runs inside the sender's transaction: an exception rolls the whole step back.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSet
from typing import Any

from blinker import Signal


class OrderedSet(MutableSet):
    """A set that iterates in insertion order (blinker dispatches in its set_class's order)."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items: dict[Any, None] = dict.fromkeys(items)

    def __contains__(self, item: Any) -> bool:
        return item in self._items

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Any) -> None:
        self._items[item] = None

    def discard(self, item: Any) -> None:
        self._items.pop(item, None)

    def copy(self) -> "OrderedSet":
        return OrderedSet(self._items)


class OrderedSignal(Signal):
    """A blinker signal whose receivers run in the order they were connected."""

    set_class = OrderedSet


#: A workflow step (or suspend/resume/cancel) was taken, inside its transaction.
#: kwargs: session, row, trigger, source, dest, at
step_taken = OrderedSignal("A workflow step was taken; receivers run inside its transaction.")

#: A correction step changed fields that rules read, inside its transaction (deadlines recompute).
#: kwargs: session, row, changed (set of field names), user, at
case_corrected = OrderedSignal("A case was corrected; receivers run inside its transaction.")

#: The sweep (or a step) recorded breached deadlines, inside its transaction.
#: kwargs: session, timers (breach rows), apps ({application id: row with the columns rules read})
deadlines_breached = OrderedSignal("Deadlines were breached; receivers run inside the sweep's transaction.")

#: `model apply` migrated the schema, inside its transaction: parts install their triggers.
#: kwargs: connection
schema_migrated = OrderedSignal("The schema was migrated; receivers add DDL inside the same transaction.")

#: `model apply` finished: the schema matches the model and its roles and units exist.
#: kwargs: session
model_applied = OrderedSignal("The model was applied to the database; receivers seed their reference data.")

#: A generated list screen loaded its page of rows, before rendering them: parts fetch what they show
#: beside each row (deadline badges) in one query for all rows, into `prefetched` (a dict kept in
#: ``session.info[LIST_PREFETCHED]`` until the page is rendered).
#: kwargs: entity (key), rows (ORM objects), session, prefetched
list_rows_loaded = OrderedSignal("A list page's rows were loaded; receivers prefetch what they show per row.")
LIST_PREFETCHED = "ykt_list_prefetched"
