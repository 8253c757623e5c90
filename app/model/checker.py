"""The shared base of the model checks: Checker, WORKFLOW_COLUMNS and the helpers both check modules use."""
from __future__ import annotations

import difflib
from typing import Iterable

from . import conditions as cond
from .problems import Msg, N_, Problem
from .schema import Model

# Columns the workflow engine adds to its entity; stages may name them as their fields.
WORKFLOW_COLUMNS = {"number", "suspended", "suspended_from", "lock_version"}


class Checker:
    def __init__(self, model: Model, src):
        self.model = model
        self.src = src
        self.problems: list[Problem] = []

    def report(self, path: tuple, code: str, message: str, hint: str = "", key: bool = False, **params):
        line, col = self.src.at(path, key=key)
        self.problems.append(Problem(line, col, code, message, tuple(params.items()), hint))

    def unknown(self, path: tuple, code: str, what: str, name: str, known: Iterable[str], key: bool = False):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=1)
        hint = N_("did you mean '{close}'?") if close else N_("known: {known}")
        self.report(path, code, N_("unknown {what} '{name}'"), hint, key=key, what=what, name=name,
                    close=close[0] if close else "", known=", ".join(known) or "-")


def check_unique(c: Checker, path: tuple, keys: list[str]) -> None:
    for i, key in enumerate(keys):
        if key in keys[:i]:
            c.report(path + (i, "key"), "M212", N_("duplicate key '{name}'"),
                     N_("each key may appear once in this list"), name=key)


def condition_scope(model, extra_functions: dict | None = None):
    """Fields, collections and functions a workflow condition may name."""
    wf = model.workflow
    entity = model.entities.get(wf.entity)

    def infos(fields):
        return {name: cond.FieldInfo(f.type, tuple(ch.value for ch in f.choices or []) or None)
                for name, f in fields.items()}

    fields = infos(entity.fields) if entity else {}
    fields[wf.state_field] = cond.FieldInfo("choice", tuple(wf.stages))
    fields["number"] = cond.FieldInfo("string", None)
    collections = {key: infos(e.fields) for key, e in model.entities.items()
                   if any(f.type == "reference" and f.to == wf.entity for f in e.fields.values())}
    functions = {
        "documents_complete": cond.FunctionInfo(takes_argument=False),
        "has_role": cond.FunctionInfo(takes_argument=True, allowed=tuple(model.roles)),
        "timer_overdue": cond.FunctionInfo(takes_argument=True, allowed=tuple(model.timers)),
        "timer_status": cond.FunctionInfo(takes_argument=True, allowed=tuple(model.timers)),
    }
    functions.update(extra_functions or {})
    return fields, collections, functions


def check_condition(c: Checker, path: tuple, text: str, scope) -> None:
    line, col = c.src.at(path)
    try:
        parsed = cond.parse(text)
    except cond.ConditionSyntaxError as exc:
        detail = Msg(exc.message_template, tuple(exc.params.items()))
        if exc.column is not None:
            detail = Msg(N_("{detail} (column {column})"), (("detail", detail), ("column", exc.column)))
        c.problems.append(Problem(line, col, "M207", N_("condition '{text}': {detail}"),
                                  (("text", text), ("detail", detail)),
                                  N_("see the condition language in README.md")))
        return
    for problem in cond.check(parsed, *scope):
        params = tuple(problem.params.items())
        hint = Msg(problem.hint_template, params) if problem.hint_template else \
            Msg(N_("see the condition language in README.md"))
        c.problems.append(Problem(line, col, "M208", N_("condition '{text}': {detail}"),
                                  (("text", text), ("detail", Msg(problem.message_template, params)),
                                   ("hint", hint)), N_("{hint}")))
