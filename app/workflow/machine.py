"""The pure workflow core: may this step happen now, where does it lead, what does it save.

No Flask, no SQLAlchemy: the DB layer loads the application row, calls `Workflow.decide()`,
maps a refusal to an HTTP status (`HTTP_STATUS`), and on success saves `decision.changes`
and `decision.dest` as the last act of its transaction. Nothing here has side effects: the
`transitions` machine has no callbacks (if an on_enter callback raised, transitions would
keep the new state anyway), it only confirms that a stage move is declared.

One `transitions.Machine` is built per model and shared by every application. A check adds a
short-lived plain object to it (`add_model`) and removes it again (`remove_model`), because
the shared machine keeps strong references to its models. `auto_transitions` is off, so the
transient object has no `to_<stage>()` back door.

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
comment_required     422   the transition needs a comment and none was given
===================  ====  =========================================================

The 422 kinds are collected together: `decision.kinds` lists every one that applies and
`decision.kind` is the first of them. The suspension helpers also use `not_suspended` (409)
and `unknown_reason` (422).
"""
from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping
from xml.sax.saxutils import escape, quoteattr

from transitions import Machine, MachineError

from app.model import conditions as cond
from app.model.checks import WORKFLOW_COLUMNS

__all__ = [
    "COMMENT_REQUIRED", "GUARD_FAILED", "HTTP_STATUS", "MISSING_FIELDS", "NOT_SUSPENDED", "SUSPENDED",
    "UNKNOWN_DATA_FIELD", "UNKNOWN_REASON", "UNKNOWN_TRIGGER", "WRONG_ROLE", "WRONG_STAGE",
    "Decision", "TransitionSpec", "Workflow", "WorkflowError",
]

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

HTTP_STATUS: Mapping[str, int] = MappingProxyType({
    UNKNOWN_TRIGGER: 409, WRONG_STAGE: 409, SUSPENDED: 409, NOT_SUSPENDED: 409,
    WRONG_ROLE: 403,
    UNKNOWN_DATA_FIELD: 422, MISSING_FIELDS: 422, GUARD_FAILED: 422, COMMENT_REQUIRED: 422,
    UNKNOWN_REASON: 422,
})

# Pseudo triggers of the helpers; they are not transitions of the model.
SUSPEND, RESUME, CANCEL = "suspend", "resume", "cancel"

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

    @property
    def collections(self) -> tuple[str, ...]:
        """Collections the conditions read: the caller loads only these rows."""
        return tuple(dict.fromkeys(name for c in self.compiled for name in c.collections()))

    @property
    def functions(self) -> tuple[str, ...]:
        """Host functions the conditions call: the caller must supply these callables."""
        return tuple(dict.fromkeys(name for c in self.compiled for name, _ in sorted(c.functions(), key=str)))

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
    missing_fields: tuple[str, ...] = ()
    unknown_fields: tuple[str, ...] = ()
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
        self._lock = threading.RLock()
        self.machine = Machine(
            model=None, states=list(wf.stages), initial=self.initial_stage,
            transitions=[{"trigger": s.trigger, "source": list(s.sources), "dest": s.dest} for s in specs],
            auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
        )

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
        compiled = []
        for text in t.conditions:
            try:
                compiled.append(cond.parse(text))
            except cond.ConditionSyntaxError as exc:
                raise ValueError(f"transition '{t.trigger}': condition {text!r}: {exc.render()}") from exc
        return TransitionSpec(
            trigger=t.trigger, label_zh=t.label_zh, label_en=t.label_en, sources=sources, dest=t.dest,
            roles=tuple(t.roles), conditions=tuple(t.conditions), compiled=tuple(compiled),
            fields=tuple(t.fields), required=tuple(t.required), set=MappingProxyType(dict(t.set)),
            comment_required=t.comment_required,
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
        """A throw-away object in `stage`, added to the shared machine and removed on exit."""
        if stage not in self.machine.states:
            raise KeyError(stage)
        obj = _Transient()
        with self._lock:
            self.machine.add_model(obj, initial=stage)
            try:
                yield obj
            finally:
                self.machine.remove_model(obj)

    def next_stage(self, trigger: str, stage: str) -> str:
        """The stage `trigger` leads to from `stage`, as the machine moves it; WorkflowError if not declared."""
        if trigger not in self.machine.events:
            raise WorkflowError(UNKNOWN_TRIGGER, trigger, stage, f"unknown trigger '{trigger}'")
        if stage not in self.machine.states:
            raise WorkflowError(WRONG_STAGE, trigger, stage, f"unknown stage '{stage}'")
        with self.transient(stage) as obj:
            try:
                getattr(obj, trigger)()
            except MachineError:
                raise WorkflowError(WRONG_STAGE, trigger, stage,
                                    f"trigger '{trigger}' is not declared from stage '{stage}'") from None
            return obj.state

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
        for condition in spec.compiled:
            for text in cond.explain(condition, merged, collections or _EMPTY, functions or _EMPTY):
                if text not in failed:
                    failed.append(text)
        missing = tuple(f for f in spec.required if _empty(merged.get(f))) if form else ()
        no_comment = form and spec.comment_required and _empty(comment)
        kinds = tuple(kind for kind, bad in ((UNKNOWN_DATA_FIELD, unknown), (MISSING_FIELDS, missing),
                                             (GUARD_FAILED, failed), (COMMENT_REQUIRED, no_comment)) if bad)
        dest = spec.dest
        if form and not kinds:
            dest = self.next_stage(spec.trigger, stage)  # the machine, not the spec, confirms the move
        return Decision(spec.trigger, stage, kinds, dest=dest, changes=MappingProxyType(changes),
                        failed_conditions=tuple(failed), missing_fields=missing, unknown_fields=unknown,
                        transition=spec)

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

    def diagram_svg(self, current: str | None = None) -> str:
        """The process as a standalone SVG (no scripts): stages in model order, snaking 4 per row."""
        return _Diagram(self).render(current)


# ---------------------------------------------------------------- SVG diagram

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_COLS, _BOX_W, _BOX_H, _GAP_X, _GAP_Y = 4, 150, 48, 70, 84
_LEFT, _TOP = 50, 56
_LANES = (0, -8, 8, -16, 16, -24, 24, -32, 32)
_PORTS = (-34, 34, -54, 54, -24, 24, 0)  # clear of the ±12 lanes of column neighbours
_FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, Source Han Sans SC, sans-serif"
_STYLE = {
    "utility": ("#eaf2fb", "#4a6fa5"),
    "customer": ("#fdf0dc", "#c7832b"),
}
_CURRENT = "#d62728"
_EDGE = "#5b6770"


def _text(value: str) -> str:
    return escape(_XML_INVALID.sub("", value))


def _attr(value: str) -> str:
    return quoteattr(_XML_INVALID.sub("", value))


def _width(text: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E7F else size * 0.58 for ch in text)


def _wrap(text: str, size: float, room: float, max_lines: int = 2) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if _width(line + ch, size) > room and line:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and _width(last + "…", size) > room:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


class _Diagram:
    def __init__(self, wf: Workflow):
        self.wf = wf
        self.keys = list(wf.stages)
        self.rows = (len(self.keys) + _COLS - 1) // _COLS
        self.pos: dict[str, tuple[int, int]] = {}
        for i, key in enumerate(self.keys):
            row, c = divmod(i, _COLS)
            self.pos[key] = (row, c if row % 2 == 0 else _COLS - 1 - c)
        self.channel_use: dict[int, int] = {}
        self.gutter_use: dict[int, int] = {}
        self.port_use: dict[tuple[str, str], int] = {}

    # geometry
    def box(self, key: str) -> tuple[float, float]:
        row, col = self.pos[key]
        return _LEFT + col * (_BOX_W + _GAP_X), _TOP + row * (_BOX_H + _GAP_Y)

    def centre(self, key: str) -> tuple[float, float]:
        x, y = self.box(key)
        return x + _BOX_W / 2, y + _BOX_H / 2

    def channel(self, index: int) -> float:
        """y of the horizontal channel above row `index` (index == rows: below the last row)."""
        n = self.channel_use.get(index, 0)
        self.channel_use[index] = n + 1
        return _TOP + index * (_BOX_H + _GAP_Y) - _GAP_Y / 2 + _LANES[n % len(_LANES)]

    def gutter(self, index: int) -> float:
        """x of the vertical gutter left of column `index` (index == _COLS: right of the last)."""
        n = self.gutter_use.get(index, 0)
        self.gutter_use[index] = n + 1
        return _LEFT + index * (_BOX_W + _GAP_X) - _GAP_X / 2 + _LANES[n % len(_LANES)] * 0.8

    def port(self, key: str, side: str) -> float:
        n = self.port_use.get((key, side), 0)
        self.port_use[key, side] = n + 1
        return self.centre(key)[0] + _PORTS[n % len(_PORTS)]

    def route(self, src: str, dest: str) -> list[tuple[float, float]]:
        (sr, sc), (dr, dc) = self.pos[src], self.pos[dest]
        (sx, sy), (dx, dy) = self.box(src), self.box(dest)
        (scx, scy), (dcx, dcy) = self.centre(src), self.centre(dest)
        if sr == dr and abs(sc - dc) == 1:  # neighbours in a row: straight, two lanes by direction
            y = scy - 8 if dc > sc else scy + 8
            return [(sx + _BOX_W if dc > sc else sx, y), (dx if dc > sc else dx + _BOX_W, y)]
        if sc == dc and abs(sr - dr) == 1:  # neighbours in a column
            x = scx - 12 if dr > sr else scx + 12
            return [(x, sy + _BOX_H if dr > sr else sy), (x, dy if dr > sr else dy + _BOX_H)]
        down = dr >= sr
        out_x = self.port(src, "bottom" if down else "top")
        start = (out_x, sy + _BOX_H if down else sy)
        ch = self.channel(sr + 1 if down else sr)
        points = [start, (out_x, ch)]
        if dr == sr or abs(dr - sr) == 1:
            in_side = "bottom" if dr == sr or not down else "top"
        else:
            g = self.gutter(dc if out_x <= dcx else dc + 1)
            ch = self.channel(dr if down else dr + 1)
            points += [(g, points[-1][1]), (g, ch)]
            in_side = "top" if down else "bottom"
        in_x = self.port(dest, in_side)
        end = (in_x, dy if in_side == "top" else dy + _BOX_H)
        points += [(in_x, points[-1][1]), end]
        return points

    def loop(self, key: str) -> str:
        x, y = self.box(key)
        a, b = x + _BOX_W - 40, x + _BOX_W - 14
        return f"M{a:.1f},{y:.1f} C{a - 4:.1f},{y - 30:.1f} {b + 4:.1f},{y - 30:.1f} {b:.1f},{y:.1f}"

    # drawing
    def render(self, current: str | None) -> str:
        wf = self.wf
        width = _LEFT * 2 + _COLS * _BOX_W + (_COLS - 1) * _GAP_X
        legend_y = _TOP + self.rows * (_BOX_H + _GAP_Y) - _GAP_Y / 2 + 40
        height = legend_y + 30
        title = f"{wf.model.app.name_zh} · {wf.model.entities[wf.definition.entity].label_zh}流程" \
            if wf.definition.entity in wf.model.entities else wf.model.app.name_zh
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'font-family={_attr(_FONT)} aria-label={_attr(title)}>',
            f"<title>{_text(title)}</title>",
            "<defs>",
            f'<marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{_EDGE}"/></marker>',
            "</defs>",
            f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        ]
        edges: dict[tuple[str, str], list[TransitionSpec]] = {}
        for spec in wf.transitions:
            for src in spec.sources:
                edges.setdefault((src, spec.dest), []).append(spec)
        out.append('<g class="edges" fill="none">')
        for (src, dest), specs in edges.items():
            label = "；".join(f"{s.label_zh} ({s.trigger})" for s in specs)
            triggers = " ".join(s.trigger for s in specs)
            if src == dest:
                d, cls = self.loop(src), "edge reflexive"
            else:
                d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in self.route(src, dest))
                cls = "edge"
            out.append(f'<g class="{cls}" data-source={_attr(src)} data-dest={_attr(dest)} '
                       f'data-triggers={_attr(triggers)}><title>{_text(label)}</title>'
                       f'<path d="{d}" stroke="{_EDGE}" stroke-width="1.4" marker-end="url(#wf-arrow)"/></g>')
        out.append("</g>")
        out.append('<g class="stages">')
        for key in self.keys:
            out.append(self.stage(key, key == current))
        out.append("</g>")
        out.append(self.legend(legend_y, width))
        out.append("</svg>")
        return "\n".join(out)

    def stage(self, key: str, is_current: bool) -> str:
        st = self.wf.stages[key]
        fill, stroke = _STYLE.get(st.side, _STYLE["utility"])
        x, y = self.box(key)
        classes = ["stage", f"side-{st.side}"] + (["terminal"] if st.terminal else []) + \
            (["current"] if is_current else [])
        rx = _BOX_H / 2 if st.terminal else 6
        extra = ' aria-current="step"' if is_current else ""
        sw, colour = (3, _CURRENT) if is_current else (1.5, stroke)
        dash = ' stroke-dasharray="5 3"' if st.side == "customer" else ""
        lines = _wrap(st.label_zh, 14, _BOX_W - 14)
        first = y + _BOX_H / 2 + 5 - (len(lines) - 1) * 8
        weight = ' font-weight="bold"' if is_current else ""
        text = "".join(f'<tspan x="{x + _BOX_W / 2:.1f}" y="{first + i * 16:.1f}">{_text(line)}</tspan>'
                       for i, line in enumerate(lines))
        return (f'<g class="{" ".join(classes)}" id={_attr("stage-" + key)} data-stage={_attr(key)}{extra}>'
                f"<title>{_text(st.label_zh)} / {_text(st.label_en)}</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="{rx:.0f}" '
                f'fill="{fill}" stroke="{colour}" stroke-width="{sw}"{dash}/>'
                f'<text text-anchor="middle" font-size="14" fill="#1f2933"{weight}>{text}</text></g>')

    def legend(self, y: float, width: float) -> str:
        items = [("utility", "供电企业环节"), ("customer", "客户环节"), ("current", "当前环节")]
        c = self.wf.definition.cancellation
        note = ""
        if c is not None and c.stage in self.wf.stages:
            note = (f'<text x="{width - _LEFT:.0f}" y="{y:.1f}" text-anchor="end" class="cancel-note">'
                    f"{_text('未办结环节均可撤销至「' + self.wf.stages[c.stage].label_zh + '」')}</text>")
        parts = ['<g class="legend" font-size="12" fill="#1f2933">']
        x = _LEFT
        for kind, label in items:
            fill, stroke = _STYLE.get(kind, ("#ffffff", _CURRENT))
            dash = ' stroke-dasharray="5 3"' if kind == "customer" else ""
            sw = 3 if kind == "current" else 1.5
            parts.append(f'<rect x="{x}" y="{y - 11:.1f}" width="22" height="14" rx="3" fill="{fill}" '
                         f'stroke="{stroke}" stroke-width="{sw}"{dash}/>'
                         f'<text x="{x + 28}" y="{y:.1f}">{_text(label)}</text>')
            x += 130
        parts.append(note + "</g>")
        return "".join(parts)
