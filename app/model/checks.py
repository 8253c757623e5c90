"""Cross-reference checks of a shape-valid model; every problem is reported, none stops the rest."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .checker import WORKFLOW_COLUMNS, Checker  # WORKFLOW_COLUMNS lives in checker; re-exported here
from .checks_limits import check_limits
from .checks_migrate import check_migrate
from .checks_public import check_public
from .checks_records import check_records
from .checks_rules import check_rules
from .checks_steps import check_steps
from .checks_scope import check_scope
from .checks_workflow import check_workflow
from .problems import N_, Problem
from .schema import Model

REQUIRED_ROLES = ("admin",)
REQUIRED_ENTITIES = ("unit",)
BUILTIN_REFERENCES = ("user",)
RESERVED_ENTITIES = {"user", "role", "permission", "alembic_version", "history", "timer",
                     "fine", "calendar_day", "print_record", "model_revision", "workflow_history",
                     "suspension", "number_counter", "sla_timer", "fine_entry", "workflow"}
RESERVED_FIELDS = {"id", "created_on", "changed_on", "created_by_fk", "changed_by_fk",
                   "version", "metadata", "query", "registry", "model_version"}


def check_model(model: Model, src) -> list[Problem]:
    c = Checker(model, src)
    _check_roles_and_units(c)
    _check_entities(c)
    check_limits(c)
    check_scope(c)
    if model.workflow is not None:
        check_workflow(c)
        check_records(c)
    check_rules(c)
    check_steps(c)
    check_public(c)
    check_migrate(c)
    return c.problems


def _check_roles_and_units(c: Checker) -> None:
    m = c.model
    for role in REQUIRED_ROLES:
        if role not in m.roles:
            c.report(("roles",), "M114", N_("the role '{name}' is required"),
                     N_("add '{name}:' with label_zh and label_en under roles"), name=role)
    seen: set[str] = set()
    for i, unit in enumerate(m.units):
        if unit.key in seen:
            c.report(("units", i, "key"), "M113", N_("duplicate unit key '{name}'"),
                     N_("each unit needs its own key"), name=unit.key)
        seen.add(unit.key)


def _default_problem(field) -> str | None:
    value = field.default
    if value is None:
        return None
    if field.type == "choice":
        if str(value) not in {ch.value for ch in field.choices or []}:
            return "choice"
    elif field.type == "boolean" and not isinstance(value, bool):
        return "type"
    elif field.type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return "type"
    elif field.type == "decimal":
        try:
            Decimal(str(value))
        except InvalidOperation:
            return "type"
    elif field.type in ("reference", "file", "date", "datetime"):
        return "type"
    return None


def _check_entities(c: Checker) -> None:
    m = c.model
    for name in REQUIRED_ENTITIES:
        if name not in m.entities:
            c.report(("entities",), "M110", N_("the entity '{name}' is required"),
                     N_("every user belongs to a unit: declare the '{name}' entity"), name=name)
    unit = m.entities.get("unit")
    for name in ("code", "name") if unit else ():
        if name not in unit.fields:
            c.report(("entities", "unit", "fields"), "M110", N_("the unit entity needs a '{name}' field"),
                     N_("units from the 'units:' section are stored by code and name"), name=name)
    for key, entity in m.entities.items():
        base = ("entities", key)
        if key in RESERVED_ENTITIES:
            c.report(base, "M109", N_("'{name}' is a reserved name"),
                     N_("choose another key; reserved: {reserved}"), key=True, name=key,
                     reserved=", ".join(sorted(RESERVED_ENTITIES)))
        if entity.menu not in m.menus:
            c.unknown(base + ("menu",), "M103", "menu", entity.menu, m.menus)
        for role, actions in entity.permissions.items():
            if role not in m.roles:
                c.unknown(base + ("permissions", role), "M102", "role", role, m.roles, key=True)
            if len(set(actions)) != len(actions):
                c.report(base + ("permissions", role), "M115", N_("an action is listed twice for '{name}'"),
                         N_("list each of list/show/add/edit/delete once"), name=role)
            if actions and "list" not in actions:
                c.report(base + ("permissions", role), "M116",
                         N_("role '{name}' has actions on '{entity}' but not 'list'"),
                         N_("add 'list': the other screens are reached from the list"), name=role, entity=key)
        is_workflow = m.workflow is not None and m.workflow.entity == key
        extra = WORKFLOW_COLUMNS | {m.workflow.state_field} if is_workflow else set()
        for attr in ("title", "order_by"):
            value = getattr(entity, attr)
            if value and value not in entity.fields and value not in extra:
                c.unknown(base + (attr,), "M108", "field", value, entity.fields)
        for fname, field in entity.fields.items():
            _check_field(c, base + ("fields", fname), fname, field)


def _check_field(c: Checker, path: tuple, name: str, field) -> None:
    m = c.model
    if name in RESERVED_FIELDS or name in WORKFLOW_COLUMNS:
        c.report(path, "M109", N_("'{name}' is a reserved name"),
                 N_("choose another key; reserved: {reserved}"), key=True, name=name,
                 reserved=", ".join(sorted(RESERVED_FIELDS | WORKFLOW_COLUMNS)))
    if field.type == "choice":
        if not field.choices:
            c.report(path, "M104", N_("choice field '{name}' has no choices"),
                     N_("add 'choices:' with value, label_zh and label_en"), name=name)
        else:
            values = [ch.value for ch in field.choices]
            for i, value in enumerate(values):
                if value in values[:i]:
                    c.report(path + ("choices", i), "M106", N_("duplicate choice '{name}'"),
                             N_("each choice value may appear once"), name=value)
    elif field.choices is not None:
        c.report(path + ("choices",), "M104", N_("'choices' is only for fields of type choice"),
                 N_("set 'type: choice' or remove 'choices'"))
    if field.type == "reference":
        if not field.to:
            c.report(path, "M107", N_("reference field '{name}' has no 'to'"),
                     N_("name the entity it points to, e.g. 'to: customer'"), name=name)
        elif field.to not in m.entities and field.to not in BUILTIN_REFERENCES:
            c.unknown(path + ("to",), "M101", "entity", field.to, list(m.entities) + list(BUILTIN_REFERENCES))
        elif field.to == path[1] or _reaches(m, field.to, path[1]):
            c.report(path + ("to",), "M117", N_("references between entities form a cycle through '{name}'"),
                     N_("point the reference the other way or drop one of them"), name=field.to)
    elif field.to is not None:
        c.report(path + ("to",), "M107", N_("'to' is only for fields of type reference"),
                 N_("set 'type: reference' or remove 'to'"))
    wanted = "decimal" if field.format == "money" else "string"
    if field.format and field.type != wanted:
        c.report(path + ("format",), "M112", N_("format '{format}' is only for fields of type {type}"),
                 N_("remove it or change the field's type"), format=field.format, type=wanted)
    if field.unique and field.type in ("text", "file", "boolean"):
        c.report(path + ("unique",), "M112", N_("a {type} field cannot be unique"),
                 N_("remove 'unique'"), type=field.type)
    if field.type == "decimal" and field.places > field.digits:
        c.report(path + ("places",), "M118", N_("'places' ({places}) cannot exceed 'digits' ({digits})"),
                 N_("digits counts all digits, places those after the point"),
                 places=field.places, digits=field.digits)
    problem = _default_problem(field)
    if problem == "choice":
        c.report(path + ("default",), "M105", N_("default '{value}' is not one of the choices"),
                 N_("use one of: {choices}"), value=field.default,
                 choices=", ".join(ch.value for ch in field.choices or []))
    elif problem == "type":
        c.report(path + ("default",), "M111", N_("default '{value}' does not fit a {type} field"),
                 N_("give a value of the field's type or remove the default"),
                 value=field.default, type=field.type)


def _reaches(model: Model, start: str, goal: str) -> bool:
    """Whether entity `start` references `goal`, directly or through others."""
    seen, stack = set(), [start]
    while stack:
        key = stack.pop()
        if key in seen or key not in model.entities:
            continue
        seen.add(key)
        for field in model.entities[key].fields.values():
            if field.type == "reference" and field.to:
                if field.to == goal:
                    return True
                stack.append(field.to)
    return False
