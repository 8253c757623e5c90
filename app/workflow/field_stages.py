"""Which stage fills each field of the case, from the model: the case page groups its fields by it."""
from __future__ import annotations

from typing import Iterable

from app.model.checks_workflow import transition_sources


def filled_at(workflow) -> dict[str, str]:
    """{field: stage key} for every field some stage fills: the first stage, in the declared order,
    whose `editable` or `fields` list names it or from which a step (its `fields` or `set`) writes it.
    Fields no stage names (those entered on creation) are left out: they belong to the initial stage.
    A step's fields belong to its source stage: the work is done there, saved when it is left."""
    sources: dict[str, list[str]] = {}
    for t in workflow.transitions:
        names = list(t.fields) + list(t.set)
        for source in transition_sources(t, workflow.stages):
            sources.setdefault(source, []).extend(names)
    out: dict[str, str] = {}
    for key, stage in workflow.stages.items():
        for name in list(stage.editable) + list(stage.fields) + sources.get(key, []):
            out.setdefault(name, key)
    return out


def field_groups(workflow, columns: Iterable[str]) -> list[tuple[str, list[str]]]:
    """`columns` (in their order) grouped by the stage that fills them, in stage order; columns no
    stage fills join the initial stage's group first. Stages that fill none of them have no group."""
    stage_of = filled_at(workflow)
    initial = next((k for k, s in workflow.stages.items() if s.initial), next(iter(workflow.stages)))
    groups: dict[str, list[str]] = {key: [] for key in workflow.stages}
    for name in columns:
        groups[stage_of.get(name, initial)].append(name)
    return [(key, names) for key, names in groups.items() if names]

