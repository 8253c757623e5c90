"""Whom a fine rule fines on one application: a person by role or field, or a unit resolved per case.

A rule naming a role fines only a person holding it; a unit target with `among` fines only those
units. When nobody fits, nothing is proposed (and the reason is logged): a fine on the wrong person
is worse than none.
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.database.types import id_in
from app.security.user import StaffUser

log = logging.getLogger(__name__)


class TargetMemo:
    """What resolving targets for one batch of applications reads, read once."""

    def __init__(self, app_ids):
        self.app_ids = set(app_ids)
        self.actors: dict[tuple[int, str], int] | None = None
        self.people: dict[int, tuple[int | None, set[str]]] = {}
        self.columns: dict[tuple[int, str], object] = {}


class FineTargets:
    def __init__(self, core):
        self.core = core
        self.model = core.model
        self._unit_ids: dict[str, int] | None = None

    # ------------------------------------------------------------------ units
    def unit_ids(self, session) -> dict[str, int]:
        if self._unit_ids is None:
            unit_cls = self.core.orm["unit"]
            self._unit_ids = dict(session.execute(select(unit_cls.code, unit_cls.id)).all())
        return self._unit_ids

    def unit_code(self, session, unit_id) -> str | None:
        return next((code for code, pk in self.unit_ids(session).items() if pk == unit_id), None)

    # ------------------------------------------------------------------ reading the application
    def _value(self, session, row, name: str, memo: TargetMemo):
        """A reference field's id on `row`; the sweep's narrow rows may lack it: then read it."""
        attr = f"{name}_id"
        if hasattr(row, attr):
            return getattr(row, attr)
        key = (row.id, attr)
        if key not in memo.columns:
            cls = self.core.engine.cls
            ids = memo.app_ids | {row.id}
            query = select(cls.id, getattr(cls, attr)).where(id_in(cls.id, ids, session.get_bind().dialect.name))
            for app_id, value in session.execute(query):
                memo.columns[(app_id, attr)] = value
        return memo.columns.get(key)

    def _person(self, session, user_id: int, memo: TargetMemo) -> tuple[int | None, set[str]]:
        """(unit id, role names) of a person."""
        if user_id not in memo.people:
            user = session.scalars(select(StaffUser).where(StaffUser.id == user_id)
                                   .options(selectinload(StaffUser.roles))).first()
            memo.people[user_id] = (user.unit_id, {r.name for r in user.roles}) if user else (None, set())
        return memo.people[user_id]

    def first_actors(self, session, app_ids) -> dict[tuple[int, str], int]:
        """{(application id, role): the first user who acted on it holding that role}."""
        history = self.core.orm["workflow_history"]
        result: dict[tuple[int, str], int] = {}
        query = (select(history.application_id, history.user_id, history.roles)
                 .where(id_in(history.application_id, app_ids, session.get_bind().dialect.name))
                 .order_by(history.id))
        for app_id, user_id, roles in session.execute(query):
            for role in (roles or "").split(","):
                result.setdefault((app_id, role), user_id)
        return result

    # ------------------------------------------------------------------ resolving
    def resolve(self, session, rule, row, stage: str | None, memo: TargetMemo) -> list[tuple[int | None, int | None]]:
        """[(user id, unit id)] the rule fines on `row`, `stage` being where it happened: one target,
        or one per unit that has not signed a step off; [] when nobody fits."""
        target = rule.target
        if target.unit is not None:
            units = self._units(session, target.unit, row, stage, memo)
            if not units:
                log.info("%s on %s: no unit of the rule is responsible at %s", rule.id, row.id, stage)
            return [(None, unit_id) for unit_id in units]
        person = self.person(session, rule, row, memo)
        return [person] if person is not None else []

    def person(self, session, rule, row, memo: TargetMemo) -> tuple[int | None, int | None] | None:
        target = rule.target
        person = self._value(session, row, target.field, memo) if target.field else None
        if person is None and target.role:
            person = self._by_role(session, target.role, row, memo)
        if person is None:
            log.warning("%s on application %s: nobody to fine", rule.id, row.id)
            return None
        if target.role and target.role not in self._person(session, person, memo)[1]:
            log.warning("%s on application %s: user %s does not hold role %s; nothing proposed",
                        rule.id, row.id, person, target.role)
            return None
        return person, None

    def _by_role(self, session, role: str, row, memo: TargetMemo) -> int | None:
        """The owner for the owner role; else whoever of the role first acted on it; else its creator."""
        definition = self.core.engine.definition
        if role == definition.owner_role and definition.owner_field:
            return self._value(session, row, definition.owner_field, memo)
        if memo.actors is None:
            memo.actors = self.first_actors(session, memo.app_ids | {row.id})
        elif (row.id, role) not in memo.actors and row.id not in memo.app_ids:
            memo.actors.update(self.first_actors(session, [row.id]))
        return memo.actors.get((row.id, role), getattr(row, "created_by_fk", None))

    def _units(self, session, spec, row, stage, memo: TargetMemo) -> list[int]:
        units = self.unit_ids(session)
        if isinstance(spec, str):
            return [units[spec]] if spec in units else []
        source = spec.by_stage.get(stage) if spec.by_stage is not None else spec.field
        if source is None:
            return []
        if isinstance(source, str) and spec.by_stage is not None:
            found = [units.get(source)]
        elif hasattr(source, "unsigned"):
            found = [units.get(code) for code in self._unsigned_units(session, row, stage, source.unsigned)]
        else:
            found = [self._unit_of_field(session, getattr(source, "field", source), row, memo)]
        if spec.among:
            found = [u for u in found if self.unit_code(session, u) in spec.among]
        return [u for u in found if u is not None]

    def _unsigned_units(self, session, row, stage: str, trigger: str) -> list[str]:
        """Units that sign `trigger` off at `stage` and have not yet, in this visit of the stage."""
        signoffs = getattr(self.core, "signoffs", None)
        spec = self.core.engine.spec_for(trigger, stage)
        if signoffs is None or spec is None or getattr(row, self.core.engine.definition.state_field, None) != stage:
            return []  # the round is read while the case still stands there (the sweep)
        signed = set(signoffs.signatures(session, row, trigger))
        return [party[5:] for party in spec.signoffs if party.startswith("unit:") and party not in signed]

    def _unit_of_field(self, session, name: str, row, memo: TargetMemo) -> int | None:
        value = self._value(session, row, name, memo)
        if value is None:
            return None
        spec = self.core.engine.entity.fields[name]
        return self._person(session, value, memo)[0] if spec.to == "user" else value
