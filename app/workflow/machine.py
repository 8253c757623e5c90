"""The pure workflow core: may this step happen now, where does it lead, what does it save.

No Flask, no SQLAlchemy: the DB layer loads the application row, calls `Workflow.decide()`,
maps a refusal to an HTTP status (`HTTP_STATUS`), and on success saves `decision.changes`
and `decision.dest` as the last act of its transaction. Nothing here has side effects: the
`transitions` machine has no callbacks (if an on_enter callback raised, transitions would
keep the new state anyway), it only confirms that a stage move is declared.

One `transitions.Machine` is built per model. When the workflow is built, every declared move
(trigger, source) is fired once on a short-lived plain object added to the machine (`add_model`)
and removed again (`remove_model`: the machine keeps strong references to its models); the stage
it reaches is kept in a read-only table. Decisions read that table: nothing shared changes per
request, so there is no process-wide lock and threads decide in parallel. `auto_transitions` is
off, so the transient object has no `to_<stage>()` back door.

Order of checks in `decide()` (the first failing group wins):

===================  ====  =========================================================
kind                 HTTP  meaning
===================  ====  =========================================================
unknown_trigger      409   no transition of the model has this trigger
wrong_stage          409   the trigger is not declared from this stage
                           (`allowed_stages` lists where it is)
suspended            409   the application is suspended; only resume is allowed
wrong_role           403   none of the user's roles may fire it (`allowed_roles`)
unknown_data_field   422   data names fields the transition does not take
missing_fields       422   required fields are empty in record ∪ data ∪ set
guard_failed         422   conditions are false (`failed_conditions`, canonical text)
signoffs_missing     422   parties of a joint decision have not signed (`missing_signoffs`)
comment_required     422   the transition needs a comment and none was given
===================  ====  =========================================================

Joint decisions (`signoffs:` of a transition) are parties "unit:<key>" or "role:<key>" that sign
before the step completes. The host says who signed among `functions`: `functions["signed_off"]
(trigger)` returns the parties recorded since the application entered its stage (none when the
function is absent). `can_sign_off()` decides one signature: `no_signoffs` (409) when the step
takes none, `not_a_signer` (403) when the user is neither in a listed unit nor holds a listed
role, `already_signed` (409); `decision.signoffs` are the parties the signature records.
Required fields may depend on the record (`required_when:`), and the document rules of the model
are compiled here too (`documents`, see app.workflow.documents).

The 422 kinds are collected together: `decision.kinds` lists every one that applies and
`decision.kind` is the first of them. The suspension helpers also use `not_suspended` (409)
and `unknown_reason` (422). The kinds, `Decision`, `TransitionSpec` and `WorkflowError` live in
app.workflow.decision and the SVG layout in app.workflow.diagram; this module re-exports the former.
"""
from __future__ import annotations

import contextlib
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping

from transitions import Machine

from app.model import conditions as cond
from app.model.checker import WORKFLOW_COLUMNS

from .decision import (  # noqa: F401 (ALREADY_SIGNED..SIGNED_OFF re-exported for the engine)
    ALREADY_SIGNED, CANCEL, COMMENT_REQUIRED, GUARD_FAILED, HTTP_STATUS, MISSING_FIELDS, NO_SIGNOFFS, NOT_A_SIGNER,
    NOT_SUSPENDED, RESUME, SIGNED_OFF, SIGNOFFS_MISSING, SUSPEND, SUSPENDED, UNKNOWN_DATA_FIELD, UNKNOWN_REASON,
    UNKNOWN_TRIGGER, WRONG_ROLE, WRONG_STAGE, Decision, TransitionSpec, WorkflowError,
)
from . import signoff
from .diagram import workflow_svg
from .documents import DocumentRules

__all__ = [
    "ALREADY_SIGNED", "COMMENT_REQUIRED", "GUARD_FAILED", "HTTP_STATUS", "MISSING_FIELDS", "NO_SIGNOFFS",
    "NOT_A_SIGNER", "NOT_SUSPENDED", "SIGNED_OFF", "SIGNOFFS_MISSING", "SUSPENDED", "UNKNOWN_DATA_FIELD",
    "UNKNOWN_REASON", "UNKNOWN_TRIGGER", "WRONG_ROLE", "WRONG_STAGE",
    "Decision", "TransitionSpec", "Workflow", "WorkflowError",
]

_EMPTY: Mapping = MappingProxyType({})


class _Transient:
    """What the shared machine moves during one check; transitions gives it `state` and triggers."""


def _sources(transition, stages: Mapping[str, Any]) -> tuple[str, ...]:
    """Like checks_workflow.transition_sources, and a "*" inside a list expands too."""
    raw = [transition.source] if isinstance(transition.source, str) else list(transition.source)
    out: list[str] = []
    for src in raw:
        expanded = [k for k, s in stages.items() if not s.terminal] if src == "*" else [src]
        out += [k for k in expanded if k not in out]
    return tuple(out)


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, tuple, set, frozenset, dict)) and not value


def _roles(roles: Iterable[str]) -> set[str]:
    """The user's roles as a set; a single role given as a string is not split into letters."""
    return {roles} if isinstance(roles, str) else set(roles)


def _ordered(items: Iterable[str], order: Iterable[str]) -> tuple[str, ...]:
    items = set(items)
    return tuple(k for k in order if k in items)


class Workflow:
    """The stages and transitions of one loaded model, and the shared machine that moves them."""

    def __init__(self, model):
        wf = model.workflow
        if wf is None:
            raise ValueError("the model has no workflow section")
        self.model = model
        self.definition = wf
        self.state_field: str = wf.state_field
        self.stages: Mapping[str, Any] = MappingProxyType(dict(wf.stages))
        initial = [k for k, s in wf.stages.items() if s.initial]
        if len(initial) != 1:
            raise ValueError(f"exactly one stage must be initial, found {initial}")
        self.initial_stage: str = initial[0]
        self.terminal_stages: tuple[str, ...] = tuple(k for k, s in wf.stages.items() if s.terminal)
        specs = tuple(self._compile(t) for t in wf.transitions)
        self.transitions: tuple[TransitionSpec, ...] = specs
        self._by_key: dict[tuple[str, str], TransitionSpec] = {}
        self._by_trigger: dict[str, list[TransitionSpec]] = {}
        self._by_source: dict[str, list[TransitionSpec]] = {k: [] for k in wf.stages}
        for spec in specs:
            for src in spec.sources:
                if (spec.trigger, src) in self._by_key:
                    raise ValueError(f"trigger '{spec.trigger}' is declared twice from stage '{src}'")
                self._by_key[spec.trigger, src] = spec
                self._by_source[src].append(spec)
            self._by_trigger.setdefault(spec.trigger, []).append(spec)
        self._check_names()
        self.machine = Machine(
            model=None, states=list(wf.stages), initial=self.initial_stage,
            transitions=[{"trigger": s.trigger, "source": list(s.sources), "dest": s.dest} for s in specs],
            auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
        )
        self.documents: DocumentRules | None = DocumentRules(wf.documents, self.initial_stage) if wf.documents else None
        self._moves: Mapping[tuple[str, str], str] = MappingProxyType(self._confirm_moves())

    @classmethod
    def from_model(cls, model) -> Workflow:
        return cls(model)

    # ------------------------------------------------------------ building

    def _compile(self, t) -> TransitionSpec:
        stages = self.definition.stages
        sources = _sources(t, stages)
        for key in sources + (t.dest,):
            if key not in stages:
                raise ValueError(f"transition '{t.trigger}': unknown stage '{key}'")
        protected = WORKFLOW_COLUMNS | {self.state_field}
        for name in list(t.fields) + list(t.set):
            if name in protected:
                raise ValueError(f"transition '{t.trigger}': '{name}' is kept by the workflow engine "
                                 f"and cannot be among its fields or set values")
        compiled, required_when = [], []
        for name, text in [(None, text) for text in t.condition_texts] + list(t.required_when.items()):
            try:
                parsed = cond.parse(text)
            except cond.ConditionSyntaxError as exc:
                raise ValueError(f"transition '{t.trigger}': condition {text!r}: {exc.render()}") from exc
            if name is None:
                compiled.append(parsed)
            else:
                required_when.append((name, text, parsed))
        return TransitionSpec(
            trigger=t.trigger, label_zh=t.label_zh, label_en=t.label_en, sources=sources, dest=t.dest,
            roles=tuple(t.roles), conditions=t.condition_texts, compiled=tuple(compiled),
            messages=tuple((g.message_zh, g.message_en) for g in t.guards),
            fields=tuple(t.fields), required=tuple(t.required), set=MappingProxyType(dict(t.set)),
            comment_required=t.comment_required, required_when=tuple(required_when),
            signoffs=tuple(dict.fromkeys(signoff.key(s) for s in t.signoffs)),
        )

    def _check_names(self) -> None:
        """Trigger names become attributes of the transient model; they must not shadow others."""
        taken = {"state", "trigger", "may_trigger"} | {f"is_{k}" for k in self.stages}
        taken |= {f"may_{t}" for t in self._by_trigger}
        for trigger in self._by_trigger:
            if trigger in taken:
                raise ValueError(f"trigger '{trigger}' clashes with a name the state machine uses")

    # ------------------------------------------------------------ lookups

    def stage(self, key: str):
        """The model's Stage (label_zh, label_en, side, roles, fields, terminal, initial); KeyError if unknown."""
        return self.stages[key]

    def transition(self, trigger: str, source: str) -> TransitionSpec:
        """The transition fired by `trigger` from stage `source`; KeyError if none is declared."""
        return self._by_key[trigger, source]

    def transitions_from(self, stage: str) -> tuple[TransitionSpec, ...]:
        return tuple(self._by_source.get(stage, ()))

    def sources_of(self, trigger: str) -> tuple[str, ...]:
        """Stages the trigger may be fired from, in the model's stage order."""
        return _ordered((s for spec in self._by_trigger.get(trigger, ()) for s in spec.sources), self.stages)

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(self._by_trigger)

    # ------------------------------------------------------------ the machine

    @contextlib.contextmanager
    def transient(self, stage: str) -> Iterator[Any]:
        """A throw-away object in `stage`, in the machine until exit. Not thread-safe: used while the
        workflow is built (and by tests); decisions read the moves confirmed then."""
        if stage not in self.machine.states:
            raise KeyError(stage)
        obj = _Transient()
        self.machine.add_model(obj, initial=stage)
        try:
            yield obj
        finally:
            self.machine.remove_model(obj)

    def _confirm_moves(self) -> dict[tuple[str, str], str]:
        """Each declared (trigger, source) fired once on the machine: the stage it reaches."""
        moves = {}
        for trigger, source in self._by_key:
            with self.transient(source) as obj:
                getattr(obj, trigger)()
                moves[trigger, source] = obj.state
        return moves

    def next_stage(self, trigger: str, stage: str) -> str:
        """Where `trigger` leads from `stage`, as the machine moved it at build time (lock-free)."""
        if trigger not in self.machine.events:
            raise WorkflowError(UNKNOWN_TRIGGER, trigger, stage, f"unknown trigger '{trigger}'")
        if stage not in self.machine.states:
            raise WorkflowError(WRONG_STAGE, trigger, stage, f"unknown stage '{stage}'")
        dest = self._moves.get((trigger, stage))
        if dest is None:
            raise WorkflowError(WRONG_STAGE, trigger, stage, f"trigger '{trigger}' is not declared from stage '{stage}'")
        return dest

    # ------------------------------------------------------------ decisions

    def decide(self, trigger: str, *, stage: str, suspended: bool, roles: Iterable[str],
               record: Mapping[str, Any], collections: Mapping[str, list[Mapping[str, Any]]] = _EMPTY,
               functions: Mapping[str, Callable[..., Any]] = _EMPTY, data: Mapping[str, Any] = _EMPTY,
               comment: str | None = None) -> Decision:
        """May a user with `roles` fire `trigger` on an application in `stage` with this form `data`?"""
        if trigger not in self._by_trigger:
            return Decision(trigger, stage, (UNKNOWN_TRIGGER,))
        spec = self._by_key.get((trigger, stage))
        if spec is None:
            return Decision(trigger, stage, (WRONG_STAGE,), allowed_stages=self.sources_of(trigger))
        if suspended:
            return Decision(trigger, stage, (SUSPENDED,), dest=spec.dest, transition=spec)
        if not _roles(roles) & set(spec.roles):
            return Decision(trigger, stage, (WRONG_ROLE,), dest=spec.dest, allowed_roles=spec.roles,
                            transition=spec)
        return self._check(spec, stage, record, collections, functions, data, comment, form=True)

    def available(self, stage: str, suspended: bool, roles: Iterable[str], record: Mapping[str, Any],
                  collections: Mapping[str, list[Mapping[str, Any]]] = _EMPTY,
                  functions: Mapping[str, Callable[..., Any]] = _EMPTY) -> list[tuple[TransitionSpec, Decision]]:
        """Transitions from `stage` that `roles` may fire, in model order, each with its guard result.

        The decisions judge the conditions only (ok or guard_failed, evaluated on the record and
        the `set:` values); required fields and the comment are what the form then asks for.
        Nothing is available while suspended.
        """
        if suspended:
            return []
        roles = _roles(roles)
        return [(spec, self._check(spec, stage, record, collections, functions, _EMPTY, None, form=False))
                for spec in self._by_source.get(stage, ()) if roles & set(spec.roles)]

    def _check(self, spec: TransitionSpec, stage: str, record: Mapping[str, Any], collections, functions,
               data: Mapping[str, Any], comment: str | None, *, form: bool) -> Decision:
        data = data or _EMPTY
        unknown = tuple(k for k in data if k not in spec.fields)
        changes = {k: data[k] for k in spec.fields if k in data}
        changes.update(spec.set)
        merged = dict(record)
        merged.update(changes)
        merged[self.state_field] = stage
        failed: list[str] = []
        failed_guards: list[int] = []
        for index, condition in enumerate(spec.compiled):
            texts = cond.explain(condition, merged, collections or _EMPTY, functions or _EMPTY)
            if texts:
                failed_guards.append(index)
            for text in texts:
                if text not in failed:
                    failed.append(text)
        missing = tuple(f for f in spec.required if _empty(merged.get(f))) if form else ()
        if form:  # required only when their condition holds (e.g. the end date of temporary supply)
            missing += tuple(name for name, _, c in spec.required_when if name not in missing and
                             _empty(merged.get(name)) and cond.evaluate(c, merged, collections or _EMPTY,
                                                                         functions or _EMPTY))
        unsigned = signoff.unsigned(spec, functions)
        no_comment = form and spec.comment_required and _empty(comment)
        kinds = tuple(kind for kind, bad in ((UNKNOWN_DATA_FIELD, unknown), (MISSING_FIELDS, missing),
                                             (GUARD_FAILED, failed), (SIGNOFFS_MISSING, unsigned),
                                             (COMMENT_REQUIRED, no_comment)) if bad)
        dest = spec.dest
        if form and not kinds:
            dest = self.next_stage(spec.trigger, stage)  # the machine, not the spec, confirms the move
        return Decision(spec.trigger, stage, kinds, dest=dest, changes=MappingProxyType(changes),
                        failed_conditions=tuple(failed), failed_guards=tuple(failed_guards), missing_fields=missing,
                        unknown_fields=unknown, missing_signoffs=unsigned, transition=spec)

    # ------------------------------------------------------------ joint decisions, documents

    def can_sign_off(self, trigger: str, *, stage: str, suspended: bool, roles: Iterable[str], unit: str | None,
                     signed: Iterable[str] = ()) -> Decision:
        """May a user with `roles`, of the unit keyed `unit`, sign off `trigger` now? (app.workflow.signoff)"""
        return signoff.can_sign_off(self, trigger, stage=stage, suspended=suspended, roles=_roles(roles),
                                    unit=unit, signed=signed)

    def signoff_label(self, key: str, english: bool = False) -> str:
        """A party of a joint decision as people call it: the unit's name or the role's label."""
        return signoff.label(self.model, key, english)

    def required_documents(self, record: Mapping[str, Any], stage: str | None = None) -> tuple[str, ...]:
        """Document kinds required at `stage` (default: the record's) for this record."""
        if self.documents is None:
            return ()
        return self.documents.required(record, stage if stage is not None else record.get(self.state_field))

    # ------------------------------------------------------------ suspension and cancellation

    @property
    def suspension_reasons(self) -> tuple:
        s = self.definition.suspension
        return tuple(s.reasons) if s else ()

    @property
    def cancellation_reasons(self) -> tuple:
        c = self.definition.cancellation
        return tuple(c.reasons) if c else ()

    @property
    def cancellation_stage(self) -> str | None:
        c = self.definition.cancellation
        return c.stage if c else None

    def can_suspend(self, stage: str, suspended: bool, roles: Iterable[str], reason: str | None = None) -> Decision:
        """Suspension keeps the stage; terminal stages and suspended applications cannot be suspended.
        `reason`, when given, must be one of the model's suspension reasons."""
        s = self.definition.suspension
        if s is None:
            return Decision(SUSPEND, stage, (UNKNOWN_TRIGGER,))
        if stage not in self.stages or self.stages[stage].terminal:
            return Decision(SUSPEND, stage, (WRONG_STAGE,), allowed_stages=self._non_terminal())
        if suspended:
            return Decision(SUSPEND, stage, (SUSPENDED,), dest=stage)
        if not _roles(roles) & set(s.roles):
            return Decision(SUSPEND, stage, (WRONG_ROLE,), dest=stage, allowed_roles=tuple(s.roles))
        if reason is not None and reason not in {r.key for r in s.reasons}:
            return Decision(SUSPEND, stage, (UNKNOWN_REASON,), dest=stage)
        return Decision(SUSPEND, stage, dest=stage)

    def can_resume(self, suspended: bool, roles: Iterable[str]) -> Decision:
        """Resume is allowed to the suspension roles on a suspended application; the stage is unchanged."""
        s = self.definition.suspension
        if s is None:
            return Decision(RESUME, None, (UNKNOWN_TRIGGER,))
        if not suspended:
            return Decision(RESUME, None, (NOT_SUSPENDED,))
        if not _roles(roles) & set(s.roles):
            return Decision(RESUME, None, (WRONG_ROLE,), allowed_roles=tuple(s.roles))
        return Decision(RESUME, None)

    def can_cancel(self, stage: str, roles: Iterable[str], reason: str | None = None) -> Decision:
        """Cancel moves any non-terminal application, suspended or not, to the cancellation stage.
        The DB layer should also clear its suspension when it saves the cancellation."""
        c = self.definition.cancellation
        if c is None:
            return Decision(CANCEL, stage, (UNKNOWN_TRIGGER,))
        if stage not in self.stages or self.stages[stage].terminal:
            return Decision(CANCEL, stage, (WRONG_STAGE,), allowed_stages=self._non_terminal())
        if not _roles(roles) & set(c.roles):
            return Decision(CANCEL, stage, (WRONG_ROLE,), dest=c.stage, allowed_roles=tuple(c.roles))
        if reason is not None and reason not in {r.key for r in c.reasons}:
            return Decision(CANCEL, stage, (UNKNOWN_REASON,), dest=c.stage)
        return Decision(CANCEL, stage, dest=c.stage)

    def _non_terminal(self) -> tuple[str, ...]:
        return tuple(k for k, s in self.stages.items() if not s.terminal)

    # ------------------------------------------------------------ diagram

    english_now = staticmethod(lambda: False)  # the diagram's language by default (set by app.cases.engine)

    def diagram_svg(self, current: str | None = None, english: bool | None = None) -> str:
        """The process as a standalone SVG (no scripts), in English when `english` (default: english_now())."""
        return workflow_svg(self, current, self.english_now() if english is None else english)
