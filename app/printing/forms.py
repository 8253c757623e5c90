"""Printed forms (打印表单): PDFs of an application's forms, print records, verification.

Wired by ``app.printing.init_app``. The screens and the API live in ``app/printing/views.py``;
the templates in ``app/printing/pdf_templates/forms/``.

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
      do not: a survey record is refused while the application is still at 现场勘查;
    * a form with ``during_stage: true`` (中间检查记录) also while the application is at its stage:
      the blank form the inspectors fill in on site.

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
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, select

from app import i18n
from app.database.types import now_utc
from app.printing.layout import reached
from app.printing.form_data import Built, FormData
from app.printing.values import label_of, text_of

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------- the service


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


class Printing(FormData):
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
        return label_of(form) if form is not None else key

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
        if stage is not None and (stage.terminal or form.during_stage):
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
            roles = "、".join(label_of(self.model.roles[r]) for r in self.forms[key].roles if r in self.model.roles)
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
        from app.printing.render import render_html

        return render_html(built.template, {**built.context, **meta})

    def print_form(self, session, row, key: str, user, verify_url_for) -> PrintResult:
        """Check, render and record one print in one transaction; on any error nothing is kept.

        ``verify_url_for(code)`` gives the public verify address printed as the QR code.
        Raises FormRefused (403/404/409) or PdfRenderError.
        """
        from app.printing.render import html_to_pdf
        from app.printing.verify import make_code

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
        from app.printing.render import html_to_pdf

        built = self.build(session, row, key, model=model)
        html = self.render_html(built, self.meta(row, code=code, printed_at=now_utc(), printed_by=printed_by,
                                                 verify_url=verify_url, model=model))
        return html_to_pdf(html)

    # ------------------------------------------------------------------ verification
    def find(self, session, code: str):
        from app.printing.verify import normalize_code

        code = normalize_code(code or "")
        if not code or len(code) > 16:
            return None
        return session.scalars(select(self.record_cls).where(self.record_cls.code == code)).first()

    def current_fingerprint(self, session, record) -> str | None:
        """The fingerprint the print's form would have with today's data (None: cannot tell)."""
        from app.printing.render import PdfRenderError

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
    return getter() if callable(getter) else text_of(user)


def printing_of(app=None) -> Printing:
    from flask import current_app

    return (app or current_app).extensions["ykt_printing"]

