"""Reference selects that search on demand: a form field and a list filter showing only the chosen
record(s), filled by select2 from `/choices/<entity>/<field>/` (choices.py) as the user types. Without
JavaScript the page still holds no list of every record."""
from __future__ import annotations

import re

from flask import current_app, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import Field
from wtforms.validators import StopValidation
from wtforms.widgets import html_params

from app.generated import labels
from app.model.limits import INTEGER_MAX
from app.security import scope
from app.security.user import StaffUser

NO_SUCH_RECORD = lazy_gettext("The selected record does not exist.")
#: Active filter values shown in a list's search panel (each a chosen record).
MAX_SHOWN = 5


def _core():
    return current_app.extensions["yekuotong"]


def reference_target(field):
    return StaffUser if field.to == "user" else _core().orm[field.to]


def visible(field, query):
    """`query` over the field's target kept to what the signed-in user may choose."""
    if field.to == "user":
        return query.where(StaffUser.active.is_(True))
    return scope.restrict(_core(), query, g.user, field.to)


def find_reference(field, pk):
    """The record a reference names, if it exists and the user may see it; else None."""
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= INTEGER_MAX:
        return None
    target = reference_target(field)
    return _core().db.session.scalars(visible(field, select(target).where(target.id == pk))).first()


def display_label(field, row) -> str:
    """The label of a record a reference field names (see app/generated/labels.py)."""
    if row is None:
        return ""
    entity = None if field.to == "user" else _core().model.entities[field.to]
    return labels.label(entity, row, tail=lambda digits: _("ending %(digits)s", digits=digits))


def _whole(text) -> int | None:
    text = str(text).strip()
    return int(text) if text.isdigit() and len(text) <= 10 else None


class ReferenceSelect:
    """A `<select>` holding only the chosen records; `class="ykt-reference"` makes it search on demand."""

    def __init__(self, with_script: bool = True):
        self.with_script = with_script

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        css = " ".join(c for c in ("ykt-reference form-control", kwargs.pop("class", ""),
                                   kwargs.pop("class_", "")) if c)
        attrs = html_params(name=field.name, class_=css, **{
            "data-url": url_for("choices.search", entity=field.owner, name=field.short_name),
            "data-placeholder": _("Type to search"), "data-searching": _("Searching…"),
            "data-no-results": _("No matching records"), "data-more": _("Loading more…")}, **kwargs)
        options = [Markup('<option value=""></option>')]
        options += [Markup('<option value="{}" selected>{}</option>').format(pk, text)
                    for pk, text in field.chosen()]
        html = Markup("<select {}>{}</select>").format(Markup(attrs), Markup("").join(options))
        if self.with_script:
            html += Markup('<script src="{}"></script>').format(
                url_for("choices.static", filename="reference_select.js"))
        return html


class ReferenceField(Field):
    """A reference on an add/edit form: the posted id must name a record the user may see, else
    "所选记录不存在" beside the field; only that one record is looked up."""

    widget = ReferenceSelect()

    def __init__(self, label=None, validators=None, field=None, owner: str = "", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.field, self.owner = field, owner
        self._posted = False

    def chosen(self) -> list[tuple[int, str]]:
        return [(self.data.id, display_label(self.field, self.data))] if self.data is not None else []

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = valuelist[0]
        self._posted = raw not in ("", "__None", None)
        self.data = find_reference(self.field, _whole(raw)) if self._posted else None

    def pre_validate(self, form):
        if self.data is None and self._posted:
            raise StopValidation(NO_SUCH_RECORD)


class ReferenceFilterField(ReferenceField):
    """A reference in a list's search panel (FAB renames it `_flt_<op>_<name>`): shows the records
    the active filters name."""

    widget = ReferenceSelect(with_script=False)

    def chosen(self) -> list[tuple[int, str]]:
        pattern = re.compile(rf"^_flt_\d+_{re.escape(self.short_name)}$")
        ids = [pk for key in request.args if pattern.match(key)
               for pk in map(_whole, request.args.getlist(key)) if pk]
        rows = [find_reference(self.field, pk) for pk in dict.fromkeys(ids[:MAX_SHOWN])]
        return [(row.id, display_label(self.field, row)) for row in rows if row is not None]


def reference_cell(field):
    """The list formatter of a reference column: the record's label."""
    return lambda row: escape(display_label(field, row)) if row is not None else ""
