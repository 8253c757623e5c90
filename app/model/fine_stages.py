"""Stage sets of fine rules: one stage, a list, or the regulation's "after X" as a range.

"Later in process order" means: declared later under workflow.stages AND reachable from X by the
workflow's transitions. Declaration order alone would count a side branch that never follows X;
reachability alone would count a stage a loop leads back to (a rejected plan returns to drafting,
which is not "after approval"). Suspend, resume and cancel are not transitions: the cancellation
stage never counts as later.
"""
from __future__ import annotations

from collections import deque

from .schema import StageRange


def _successors(workflow) -> dict[str, set[str]]:
    stages = workflow.stages
    out: dict[str, set[str]] = {key: set() for key in stages}
    for t in workflow.transitions:
        sources = [t.source] if isinstance(t.source, str) else list(t.source)
        if "*" in sources:
            sources = [k for k, s in stages.items() if not s.terminal]
        for src in sources:
            if src in out and t.dest in stages:
                out[src].add(t.dest)
    return out


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, deque([start])
    while todo:
        for nxt in graph.get(todo.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def range_bounds(stage_range: StageRange) -> list[str]:
    """The stage names a range mentions (to check that they exist)."""
    return [s for s in (stage_range.after, stage_range.from_, stage_range.before, stage_range.until) if s]


def range_shape_ok(stage_range: StageRange) -> bool:
    """At least one bound; not both lower bounds; not both upper bounds."""
    lower = [s for s in (stage_range.after, stage_range.from_) if s]
    upper = [s for s in (stage_range.before, stage_range.until) if s]
    return bool(lower or upper) and len(lower) <= 1 and len(upper) <= 1


def expand_range(stage_range: StageRange, workflow) -> list[str]:
    """The stages a range stands for, in declaration order (unknown bounds give nothing)."""
    order = list(workflow.stages)
    graph = _successors(workflow)
    result = set(order)
    low = stage_range.after or stage_range.from_
    if low is not None:
        if low not in graph:
            return []
        reach = _reach(graph, low)
        result &= {s for s in order[order.index(low) + 1:] if s in reach}
        if stage_range.from_:
            result.add(low)
    high = stage_range.before or stage_range.until
    if high is not None:
        if high not in graph:
            return []
        reverse: dict[str, set[str]] = {k: set() for k in graph}
        for src, dests in graph.items():
            for dest in dests:
                reverse[dest].add(src)
        leads = _reach(reverse, high)
        upper = {s for s in order[:order.index(high)] if s in leads}
        if stage_range.until:
            upper.add(high)
        result &= upper
    return [s for s in order if s in result]


def expand(stage_set, workflow) -> frozenset[str] | None:
    """A rule's stage set as names; None when the rule names no stage set (any stage)."""
    if stage_set is None:
        return None
    if isinstance(stage_set, str):
        return frozenset([stage_set])
    if isinstance(stage_set, StageRange):
        return frozenset(expand_range(stage_set, workflow))
    return frozenset(stage_set)
