"""Joint decisions: the parties that sign a step off before it completes, and whether one may sign now.

A party is one string, "unit:<key>" (any staff member of that unit signs for it) or "role:<key>"
(anyone holding the role). Which parties have signed is the host's knowledge (the case history);
it answers through `functions["signed_off"](trigger)` when a step is decided, or passes `signed`
when a signature is. Pure: no database, no Flask.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable, Mapping

from .decision import (
    ALREADY_SIGNED, NO_SIGNOFFS, NOT_A_SIGNER, SIGNED_OFF, SUSPENDED, UNKNOWN_TRIGGER, WRONG_STAGE, Decision,
    TransitionSpec,
)

if TYPE_CHECKING:
    from .machine import Workflow

_EMPTY: Mapping = MappingProxyType({})


def key(party) -> str:
    """A model `signoffs:` entry ({unit: x} or {role: y}) as one string."""
    return f"unit:{party.unit}" if party.unit else f"role:{party.role}"


def unsigned(spec: TransitionSpec, functions: Mapping | None, signed: Iterable[str] | None = None) -> tuple[str, ...]:
    """The parties of `spec` that have not signed, in model order."""
    if not spec.signoffs:
        return ()
    if signed is None:
        host = (functions or _EMPTY).get(SIGNED_OFF)
        signed = host(spec.trigger) if host is not None else ()
    done = set(signed)
    return tuple(k for k in spec.signoffs if k not in done)


def can_sign_off(wf: Workflow, trigger: str, *, stage: str, suspended: bool, roles: set[str], unit: str | None,
                 signed: Iterable[str] = ()) -> Decision:
    """One signature: refused (unknown trigger, wrong stage, a step without sign-offs, suspended, not a
    listed party, already signed) or ok with `decision.signoffs` = the parties it records (every
    unsigned party the user stands for) and `missing_signoffs` = those still missing after it."""
    if trigger not in wf.triggers:
        return Decision(trigger, stage, (UNKNOWN_TRIGGER,))
    try:
        spec = wf.transition(trigger, stage)
    except KeyError:
        return Decision(trigger, stage, (WRONG_STAGE,), allowed_stages=wf.sources_of(trigger))
    if not spec.signoffs:
        return Decision(trigger, stage, (NO_SIGNOFFS,), dest=spec.dest, transition=spec)
    open_ = unsigned(spec, None, signed)
    if suspended:
        return Decision(trigger, stage, (SUSPENDED,), dest=spec.dest, missing_signoffs=open_, transition=spec)
    mine = tuple(k for k in spec.signoffs if k == f"unit:{unit}" or (k.startswith("role:") and k[5:] in roles))
    if not mine:
        return Decision(trigger, stage, (NOT_A_SIGNER,), dest=spec.dest, missing_signoffs=open_, transition=spec,
                        allowed_roles=tuple(k[5:] for k in spec.signoffs if k.startswith("role:")))
    todo = tuple(k for k in mine if k in open_)
    if not todo:
        return Decision(trigger, stage, (ALREADY_SIGNED,), dest=spec.dest, missing_signoffs=open_, transition=spec)
    return Decision(trigger, stage, dest=spec.dest, signoffs=todo, transition=spec,
                    missing_signoffs=tuple(k for k in open_ if k not in todo))


def label(model, party: str, english: bool = False) -> str:
    """A party as people call it: the unit's name or the role's label (the key itself if unknown)."""
    kind, _, name = party.partition(":")
    if kind == "unit":
        unit = next((u for u in model.units if u.key == name), None)
        return (unit.name_en if english else unit.name_zh) if unit else name
    role = model.roles.get(name)
    return (role.label_en if english else role.label_zh) if role else name
