"""List filters and an order that are not a column of the listed entity, from the model:

- the workflow entity: "经办单位" (the unit of the owner, or of the accepting clerk while there is no owner:
  app/security/scope.py's unit), "已超期" (a running deadline past due: the few late cases read first from sla_timer's status
  index, then their rows by key) and the
  order "下一时限" (`_oc_<View>=next_due`: the soonest deadline of its running timers; only cases with a
  running deadline are listed in that order);
- any entity: each searchable reference to a record with a `display:` gets a text filter "<field>（名称或
  电话尾号）" matching the record's label as the /choices/ search does (name prefix, phone tail, number).

Each adds one condition or join to the list's own query: the statement count does not change.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import LazyString, lazy_gettext
from sqlalchemy import and_, any_, exists, false, func, literal_column, or_, select
from wtforms import SelectField, StringField

from app.generated import labels
from app.security import scope

UNIT, OVERDUE, NEXT_DUE, TEXT = "unit_of_case", "overdue", "next_due", "_text"
TIMER_TABLE = "sla_timer"
#: Timer statuses whose deadline is still ahead of the case (constants: the planner sees them).
RUNNING = ("running", "overdue")


def _core():
    return current_app.extensions["yekuotong"]


def timer_class(core):
    wf = core.model.workflow
    return core.orm[TIMER_TABLE] if wf is not None and getattr(core.model, "timers", None) else None


def _running(timer):
    return timer.status.in_([literal_column(f"'{s}'") for s in RUNNING])


def _whole(text) -> int | None:
    text = str(text).strip()
    return int(text) if text.isdigit() and len(text) <= 10 else None


class FilterCaseUnit(BaseFilter):
    name = lazy_gettext("Equal to")
    arg_name = "unit"
    value_kind = "reference"

    def apply(self, query, value):
        unit_id = _whole(value)
        return query.filter(scope.unit_clause(_core(), unit_id) if unit_id else false())


class FilterOverdue(BaseFilter):
    name = lazy_gettext("Is")
    arg_name = "overdue"
    value_kind = "boolean"

    def apply(self, query, value):
        timer = timer_class(_core())
        now = dt.datetime.now(dt.timezone.utc)
        past_due = or_(timer.status == literal_column("'overdue'"),
                       and_(timer.status == literal_column("'running'"), timer.due_at <= now))
        if str(value).strip().lower() not in ("y", "1", "true"):
            return query.filter(~exists().where(timer.application_id == self.model.id, past_due))
        if _core().db.engine.dialect.name == "postgresql":
            # The few late cases first, then their rows by key: as an EXISTS, PostgreSQL walks the
            # list's order over the whole table probing each row (it expects many more late timers).
            ids = func.array(select(timer.application_id).where(past_due).scalar_subquery())
            return query.filter(self.model.id == any_(ids))
        return query.filter(exists().where(timer.application_id == self.model.id, past_due))


class FilterReferenceLabel(BaseFilter):
    """The column name is `<reference>_text`: the referenced record's label starts (or its phone ends)
    with the value."""

    name = lazy_gettext("Starts with")
    arg_name = "label"
    value_kind = "string"

    def apply(self, query, value):
        core = _core()
        field = self.column_name[: -len(TEXT)]
        target_key = core.model.entities[self.model.__entity_key__].fields[field].to
        target = core.orm[target_key]
        clause = labels.search_clause(core.model.entities[target_key], target, str(value)[:100])
        if clause is None:
            return query
        return query.filter(getattr(self.model, f"{field}_id").in_(select(target.id).where(clause)))


class HasDeadline(BaseFilter):
    """Keeps the cases with a running deadline (the order by `next_due` lists those; count them)."""

    def apply(self, query, value):
        timer = timer_class(_core())
        return query.filter(exists().where(timer.application_id == self.model.id, _running(timer)))


class UnitSelect(SelectField):
    """The units to choose from (a handful of reference rows), read when the panel is drawn."""

    def iter_choices(self):
        from app import i18n  # the unit's name in the request's language

        core = _core()
        cls = core.orm[scope.UNIT_ENTITY]
        rows = core.db.session.execute(select(cls.id, cls.name).order_by(cls.id)).all()
        selected = str(self.data or "")
        yield ("", "", not selected, {})
        for pk, name in rows:
            yield (str(pk), i18n.unit_text(name), str(pk) == selected, {})

    def pre_validate(self, form):
        pass


def reference_text_fields(model, key: str, search: list[str]) -> list[str]:
    entity = model.entities[key]
    return [n for n in search if (f := entity.fields.get(n)) is not None and f.type == "reference"
            and f.to in model.entities and model.entities[f.to].display is not None]


def extra_filters(model, key: str, search: list[str], labels_of: dict) -> list[tuple]:
    """(name, label, filter class, search form field) of the entity's extra list filters."""
    from app import i18n

    found = []
    wf = model.workflow
    if wf is not None and wf.entity == key:
        if wf.owner_field and scope.UNIT_ENTITY in model.entities:
            label = i18n.text("经办单位", "Unit")
            found.append((UNIT, label, FilterCaseUnit, UnitSelect(label)))
        if getattr(model, "timers", None):
            label = i18n.text("已超期", "Overdue")
            found.append((OVERDUE, label, FilterOverdue,
                          SelectField(label, choices=[("y", lazy_gettext("Yes")), ("n", lazy_gettext("No"))])))
    for name in reference_text_fields(model, key, search):
        label = LazyString(lambda field=labels_of[name]: f"{field} (name or phone ending)" if i18n.is_english()
                           else f"{field}（名称或电话尾号）")
        found.append((name + TEXT, label, FilterReferenceLabel, StringField(label)))
    return found


def next_due_order(core, query, cls, direction: str):
    """`query` over the workflow entity joined to each case's soonest running deadline, in that order."""
    timer = timer_class(core)
    due = (select(timer.application_id.label("case_id"), func.min(timer.due_at).label("due"))
           .where(_running(timer)).group_by(timer.application_id).subquery("next_due"))
    column = due.c.due.desc() if direction == "desc" else due.c.due.asc()
    return query.join(due, due.c.case_id == cls.id).order_by(column, cls.id.desc() if direction == "desc"
                                                             else cls.id.asc())
