"""Saving generated rows: what still refers to a row, and database refusals in words (no SQL text)."""
from __future__ import annotations

import logging

from flask import current_app, g
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app import i18n
from app.database.errors import CONFLICT, REFUSED, classify

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

    def add(self, item, commit: bool = True) -> None:
        self._save(self.session.add, item)

    def edit(self, item, commit: bool = True) -> None:
        self._save(self.session.merge, item)

    def delete(self, item, commit: bool = True) -> None:
        refuse_if_referenced(self.session, item)
        self._save(self.session.delete, item)
        self._delete_files(item)
