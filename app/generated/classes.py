"""SQLAlchemy classes generated from the model's entities, with stable ASCII names."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import registry as orm_registry, relationship

from app.database.types import UTCDateTime, now_utc
from app.model.naming import class_name
from app.generated.indexes import case_indexes, entity_indexes, wants_index
from app.generated.workflow_tables import workflow_classes
from app.security.user import StaffUser


@dataclass
class Orm:
    classes: dict[str, type]
    model: Any

    def __getitem__(self, key: str) -> type:
        return self.classes[key]


def _column(field) -> Column:
    kind = field.type
    if kind == "string":
        type_ = String(field.max_length or 200)
    elif kind == "text":
        type_ = Text()
    elif kind == "integer":
        type_ = Integer()
    elif kind == "decimal":
        type_ = Numeric(field.digits, field.places, asdecimal=True)
    elif kind == "date":
        type_ = Date()
    elif kind == "datetime":
        type_ = UTCDateTime()
    elif kind == "boolean":
        type_ = Boolean()
    elif kind == "choice":
        type_ = String(40)
    elif kind == "file":
        type_ = String(255)
    else:  # pragma: no cover - the checker rejects other types
        raise ValueError(kind)
    default = field.default
    # Required is enforced by forms and the API; the column stays nullable so that a
    # field added to a table that already holds rows migrates without inventing data.
    return Column(type_, nullable=True, unique=field.unique or None, default=default,
                  index=wants_index(field) or None)


def _str(self) -> str:
    if self.__entity_key__ == "unit":  # units read by their model name in the request's language
        from app import i18n

        return i18n.unit_name(self) or f"#{self.id}"
    title = self.__title_field__
    value = getattr(self, title, None) if title else None
    return str(value) if value not in (None, "") else f"#{self.id}"


# One registry per generated model, on FAB's metadata, so FAB's own tables and
# ours share foreign keys and one Alembic comparison.
_current: dict[str, Any] = {}


def build_orm(loaded) -> Orm:
    """Generate (or reuse, when the model text is unchanged) the mapped classes."""
    if _current.get("digest") == loaded.digest:
        return _current["orm"]
    for table in _current.get("tables", []):
        Model.metadata.remove(table)
    model = loaded.model
    reg = orm_registry(metadata=Model.metadata)
    base = reg.generate_base()
    classes: dict[str, type] = {}
    wf = model.workflow
    # Referenced entities first so relationships can name real classes.
    for key in _ordered(model):
        entity = model.entities[key]
        attrs: dict[str, Any] = {
            "__tablename__": key,
            "__title_field__": entity.title,
            "__entity_key__": key,
            "__str__": _str,
            "__repr__": _str,
            "id": Column(Integer, primary_key=True),
            "created_on": Column(UTCDateTime(), default=now_utc),
            "changed_on": Column(UTCDateTime(), default=now_utc, onupdate=now_utc),
            "created_by_fk": Column(Integer, ForeignKey("ab_user.id"), nullable=True),
        }
        for name, field in entity.fields.items():
            if field.type == "reference":
                target = field.to
                target_table = "ab_user" if target == "user" else target
                attrs[f"{name}_id"] = Column(Integer, ForeignKey(f"{target_table}.id"), index=True)
                target_cls = StaffUser if target == "user" else classes[target]
                # Explicit foreign_keys: an entity may reference the same target twice.
                attrs[name] = relationship(target_cls, foreign_keys=[attrs[f"{name}_id"]],
                                           lazy="joined" if field.list else "select")
            else:
                attrs[name] = _column(field)
        if wf is not None and wf.entity == key:
            attrs["number"] = Column(String(20), unique=True, nullable=True)
            # Indexed with the number (case_indexes): a stage filter pages in number order.
            attrs[wf.state_field] = Column(String(40), nullable=False, default=_initial_stage(wf))
            attrs["suspended"] = Column(Boolean, default=False, nullable=False)
            attrs["suspended_from"] = Column(String(40), nullable=True)
            attrs["lock_version"] = Column(Integer, nullable=False, default=1)
            attrs["model_version"] = Column(Integer, nullable=True)  # the model version it was accepted under
            # A stale write (two people on one application) fails instead of overwriting.
            attrs["__mapper_args__"] = {"version_id_col": attrs["lock_version"]}
        indexes = entity_indexes(key, entity, entity.order_by)
        if wf is not None and wf.entity == key:
            indexes += case_indexes(key, wf.state_field, wf.owner_field)
        attrs["__table_args__"] = tuple(indexes)
        classes[key] = type(class_name(key), (base,), attrs)
    if wf is not None:
        classes.update(workflow_classes(base, wf.entity, classes[wf.entity]))
    _current.update(digest=loaded.digest, orm=Orm(classes, model),
                    tables=[cls.__table__ for cls in classes.values()])
    return _current["orm"]


def _initial_stage(wf) -> str:
    return next(k for k, s in wf.stages.items() if s.initial)


def _ordered(model) -> list[str]:
    """Entities in dependency order of their references (cycles are not allowed)."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(key: str) -> None:
        if key in done or key in visiting:
            return
        visiting.add(key)
        for field in model.entities[key].fields.values():
            if field.type == "reference" and field.to in model.entities and field.to != key:
                visit(field.to)
        visiting.discard(key)
        done.append(key)

    for key in model.entities:
        visit(key)
    return done
