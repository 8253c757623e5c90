"""Row scope: which cases, and which of their records, a user sees and acts on.

Each role of the model has a `scope` (model.yaml, `roles:`):

- ``all`` (the default): every case;
- ``own``: the cases whose owner (``workflow.owner_field``) is the user;
- ``unit``: the cases whose owner is of the user's unit, or, while a case has no owner yet, whose
  creator (``workflow.accepted_by_field`` if the model has one, else whoever created the row) is;
- ``own_or_unit``: both.

A user with several roles sees what any of them grants. The scope reaches beyond the case itself:
rows of an entity that references the workflow entity (documents, defects, fees) follow their case,
and rows the workflow entity references (its customer) are seen through the cases that name them.
The ``unit`` entity is reference data every user belongs to and is never scoped.

Lists, pages, edits and the REST API filter with `restrict`/`entity_clause`; the step engine and
printing ask `may_act` for one row. A row out of scope answers exactly like a missing one (404).
"""
from __future__ import annotations

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.orm import object_session

from app.security.user import StaffUser

ALL, UNIT, OWN, OWN_OR_UNIT = "all", "unit", "own", "own_or_unit"
_KINDS = {ALL: {ALL}, UNIT: {UNIT}, OWN: {OWN}, OWN_OR_UNIT: {OWN, UNIT}}
UNIT_ENTITY = "unit"


def kinds(model, user) -> set[str]:
    """What the user's roles grant together: {'all'}, or a subset of {'own', 'unit'} (maybe empty)."""
    granted: set[str] = set()
    for role in getattr(user, "roles", None) or []:
        spec = model.roles.get(role.name)
        if spec is not None:
            granted |= _KINDS[spec.scope]
    return {ALL} if ALL in granted else granted


def sees_all(model, user) -> bool:
    return ALL in kinds(model, user)


def links(model) -> dict[str, tuple[str, list[str]]]:
    """Scoped entities besides the workflow entity: key -> ('child' | 'parent', reference fields)."""
    wf = model.workflow
    if wf is None:
        return {}
    result: dict[str, tuple[str, list[str]]] = {}
    for key, entity in model.entities.items():
        if key == wf.entity or key == UNIT_ENTITY:
            continue
        to_case = [n for n, f in entity.fields.items() if f.type == "reference" and f.to == wf.entity]
        if to_case:
            result[key] = ("child", to_case)
    for name, field in model.entities[wf.entity].fields.items():
        if field.type == "reference" and field.to in model.entities and field.to not in (wf.entity, UNIT_ENTITY):
            kind, names = result.get(field.to, ("parent", []))
            if kind == "parent":
                result[field.to] = ("parent", names + [name])
    return result


def is_scoped(model, entity: str) -> bool:
    wf = model.workflow
    return wf is not None and (entity == wf.entity or entity in links(model)) and any(
        role.scope != ALL for role in model.roles.values())


def case_clause(core, user):
    """A condition on the workflow entity's rows: the cases `user` may see."""
    granted = kinds(core.model, user)
    if ALL in granted:
        return true()
    wf = core.model.workflow
    cls = core.orm[wf.entity]
    owner = getattr(cls, f"{wf.owner_field}_id") if wf.owner_field else None
    user_id = getattr(user, "id", None)
    parts = []
    if OWN in granted and owner is not None and user_id is not None:
        parts.append(owner == user_id)
    unit_id = getattr(user, "unit_id", None)
    if UNIT in granted and owner is not None and unit_id is not None:
        parts.append(unit_clause(core, unit_id))
    return or_(*parts) if parts else false()


def unit_clause(core, unit_id: int):
    """The cases of a unit: their owner is of it, or, with no owner yet, their creator (or accepting
    clerk) is. The `unit` scope, and the application list's filter by unit."""
    wf = core.model.workflow
    cls = core.orm[wf.entity]
    if not wf.owner_field:
        return false()
    owner = getattr(cls, f"{wf.owner_field}_id")
    members = select(StaffUser.id).where(StaffUser.unit_id == unit_id)
    creators = [cls.created_by_fk.in_(members)]
    accepted = getattr(wf, "accepted_by_field", None)
    if accepted:
        creators.append(getattr(cls, f"{accepted}_id").in_(members))
    return or_(owner.in_(members), and_(owner.is_(None), or_(*creators)))


def entity_clause(core, entity: str, user):
    """A condition on `entity`'s rows for `user`, or None when the entity is not scoped."""
    model = core.model
    wf = model.workflow
    if wf is None:
        return None
    if entity == wf.entity:
        return case_clause(core, user)
    link = links(model).get(entity)
    if link is None:
        return None
    if sees_all(model, user):
        return true()
    cases = core.orm[wf.entity]
    cls = core.orm[entity]
    kind, names = link
    visible = case_clause(core, user)
    if kind == "child":
        ids = select(cases.id).where(visible)
        return or_(*[getattr(cls, f"{n}_id").in_(ids) for n in names])
    return or_(*[cls.id.in_(select(getattr(cases, f"{n}_id")).where(visible)) for n in names])


def restrict(core, query, user, entity: str | None = None):
    """`query` (a select or ORM query over `entity`, default the workflow entity) kept to the rows
    `user` may see."""
    entity = entity or core.model.workflow.entity
    clause = entity_clause(core, entity, user)
    return query if clause is None else query.filter(clause)


def may_see(core, user, entity: str, pk, session=None) -> bool:
    """Whether row `pk` of `entity` exists and `user` may see it."""
    cls = core.orm[entity]
    session = session or core.db.session
    query = select(cls.id).where(cls.id == pk)
    return session.scalar(restrict(core, query, user, entity)) is not None


def may_act(core, user, row) -> bool:
    """Whether `user` may see and act on this case (or scoped record): the engine and printing ask."""
    entity = getattr(row, "__entity_key__", None) or core.model.workflow.entity
    clause = entity_clause(core, entity, user)
    if clause is None or sees_all(core.model, user):
        return True
    session = object_session(row) or core.db.session
    cls = core.orm[entity]
    return session.scalar(select(cls.id).where(cls.id == row.id, clause)) is not None


def visible_unit(model, user) -> int | None:
    """For unit-wide views (the monthly summary): None when the user sees every unit, else the id of
    their own unit (0 when they have none, which matches nothing)."""
    if sees_all(model, user):
        return None
    return getattr(user, "unit_id", None) or 0
