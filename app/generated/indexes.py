"""Indexes the model implies: what lists filter and order by, the to-do, scopes, the deadline sweep.

Declared on the generated tables so that `model apply` (Alembic autogenerate) creates them on both
backends. Indexes only PostgreSQL can use (pg_trgm GIN for "contains" searches) carry
``info={"dialect": "postgresql"}``: the migration skips them elsewhere (app/database/migrate.py)
and creates the pg_trgm extension before them.
"""
from __future__ import annotations

from sqlalchemy import Index

POSTGRESQL_ONLY = {"dialect": "postgresql"}
TRIGRAM_OPS = "gin_trgm_ops"


def wants_index(field) -> bool:
    """A plain index on a field's column: declared (`index: true`) or implied by `search: true`."""
    return bool(field.index or field.search)


def trigram(table: str, column: str) -> Index:
    """A GIN trigram index: `ILIKE '%x%'` (and 'x%') searches on PostgreSQL without a full scan."""
    index = Index(f"ix_{table}_{column}_trgm", column, postgresql_using="gin",
                  postgresql_ops={column: TRIGRAM_OPS}, info=dict(POSTGRESQL_ONLY))
    return index.ddl_if(dialect="postgresql")


def entity_indexes(key: str, entity, order_by: str | None = None) -> list[Index]:
    """Indexes of any generated entity: who created the row (unit scope reads it), the order a list
    opens in, and trigram indexes for the text fields users search in lists."""
    result = [Index(f"ix_{key}_created_by_fk", "created_by_fk")]
    if order_by and order_by in entity.fields and entity.fields[order_by].type != "reference" \
            and not wants_index(entity.fields[order_by]):
        result.append(Index(f"ix_{key}_{order_by}_order", order_by, "id"))
    for name, field in entity.fields.items():
        if field.type == "string" and field.search and field.list:
            result.append(trigram(key, name))
    return result


def case_indexes(key: str, state: str, owner: str | None) -> list[Index]:
    """The workflow entity: a stage filter in number order, a person's cases per stage (to-do),
    the number searched by its digits."""
    result = [Index(f"ix_{key}_{state}_number", state, "number"), trigram(key, "number")]
    if owner:
        result.append(Index(f"ix_{key}_{owner}_{state}", f"{owner}_id", state))
    return result
