"""Checks of what each role sees: row scope of roles, private fields (see app/security/scope.py)."""
from __future__ import annotations

from .checker import Checker
from .problems import N_


def check_scope(c: Checker) -> None:
    m = c.model
    owner = m.workflow.owner_field if m.workflow is not None else None
    for key, role in m.roles.items():
        if role.scope == "all":
            continue
        path = ("roles", key, "scope")
        if key == "admin":
            c.report(path, "M135", N_("the administrator's scope must be 'all'"),
                     N_("remove 'scope' from admin: the administrator sees every case"))
        elif owner is None:
            c.report(path, "M134", N_("scope '{scope}' of role '{name}' needs a workflow with an owner_field"),
                     N_("a case belongs to its owner and to the owner's unit: set workflow.owner_field, "
                        "or give the role 'scope: all'"), scope=role.scope, name=key)
    for key, entity in m.entities.items():
        title = entity.fields.get(entity.title or "")
        if title is not None and title.private:
            c.report(("entities", key, "title"), "M136", N_("the title field '{name}' of '{entity}' is private"),
                     N_("references show the title in API bodies: choose a title that is not private"),
                     name=entity.title, entity=key)
    for key, entity in m.entities.items():
        for i, name in enumerate(entity.display.fields if entity.display else []):
            path = ("entities", key, "display", "fields", i)
            field = entity.fields.get(name)
            if field is None:
                c.unknown(path, "M510", "field", name, entity.fields)
            elif field.type in ("text", "file", "reference", "boolean"):
                c.report(path, "M511", N_("field '{name}' of type {type} cannot name a record"),
                         N_("choose short fields that tell records apart: a name, a phone, a code"),
                         name=name, type=field.type)
