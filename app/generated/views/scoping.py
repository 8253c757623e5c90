"""Row scope on generated screens and APIs: a FAB base filter that keeps every list, page, edit and
delete to the rows the signed-in user may see (app/security/scope.py); others answer 404."""
from __future__ import annotations

from flask import current_app, g
from flask_appbuilder.models.filters import BaseFilter

from app.security import scope


def signed_in_user():
    return getattr(g, "user", None)


class InScope(BaseFilter):
    """Applied with the signed-in user; the column name is unused (the scope is the row's)."""

    name = "in scope"  # never offered as a search filter: a base filter only
    arg_name = None

    def apply(self, query, value):
        user = value() if callable(value) else value
        core = current_app.extensions["yekuotong"]
        return scope.restrict(core, query, user, self.model.__entity_key__)


def scope_filters(model, key: str) -> list:
    """FAB `base_filters` for the entity: the scope filter when some role's scope may hide its rows."""
    return [["id", InScope, signed_in_user]] if scope.is_scoped(model, key) else []
