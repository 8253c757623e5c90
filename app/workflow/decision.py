"""Outcomes of workflow checks: the refusal kinds and their HTTP status, TransitionSpec, Decision, WorkflowError."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from app.model import conditions as cond

UNKNOWN_TRIGGER = "unknown_trigger"
WRONG_STAGE = "wrong_stage"
SUSPENDED = "suspended"
NOT_SUSPENDED = "not_suspended"
WRONG_ROLE = "wrong_role"
UNKNOWN_DATA_FIELD = "unknown_data_field"
MISSING_FIELDS = "missing_fields"
GUARD_FAILED = "guard_failed"
COMMENT_REQUIRED = "comment_required"
UNKNOWN_REASON = "unknown_reason"
SIGNOFFS_MISSING = "signoffs_missing"
NO_SIGNOFFS = "no_signoffs"
NOT_A_SIGNER = "not_a_signer"
ALREADY_SIGNED = "already_signed"

HTTP_STATUS: Mapping[str, int] = MappingProxyType({
    UNKNOWN_TRIGGER: 409, WRONG_STAGE: 409, SUSPENDED: 409, NOT_SUSPENDED: 409,
    WRONG_ROLE: 403,
    UNKNOWN_DATA_FIELD: 422, MISSING_FIELDS: 422, GUARD_FAILED: 422, COMMENT_REQUIRED: 422,
    UNKNOWN_REASON: 422, SIGNOFFS_MISSING: 422,
    NO_SIGNOFFS: 409, ALREADY_SIGNED: 409, NOT_A_SIGNER: 403,
})

# Pseudo triggers of the helpers; they are not transitions of the model.
SUSPEND, RESUME, CANCEL = "suspend", "resume", "cancel"
#: The host function (among `functions`) that answers, for a trigger, which sign-off parties
#: ("unit:<key>" / "role:<key>") are recorded since the application entered its stage.
SIGNED_OFF = "signed_off"

_EMPTY: Mapping = MappingProxyType({})


class WorkflowError(ValueError):
    """A stage move the machine refuses (kind: unknown_trigger or wrong_stage)."""

    def __init__(self, kind: str, trigger: str, stage: str, message: str):
        self.kind, self.trigger, self.stage = kind, trigger, stage
        super().__init__(message)


@dataclass(frozen=True)
class TransitionSpec:
    """One declared transition, with its conditions parsed once."""

    trigger: str
    label_zh: str
    label_en: str
    sources: tuple[str, ...]  # "*" expanded to the non-terminal stages
    dest: str
    roles: tuple[str, ...]
    conditions: tuple[str, ...]  # as written in model.yaml
    compiled: tuple[cond.Condition, ...] = field(repr=False, compare=False)
    fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    set: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    comment_required: bool = False
    # (field, condition text, parsed condition): the field is required when the condition holds
    required_when: tuple[tuple[str, str, Any], ...] = field(default=(), repr=False, compare=False)
    signoffs: tuple[str, ...] = ()  # parties that sign before the step: "unit:<key>" or "role:<key>"
    # (message_zh, message_en) per condition, (None, None) where the model gives none
    messages: tuple[tuple[str | None, str | None], ...] = field(default=(), repr=False, compare=False)

    @property
    def collections(self) -> tuple[str, ...]:
        """Collections the conditions read: the caller loads only these rows."""
        parsed = list(self.compiled) + [c for _, _, c in self.required_when]
        return tuple(dict.fromkeys(name for c in parsed for name in c.collections()))

    @property
    def functions(self) -> tuple[str, ...]:
        """Host functions the conditions call: the caller must supply these callables."""
        parsed = list(self.compiled) + [c for _, _, c in self.required_when]
        return tuple(dict.fromkeys(name for c in parsed for name, _ in sorted(c.functions(), key=str)))

    @property
    def reflexive(self) -> bool:
        """True when the transition leaves the stage where it stays (e.g. sign_contract)."""
        return self.sources == (self.dest,)


@dataclass(frozen=True)
class Decision:
    """Whether a step may happen; `bool(decision)` is `decision.ok`.

    `kind` is None when ok, else the first of `kinds`. `changes` holds the values to save
    (data restricted to the transition's fields, then its `set:` values) and `dest` the stage
    to save; both are filled whenever the transition is known from this stage.
    """

    trigger: str
    stage: str | None
    kinds: tuple[str, ...] = ()
    dest: str | None = None
    changes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    allowed_stages: tuple[str, ...] = ()
    allowed_roles: tuple[str, ...] = ()
    failed_conditions: tuple[str, ...] = ()
    failed_guards: tuple[int, ...] = ()  # indexes into transition.compiled of the conditions that failed
    missing_fields: tuple[str, ...] = ()
    unknown_fields: tuple[str, ...] = ()
    missing_signoffs: tuple[str, ...] = ()  # parties still to sign before the step may complete
    signoffs: tuple[str, ...] = ()  # a sign-off decision: the parties this signature records
    transition: TransitionSpec | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.kinds

    @property
    def kind(self) -> str | None:
        return self.kinds[0] if self.kinds else None

    @property
    def status(self) -> int:
        """HTTP status the DB layer may answer with: 200 when ok."""
        return 200 if self.ok else HTTP_STATUS[self.kinds[0]]

    def __bool__(self) -> bool:
        return self.ok
