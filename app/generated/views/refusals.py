"""Saving generated rows: what still refers to a row, and database refusals in words (no SQL text)."""
from __future__ import annotations

import logging

from flask import current_app, g
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app import events, i18n
from app.database.errors import CONFLICT, REFUSED, classify
from app.generated.views.case_filters import NEXT_DUE, HasDeadline, next_due_order
from app.generated.views.files import delete_scan
from app.generated.views.paging import bounded_count

log = logging.getLogger(__name__)


class SaveRefused(Exception):
    """A save or delete that did not happen: HTTP status, a message for the user, field errors."""

    def __init__(self, status: int, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}

    def __str__(self) -> str:
        return self.message


def _label(table: str) -> str:
    model = current_app.extensions["yekuotong"].model
    entity = model.entities.get(table)
    if entity is not None:
        return entity.label_en if i18n.is_english() else entity.label_zh
    return _("users") if table == "ab_user" else _("related records")


def still_referenced(session, row) -> list[tuple[str, int]]:
    """(what, how many) of the rows whose foreign keys point at `row`: it cannot be deleted."""
    table = row.__table__
    found: dict[str, int] = {}
    for other in table.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table and fk.parent.table is other:
                count = session.scalar(select(func.count()).select_from(other).where(fk.parent == row.id))
                if count:
                    label = _label(other.name)
                    found[label] = found.get(label, 0) + count
    return sorted(found.items())


def refuse_if_referenced(session, row) -> None:
    found = still_referenced(session, row)
    if found:
        what = "、".join(_("%(what)s: %(n)d", what=label, n=count) for label, count in found)
        raise SaveRefused(422, _("Other records still refer to this one (%(what)s); nothing was deleted.",
                                 what=what))


def refusal(exc: SQLAlchemyError) -> SaveRefused:
    """The user's answer for a database error while saving; the cause is logged, never shown."""
    kind = classify(exc)
    log.warning("save refused by the database (%s): %s", kind, str(getattr(exc, "orig", exc))[:500])
    if kind == CONFLICT:
        return SaveRefused(409, _("Someone else changed this record at the same time; nothing was saved. "
                                  "Reload the page and try again."))
    if kind == REFUSED:
        return SaveRefused(422, _("The database refused this change (a value already in use, or a record "
                                  "still referred to); nothing was saved."))
    return SaveRefused(503, _("The server cannot save right now; please try again later."))


class GeneratedInterface(SQLAInterface):
    """FAB's data interface whose add/edit/delete roll back and raise SaveRefused (a Chinese message,
    no SQL) instead of passing the driver's text to the user; files go only after the row is gone."""

    def _save(self, change, item) -> None:
        try:
            change(item)
            self.session.commit()
        except SQLAlchemyError as exc:
            self.session.rollback()
            refused = refusal(exc)
            g.ykt_refusal = refused.message  # FAB's edit screen shows its own text; see the view
            raise refused from None

    def query_count(self, query, filters=None, select_columns=None) -> int:
        # FAB counts every matching row on each list request: count up to a bound instead.
        inner = self._apply_inner_all(query, filters, select_columns=select_columns, aliases_mapping={})
        return bounded_count(self.session, inner.with_entities(self.obj.id))

    def query(self, filters=None, order_column: str = "", order_direction: str = "", *a, **kw):
        if order_column == NEXT_DUE:  # only the cases with a running deadline: count those too
            filters = (filters or self.get_filters()).get_joined_filters(self.get_filters())
            filters._add_filter(HasDeadline(NEXT_DUE, self), None)
        return super().query(filters, order_column, order_direction, *a, **kw)

    def apply_order_by(self, query, order_column, order_direction, *a, **kw):
        if order_column == NEXT_DUE:
            return next_due_order(current_app.extensions["yekuotong"], query, self.obj, order_direction)
        return super().apply_order_by(query, order_column, order_direction, *a, **kw)

    def get_values(self, lst, list_columns):
        # A list page's rows: what is shown beside each (deadline badges) is fetched once for all.
        rows = list(lst)
        core = current_app.extensions["yekuotong"]
        events.list_rows_loaded.send(core, entity=self.obj.__entity_key__, rows=rows, session=self.session,
                                     prefetched=self.session.info.setdefault(events.LIST_PREFETCHED, {}))
        return super().get_values(rows, list_columns)

    def add(self, item, commit: bool = True) -> None:
        self._save(self.session.add, item)

    def edit(self, item, commit: bool = True) -> None:
        self._save(self.session.merge, item)

    def delete(self, item, commit: bool = True) -> None:
        refuse_if_referenced(self.session, item)
        self._save(self.session.delete, item)
        self._delete_files(item)

    def _delete_files(self, item) -> None:
        # The model's file fields (plain strings to FAB, whose own version found none): their scans
        # go through the scan store once the row is gone.
        entity = current_app.extensions["yekuotong"].model.entities.get(self.obj.__tablename__)
        stored = [getattr(item, n) for n, f in (entity.fields.items() if entity else ()) if f.type == "file"]
        for name in filter(None, stored):
            delete_scan(name)
        if any(stored):
            self.session.commit()
