"""Every select says what to do in the user's language: "请选择…" in place of a blank choice.

Flask-AppBuilder's QuerySelectField offers "no value" as an option valued ``__None`` with an empty
label, and WTForms shows an option's value when its label is empty: users read ``__None`` in every
optional reference (the user's unit, generated add/edit forms, list filters). One change of the
field class covers every form FAB generates and every form of ours built on it.
"""
from __future__ import annotations

from flask_appbuilder.fields import QuerySelectField
from flask_babel import lazy_gettext

PLACEHOLDER = lazy_gettext("Please choose…")
BLANK = "__None"


def _with_placeholder(iter_choices):
    def iter_choices_with_placeholder(self):
        for choice in iter_choices(self):
            if choice[0] == BLANK and not choice[1]:
                choice = (BLANK, PLACEHOLDER, *choice[2:])
            yield choice
    iter_choices_with_placeholder.ykt_placeholder = True
    return iter_choices_with_placeholder


def install() -> None:
    """Once per process (idempotent): the blank choice of QuerySelectField shows PLACEHOLDER."""
    if not getattr(QuerySelectField.iter_choices, "ykt_placeholder", False):
        QuerySelectField.iter_choices = _with_placeholder(QuerySelectField.iter_choices)
