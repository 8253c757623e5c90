"""Which application documents are required now: the model's document rules, judged on a record.

A rule requires one document kind at one stage (default: the workflow's initial stage) when its
condition holds (`when:`, the condition language; none: always). `documents_complete()` in a
guard is true when every kind required at the application's current stage has a received row.
The short form `by_customer_type: {residential: [...]}` is a rule per kind with the condition
`customer_type == <type>` at the initial stage. Pure: no database, no Flask.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from app.model import conditions as cond


@dataclass(frozen=True)
class DocumentRule:
    kind: str
    stage: str
    when: str | None
    holds: Callable[[Mapping[str, Any]], bool]


class DocumentRules:
    """The document requirements of one model, compiled once."""

    def __init__(self, spec, initial_stage: str):
        self.entity: str = spec.entity
        self.kind_field: str = spec.kind_field
        self.received_field: str = spec.received_field
        rules: list[DocumentRule] = []
        fields: set[str] = set()
        for ctype, kinds in spec.by_customer_type.items():
            fields.add("customer_type")
            for kind in kinds:
                rules.append(DocumentRule(kind, initial_stage, f"customer_type == {ctype}",
                                          lambda record, ctype=ctype: record.get("customer_type") == ctype))
        for req in spec.required:
            parsed = cond.parse(req.when) if req.when else None
            if parsed is not None:
                fields |= parsed.fields()
            rules.append(DocumentRule(req.kind, req.stage or initial_stage, req.when,
                                      (lambda record, c=parsed: cond.evaluate(c, record)) if parsed
                                      else (lambda record: True)))
        self.rules: tuple[DocumentRule, ...] = tuple(rules)
        #: fields of the application the conditions read (a caller may load only these)
        self.fields: frozenset[str] = frozenset(fields)
        #: stages at which some document is required
        self.stages: frozenset[str] = frozenset(r.stage for r in rules)

    def required(self, record: Mapping[str, Any], stage: str | None) -> tuple[str, ...]:
        """Kinds required at `stage` for this record, in model order, each once."""
        return tuple(dict.fromkeys(r.kind for r in self.rules if r.stage == stage and r.holds(record)))

    def missing(self, record: Mapping[str, Any], stage: str | None, received: set[str]) -> tuple[str, ...]:
        """Required kinds at `stage` that have no received row."""
        return tuple(k for k in self.required(record, stage) if k not in received)
