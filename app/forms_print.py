"""Printed forms (打印表单): PDFs of an application's forms, print records, verification.

Wired by ``create_app`` with one call, ``init_printing(app, core, appbuilder)``. The screens and
the API live in ``app/views/printing.py``; the templates in ``app/pdf/templates/forms/``.

Which forms exist
    ``model.yaml`` ``forms:``: key -> ``label_zh``/``label_en``, ``stage``, ``roles``, optional
    ``fields`` and ``template`` (default ``forms/<key>.html``). A new form (e.g. a fine notice)
    is one template plus one ``forms:`` entry.

When a form may be printed ("reached")
    A form belongs to the stage whose work it records, and that work is saved when the
    application LEAVES the stage (the step's fields). So a form's stage is reached when:

    * the form has no ``stage``, or its stage is the workflow's ``initial`` stage
      (用电申请表): always;
    * its stage is ``terminal`` (归档): when the application is at that stage now;
    * otherwise: when the workflow history holds a step taken OUT of the stage -- a row of
      kind ``transition`` whose ``from_stage`` is the form's stage. A step that stays in the
      stage counts too (``sign_contract`` fills the contract while at 建立电费账户), while
      suspensions, resumptions, cancellations and prints (``from == to`` rows of other kinds)
      do not: a survey record is refused while the application is still at 现场勘查.

    A refused form is HTTP 409 with a message naming the stage; nothing is recorded.

Who may print
    A user with one of the form's ``roles`` (403 otherwise) who may see the application
    (``can_show`` on its entity).

Layout
    Each template places fields explicitly: ``v.<field>`` (the formatted value), ``kv('<field>')``
    (a label/value pair of cells), ``tick('<field>')``/``tick_cell('<field>')``/``boxes('<field>')``
    (tick boxes of a choice or boolean); see the header of ``forms/_form.html``.
    Every field of the form's stage ``fields`` plus the form's ``fields`` that the template does
    not place (found by reading the template's syntax tree, see :func:`placed_fields`) goes into
    the generic "其他信息" section, so a field added to a stage in model.yaml is printed without
    a template edit. Labels come from model.yaml (label_en when the UI language is English);
    values are formatted: choices by label, dates 2026-11-28, money ¥1,200.00, booleans 是/否,
    references by name.

Print records and verification
    Each print stores a ``print_record`` (code, form, application, printer, time, fingerprint,
    pages) and appends a workflow history row (kind ``print``, no changed fields). The code is
    ``verify.make_code({form, application, print}, key)`` with a key derived from SECRET_KEY;
    the PDF footer carries it with a QR code of ``<host>/verify/<code>``. The fingerprint is
    ``verify.fingerprint`` over the raw values the template actually read while rendering
    (recorded by the wrappers below, not the formatted text, so the UI language does not
    matter), plus the rows of every list it showed. ``/verify/<code>`` renders the form's HTML
    again from today's data (no PDF) and compares the fingerprints.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jinja2 import nodes
from markupsafe import Markup, escape
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, select

from . import i18n
from .orm.generate import now_utc

log = logging.getLogger(__name__)

#: Calls in a form template whose first (string) argument places an application field.
PLACING_CALLS = ("kv", "boxes", "tick", "tick_cell")
#: The template variable holding the application's formatted values.
VALUES_NAME = "v"
PRINT_KIND = "print"
_SECRET_CONTEXT = b"ykt-print-verify-v1:"


# --------------------------------------------------------------------------- errors


class FormRefused(Exception):
    """A print that may not happen: HTTP status and a translated message. Nothing was recorded."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------- table

_record_classes: dict[str, type] = {}


def print_record_class(entity_key: str) -> type:
    """The ``print_record`` table on FAB's ``Model`` metadata (so ``model apply`` creates it)."""
    from flask_appbuilder import Model

    if entity_key in _record_classes:
        cls = _record_classes[entity_key]
        if Model.metadata.tables.get("print_record") is cls.__table__:
            return cls
    existing = Model.metadata.tables.get("print_record")
    if existing is not None:  # another workflow entity in this process (tests): rebuild
        Model.metadata.remove(existing)
    name = "PrintRecord" if not _record_classes else f"PrintRecord{len(_record_classes)}"
    cls = type(name, (Model,), {
        "__tablename__": "print_record",
        "__doc__": "One printed form: what was printed, by whom, when, and a fingerprint of its data.",
        "id": Column(Integer, primary_key=True),
        "code": Column(String(16), nullable=False, unique=True),
        "form": Column(String(40), nullable=False),
        "application_id": Column(Integer, ForeignKey(f"{entity_key}.id"), nullable=False, index=True),
        "printed_by_id": Column(Integer, ForeignKey("ab_user.id"), nullable=True),
        "printed_at": Column(DateTime(timezone=True), nullable=False, default=now_utc),
        "fingerprint": Column(String(64), nullable=False),
        "pages": Column(Integer, nullable=False, default=0),
    })
    _record_classes[entity_key] = cls
    return cls


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    key: str
    template: str
    stage: str | None
    placed: frozenset[str]
    other: tuple[str, ...]  # stage/form fields the template does not place, in model order


def template_name(form_key: str, form) -> str:
    return form.template or f"forms/{form_key}.html"


_placed_cache: dict[tuple[str, float], frozenset[str]] = {}


def placed_fields(template: str) -> frozenset[str]:
    """Application fields a form template places: ``v.f``, ``v['f']``, ``kv('f')``, ``boxes('f')``.

    Read from the Jinja syntax tree of the template and of the ``forms/`` templates it extends
    or includes; cached per file modification time.
    """
    from .pdf.render import TEMPLATE_DIR, environment

    path = TEMPLATE_DIR / template
    mtime = path.stat().st_mtime if path.is_file() else 0.0
    cached = _placed_cache.get((template, mtime))
    if cached is not None:
        return cached
    source, _filename, _uptodate = environment.loader.get_source(environment, template)
    tree = environment.parse(source)
    found: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name) and node.node.name == VALUES_NAME:
            if isinstance(node, nodes.Getattr):
                found.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.add(node.arg.value)
    for call in tree.find_all(nodes.Call):
        if (isinstance(call.node, nodes.Name) and call.node.name in PLACING_CALLS and call.args
                and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str)):
            found.add(call.args[0].value)
    for node in tree.find_all((nodes.Extends, nodes.Include)):
        if isinstance(node.template, nodes.Const) and str(node.template.value).startswith("forms/"):
            found |= placed_fields(node.template.value)
    result = frozenset(found)
    _placed_cache[(template, mtime)] = result
    return result


def layout(model, form_key: str, placed: frozenset[str] | set[str] | None = None) -> Layout:
    """Where each field of a form goes: placed by its template, or in the generic section."""
    form = model.forms[form_key]
    wf = model.workflow
    template = template_name(form_key, form)
    if placed is None:
        placed = placed_fields(template)
    entity = model.entities[wf.entity]
    wanted: list[str] = []
    stage_fields = wf.stages[form.stage].fields if form.stage in wf.stages else []
    for name in list(stage_fields) + list(form.fields):
        if name in entity.fields and name not in wanted:
            wanted.append(name)
    other = tuple(n for n in wanted if n not in placed)
    return Layout(form_key, template, form.stage, frozenset(placed), other)


# --------------------------------------------------------------------------- reached


def reached(model, form, stage_now: str | None, history) -> bool:
    """Whether the application has reached the form's stage (see the module docstring)."""
    wf = model.workflow
    if form.stage is None or form.stage not in wf.stages:
        return True
    stage = wf.stages[form.stage]
    if stage.initial:
        return True
    if stage.terminal:
        return stage_now == form.stage
    return any(h.kind == "transition" and h.from_stage == form.stage for h in history)


# --------------------------------------------------------------------------- values


def _text(value) -> str:
    return "" if value is None else str(value)


def _label(item) -> str:
    return item.label_en if i18n.is_english() else item.label_zh


def display(spec, value, related=None, *, multiline: bool = True):
    """A stored value as it is printed (``related``: the referenced object of a reference)."""
    from flask_babel import gettext

    if value is None or value == "":
        return ""
    kind = spec.type if spec is not None else "string"
    if kind == "choice":
        return next((_label(c) for c in spec.choices or [] if c.value == value), str(value))
    if kind == "boolean":
        return gettext("Yes") if value else gettext("No")
    if kind == "reference":
        return _text(related) if related is not None else f"#{value}"
    if kind == "datetime" or isinstance(value, dt.datetime):
        return i18n.fmt_datetime(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "decimal":
        if spec.format == "money":
            return i18n.fmt_money(value)
        return format(Decimal(value), "f")
    if kind == "file":
        # FAB stores "<uuid>_sep_<original name>"
        return str(value).split("_sep_", 1)[-1]
    text = str(value)
    if kind == "text" and multiline and "\n" in text:
        return Markup("<br/>").join(escape(line) for line in text.splitlines())
    return text


def utc_iso(value: dt.datetime | None) -> str | None:
    """An instant as UTC ISO text: SQLite hands back naive UTC, PostgreSQL the session's zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat()


def raw(spec, value, related=None):
    """What the fingerprint keeps of a value: the stored value; references as [id, name]."""
    if spec is not None and spec.type == "reference" and value is not None:
        return [value, _text(related)]
    if isinstance(value, dt.datetime):
        return utc_iso(value)
    return value


class Recorder:
    """The raw values a template read while rendering; their fingerprint is stored with a print."""

    def __init__(self) -> None:
        self.reads: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, list] = {}

    def note(self, ns: str, name: str, value: Any) -> None:
        if value is None or value == "":
            return  # an empty value the template shows blank adds nothing (keeps old prints valid)
        self.reads.setdefault(ns, {})[name] = value

    def note_list(self, ns: str, ids: list) -> None:
        self.lists[ns] = ids

    def data(self) -> dict:
        return {"values": self.reads, "lists": self.lists}

    def fingerprint(self) -> str:
        from .pdf.verify import fingerprint

        return fingerprint(self.data())


class Values:
    """Formatted values of one row for a template; each value read is recorded (raw)."""

    __slots__ = ("_rec", "_ns", "_display", "_raw")

    def __init__(self, rec: Recorder, ns: str, shown: dict[str, Any], raws: dict[str, Any]):
        self._rec, self._ns, self._display, self._raw = rec, ns, shown, raws

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str):
        if name not in self._display:
            raise KeyError(name)
        self._rec.note(self._ns, name, self._raw.get(name))
        return self._display[name]

    def __contains__(self, name: str) -> bool:
        return name in self._display


class Rows(list):
    """A list of Values shown on a form; iterating or counting it records which rows it has."""

    def __init__(self, rec: Recorder, ns: str, items: list[Values], ids: list):
        super().__init__(items)
        self._rec, self._ns, self._ids = rec, ns, ids

    def _seen(self) -> None:
        self._rec.note_list(self._ns, self._ids)

    def __iter__(self):
        self._seen()
        return super().__iter__()

    def __len__(self) -> int:
        self._seen()
        return super().__len__()

    def __bool__(self) -> bool:
        self._seen()
        return bool(self._ids)


class Lazy:
    """``name.<key>`` computed on first use (related rows, collections)."""

    def __init__(self, make):
        self._make, self._cache = make, {}

    def __getattr__(self, key: str):
        if key.startswith("_"):
            raise AttributeError(key)
        if key not in self._cache:
            value = self._make(key)
            if value is None:
                raise AttributeError(key)
            self._cache[key] = value
        return self._cache[key]

    __getitem__ = __getattr__


# --------------------------------------------------------------------------- the service


@dataclass
class Built:
    """A form's template and context for one application, and what it read."""

    template: str
    context: dict
    recorder: Recorder
    layout: Layout


@dataclass
class PrintResult:
    pdf: bytes
    record: Any
    filename: str
    milliseconds: float = 0.0


@dataclass
class VerifyResult:
    found: bool
    matches: bool = False
    application_no: str = ""
    form_label: str = ""
    printed_at: str = ""
    details: dict = field(default_factory=dict)


def count_pages(pdf: bytes) -> int:
    """Pages of a ReportLab PDF (page objects are never in compressed object streams)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


class Printing:
    """Forms of one loaded model, printed for rows of its workflow entity."""

    def __init__(self, core, record_cls):
        self.core = core
        self.record_cls = record_cls
        #: Feature modules add template data here (e.g. the fines ledger for 考核通知单):
        #: hook(printing, session, row, form_key, recorder) -> dict merged into the context.
        #: Wrap shown rows with :meth:`rows_of` so their values enter the print's fingerprint.
        self.context_hooks: list = []
        #: Other printed documents (考核通知单, 月度考核汇总表) verify through the same page:
        #: verifier(session, code) -> VerifyResult | None.
        self.extra_verifiers: list = []

    # ------------------------------------------------------------------ model
    @property
    def model(self):
        return self.core.model

    @property
    def forms(self) -> dict:
        """The forms printed for one application (others are printed from the fines ledger)."""
        return {k: f for k, f in self.model.forms.items() if f.scope == "application"}

    @property
    def entity_key(self) -> str:
        return self.model.workflow.entity

    def form_label(self, key: str, model=None) -> str:
        form = (model or self.model).forms.get(key)
        return _label(form) if form is not None else key

    def secret(self) -> bytes:
        from flask import current_app

        key = current_app.config.get("SECRET_KEY")
        if not key:
            raise RuntimeError("SECRET_KEY is not set: print verification codes cannot be made")
        key = key if isinstance(key, bytes) else str(key).encode("utf-8")
        # A derived key: never the session-signing key itself, and always 32 bytes.
        return hashlib.sha256(_SECRET_CONTEXT + key).digest()

    # ------------------------------------------------------------------ who, when
    def roles_allowed(self, key: str, user) -> bool:
        roles = {r.name for r in getattr(user, "roles", [])}
        return bool(roles & set(self.forms[key].roles))

    def history(self, session, row) -> list:
        return self.core.engine.history(session, row)

    def is_reached(self, session, row, key: str, history=None, model=None) -> bool:
        model = model or self.model
        stage = getattr(row, model.workflow.state_field)
        return reached(model, model.forms[key], stage,
                       self.history(session, row) if history is None else history)

    def refusal_not_reached(self, key: str) -> FormRefused:
        from flask_babel import gettext as _

        form = self.forms[key]
        stage = self.model.workflow.stages.get(form.stage)
        stage_label = self.core.engine.stage_label(form.stage)
        if stage is not None and stage.terminal:
            message = _("%(form)s cannot be printed yet: it is printed once the application is at %(stage)s.",
                        form=self.form_label(key), stage=stage_label)
        else:
            message = _("%(form)s cannot be printed yet: it is printed once the stage %(stage)s is completed.",
                        form=self.form_label(key), stage=stage_label)
        return FormRefused(409, message)

    def check(self, session, row, key: str, user) -> None:
        """Raise FormRefused unless ``user`` may print form ``key`` of ``row`` now."""
        from flask_babel import gettext as _

        if key not in self.forms:
            raise FormRefused(404, _("There is no form named %(form)s.", form=key))
        if row is None:
            raise FormRefused(404, _("Application not found."))
        if not self.roles_allowed(key, user):
            roles = "、".join(_label(self.model.roles[r]) for r in self.forms[key].roles if r in self.model.roles)
            raise FormRefused(403, _("Only %(roles)s may print %(form)s.", roles=roles, form=self.form_label(key)))
        if not self.is_reached(session, row, key):
            raise self.refusal_not_reached(key)

    def printable(self, session, row, user) -> list[tuple[str, str]]:
        """(key, label) of the forms ``user`` may print for ``row`` now."""
        history = self.history(session, row)
        return [(key, self.form_label(key)) for key in self.forms
                if self.roles_allowed(key, user) and self.is_reached(session, row, key, history)]

    def status(self, session, row, user) -> list[dict]:
        """Every form with whether the user may print it now, and why not."""
        history = self.history(session, row)
        result = []
        for key, form in self.forms.items():
            allowed = self.roles_allowed(key, user)
            is_reached = self.is_reached(session, row, key, history)
            result.append({"form": key, "label": self.form_label(key), "stage": form.stage,
                           "allowed": allowed, "reached": is_reached, "printable": allowed and is_reached})
        return result

    # ------------------------------------------------------------------ data
    def build(self, session, row, key: str, *, model=None, exclude_print_id: int | None = None) -> Built:
        """Template and context of form ``key`` for ``row`` (no print metadata yet)."""
        from flask_babel import gettext as _

        model = model or self.model
        wf = model.workflow
        form = model.forms[key]
        lay = layout(model, key)
        entity = model.entities[wf.entity]
        rec = Recorder()

        shown, raws, labels = self._row_values(entity, row)
        shown.update(number=row.number, stage=self.core.engine.stage_label(getattr(row, wf.state_field)))
        raws.update(number=row.number, stage=getattr(row, wf.state_field))
        values = Values(rec, wf.entity, shown, raws)

        def related(name: str):
            spec = entity.fields.get(name)
            if spec is None or spec.type != "reference" or spec.to not in model.entities:
                return None
            obj = getattr(row, name, None)
            if obj is None:
                return Values(rec, f"{name}#", {n: "" for n in model.entities[spec.to].fields}, {})
            s, r, _l = self._row_values(model.entities[spec.to], obj)
            return Values(rec, f"{name}#{obj.id}", s, r)

        def related_labels(name: str):
            spec = entity.fields.get(name)
            if spec is None or spec.type != "reference" or spec.to not in model.entities:
                return None
            return {n: _label(f) for n, f in model.entities[spec.to].fields.items()}

        def collection(child: str, **where) -> Rows:
            return self._collection(session, model, row, rec, child, where)

        def boxes(name: str) -> list[tuple[str, bool]]:
            spec = entity.fields[name]
            value = getattr(row, f"{name}_id" if spec.type == "reference" else name)
            rec.note(wf.entity, name, raws.get(name))
            if spec.type == "boolean":
                return [(_("Yes"), value is True), (_("No"), value is False)]
            return [(_label(c), c.value == value) for c in spec.choices or []]

        other = []
        for name in lay.other:
            rec.note(wf.entity, name, raws.get(name))
            spec = entity.fields[name]
            other.append((labels[name], display(spec, getattr(row, f"{name}_id" if spec.type == "reference" else name),
                                                getattr(row, name, None) if spec.type == "reference" else None,
                                                multiline=False)))

        context = {
            "v": values, "l": labels, "r": Lazy(related), "rl": Lazy(related_labels),
            "rows": Lazy(lambda child: collection(child) if self._link(model, child) else None),
            "rows_where": collection, "boxes": boxes,
            "el": Lazy(lambda ent: {n: _label(f) for n, f in model.entities[ent].fields.items()}
                       if ent in model.entities else None),
            "steps": self._steps(session, row, form.stage, rec),
            "prints": self._prints(session, row, key, rec, model, exclude_print_id),
            "other": other,
            "form_title": _label(form), "form_key": key,
            "stage_label": self.core.engine.stage_label,
        }
        for hook in self.context_hooks:
            context.update(hook(self, session, row, key, rec))
        return Built(lay.template, context, rec, lay)

    def rows_of(self, rec: Recorder, ns: str, items: list[tuple[Any, dict[str, Any], dict[str, Any]]]) -> Rows:
        """Rows for a template from (id, formatted values, raw values) triples, recorded under ``ns``."""
        return Rows(rec, ns, [Values(rec, f"{ns}#{pk}", shown, raws) for pk, shown, raws in items],
                    [pk for pk, _s, _r in items])

    def _row_values(self, entity, obj) -> tuple[dict, dict, dict]:
        shown, raws, labels = {}, {}, {}
        for name, spec in entity.fields.items():
            stored = getattr(obj, f"{name}_id" if spec.type == "reference" else name, None)
            target = getattr(obj, name, None) if spec.type == "reference" and stored is not None else None
            shown[name] = display(spec, stored, target)
            raws[name] = raw(spec, stored, target)
            labels[name] = _label(spec)
        return shown, raws, labels

    def _link(self, model, child: str) -> str | None:
        if child not in model.entities:
            return None
        return next((n for n, f in model.entities[child].fields.items()
                     if f.type == "reference" and f.to == model.workflow.entity), None)

    def _collection(self, session, model, row, rec: Recorder, child: str, where: dict) -> Rows:
        link = self._link(model, child)
        if link is None:
            raise KeyError(f"{child} has no reference to {model.workflow.entity}")
        cls = self.core.orm[child]
        entity = model.entities[child]
        items, ids = [], []
        for obj in session.scalars(select(cls).where(getattr(cls, f"{link}_id") == row.id).order_by(cls.id)):
            if any((getattr(obj, k) not in v) if isinstance(v, (list, tuple, set)) else getattr(obj, k) != v
                   for k, v in where.items()):
                continue
            shown, raws, _labels = self._row_values(entity, obj)
            items.append(Values(rec, f"{child}#{obj.id}", shown, raws))
            ids.append(obj.id)
        ns = child + ("?" + json.dumps(where, sort_keys=True, default=str) if where else "")
        return Rows(rec, ns, items, ids)

    def _steps(self, session, row, stage: str | None, rec: Recorder) -> Rows:
        """Steps taken out of the form's stage (who did the work, when, with what comment)."""
        from .views.workflow import step_label

        items, ids = [], []
        if stage is not None:
            for h in self.history(session, row):
                if h.kind != "transition" or h.from_stage != stage:
                    continue
                at = h.at if h.at is None or h.at.tzinfo else h.at.replace(tzinfo=dt.timezone.utc)
                shown = {"at": i18n.fmt_datetime(at), "date": i18n.fmt_datetime(at)[:10],
                         "step": step_label(h.trigger, h.from_stage), "user": h.user_name,
                         "unit": h.unit_name, "comment": h.comment or "",
                         "to": self.core.engine.stage_label(h.to_stage)}
                raws = {"at": utc_iso(at), "date": utc_iso(at),
                        "step": h.trigger, "user": h.user_name, "unit": h.unit_name, "comment": h.comment,
                        "to": h.to_stage}
                items.append(Values(rec, f"step#{h.id}", shown, raws))
                ids.append(h.id)
        return Rows(rec, "steps", items, ids)

    def _prints(self, session, row, key: str, rec: Recorder, model, exclude_id: int | None) -> Rows:
        """The latest print of every other form of the application (for the archive list)."""
        cls = self.record_cls
        latest: dict[str, Any] = {}
        for p in session.scalars(select(cls).where(cls.application_id == row.id).order_by(cls.id)):
            if p.form != key and p.id != exclude_id:
                latest[p.form] = p
        order = list(model.forms)
        items, ids = [], []
        for form_key in sorted(latest, key=lambda k: (order.index(k) if k in order else len(order), k)):
            p = latest[form_key]
            at = p.printed_at if p.printed_at.tzinfo else p.printed_at.replace(tzinfo=dt.timezone.utc)
            shown = {"form": self.form_label(form_key, model), "pages": str(p.pages), "code": p.code,
                     "printed_at": i18n.fmt_datetime(at), "date": i18n.fmt_datetime(at)[:10]}
            raws = {"form": form_key, "pages": p.pages, "code": p.code, "printed_at": utc_iso(at),
                    "date": utc_iso(at)}
            items.append(Values(rec, f"print#{p.id}", shown, raws))
            ids.append(p.id)
        return Rows(rec, "prints", items, ids)

    # ------------------------------------------------------------------ rendering
    def meta(self, row, *, code: str, printed_at: dt.datetime, printed_by: str, verify_url: str | None,
             model=None) -> dict:
        from flask import current_app

        meta = {"application_no": row.number, "model_version": (model or self.model).version,
                "printed_at": printed_at.astimezone(i18n.SHANGHAI), "printed_by": printed_by,
                "verify_code": code}
        if verify_url:
            meta["verify_url"] = verify_url
        organization = current_app.config.get("ORGANIZATION_NAME")
        if organization:
            meta["organization"] = organization
        meta["organization_name"] = organization or ""
        return meta

    def render_html(self, built: Built, meta: dict) -> str:
        from .pdf.render import render_html

        return render_html(built.template, {**built.context, **meta})

    def print_form(self, session, row, key: str, user, verify_url_for) -> PrintResult:
        """Check, render and record one print in one transaction; on any error nothing is kept.

        ``verify_url_for(code)`` gives the public verify address printed as the QR code.
        Raises FormRefused (403/404/409) or PdfRenderError.
        """
        from .pdf.render import html_to_pdf
        from .pdf.verify import make_code

        started = time.perf_counter()
        self.check(session, row, key, user)
        try:
            printed_at = now_utc()
            record = self.record_cls(code="~" + secrets.token_hex(7), form=key, application_id=row.id,
                                     printed_by_id=getattr(user, "id", None), printed_at=printed_at,
                                     fingerprint="", pages=0)
            session.add(record)
            session.flush()
            code = make_code({"form": key, "application": row.id, "print": record.id}, self.secret())
            built = self.build(session, row, key, exclude_print_id=record.id)
            html = self.render_html(built, self.meta(
                row, code=code, printed_at=printed_at, printed_by=_full_name(user),
                verify_url=verify_url_for(code)))
            pdf = html_to_pdf(html)
            record.code, record.fingerprint, record.pages = code, built.recorder.fingerprint(), count_pages(pdf)
            engine = self.core.engine
            stage = getattr(row, engine.definition.state_field)
            snapshot = engine.record(row)
            engine.add_history(session, row, user, engine.roles_of(user), PRINT_KIND, PRINT_KIND, stage, stage,
                            self.forms[key].label_zh, snapshot, snapshot)
            session.commit()
        except Exception:
            session.rollback()
            raise
        elapsed = (time.perf_counter() - started) * 1000
        log.info("printed %s of %s as %s: %d page(s), %d bytes in %.0f ms", key, row.number, code,
                 record.pages, len(pdf), elapsed)
        return PrintResult(pdf, record, f"{row.number}-{key}.pdf", elapsed)

    def render_preview(self, session, row, key: str, *, model=None, printed_by: str = "",
                       code: str = "0000000000", verify_url: str | None = None) -> bytes:
        """A PDF of the form without recording anything (tests, benchmarks)."""
        from .pdf.render import html_to_pdf

        built = self.build(session, row, key, model=model)
        html = self.render_html(built, self.meta(row, code=code, printed_at=now_utc(), printed_by=printed_by,
                                                 verify_url=verify_url, model=model))
        return html_to_pdf(html)

    # ------------------------------------------------------------------ verification
    def find(self, session, code: str):
        from .pdf.verify import normalize_code

        code = normalize_code(code or "")
        if not code or len(code) > 16:
            return None
        return session.scalars(select(self.record_cls).where(self.record_cls.code == code)).first()

    def current_fingerprint(self, session, record) -> str | None:
        """The fingerprint the print's form would have with today's data (None: cannot tell)."""
        from .pdf.render import PdfRenderError

        row = session.get(self.core.orm[self.entity_key], record.application_id)
        if row is None or record.form not in self.forms:
            return None
        try:
            built = self.build(session, row, record.form, exclude_print_id=record.id)
            self.render_html(built, self.meta(row, code=record.code, printed_at=record.printed_at,
                                              printed_by="", verify_url=None))
        except PdfRenderError:
            log.exception("verify %s: form %s could not be rendered", record.code, record.form)
            return None
        return built.recorder.fingerprint()

    def verify(self, session, code: str) -> VerifyResult:
        record = self.find(session, code)
        if record is None:
            for verifier in self.extra_verifiers:
                result = verifier(session, code)
                if result is not None:
                    return result
            return VerifyResult(found=False)
        row = session.get(self.core.orm[self.entity_key], record.application_id)
        at = record.printed_at if record.printed_at.tzinfo else record.printed_at.replace(tzinfo=dt.timezone.utc)
        current = self.current_fingerprint(session, record)
        return VerifyResult(found=True, matches=current == record.fingerprint,
                            application_no=row.number if row is not None else "",
                            form_label=self.form_label(record.form),
                            printed_at=at.astimezone(i18n.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"))


def _full_name(user) -> str:
    getter = getattr(user, "get_full_name", None)
    return getter() if callable(getter) else _text(user)


# --------------------------------------------------------------------------- wiring


def init_printing(app, core, appbuilder) -> None:
    """Register the print_record table, the print/verify screens, the API and the page buttons."""
    if core.model.workflow is None:
        return
    record_cls = print_record_class(core.model.workflow.entity)
    printing = Printing(core, record_cls)
    app.extensions["ykt_printing"] = printing
    core.printing = printing
    from .views.printing import register_printing

    register_printing(appbuilder, core, printing)


def printing_of(app=None) -> Printing:
    from flask import current_app

    return (app or current_app).extensions["ykt_printing"]

