"""考核通知单 and 月度考核汇总表 as PDFs: printed from the ledger, recorded, verifiable by code."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from flask import current_app
from flask_appbuilder import Model
from flask_babel import gettext as _
from sqlalchemy import Column, ForeignKey, Integer, String, select

from app import i18n
from app.assessment.entries import FineEntry
from app.assessment.summary import evidence_text, monthly_summary
from app.security.scope import visible_unit
from app.database.types import UTCDateTime, now_utc
from app.security.user import StaffUser
from app.printing import verify

log = logging.getLogger(__name__)


class AssessmentPrint(Model):
    """A printed fine notice or monthly summary: what was printed, by whom, and its fingerprint."""

    __tablename__ = "assessment_print"
    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    form = Column(String(40), nullable=False)
    fine_id = Column(Integer, ForeignKey("fine_entry.id"), nullable=True)
    month = Column(String(7), nullable=True)
    unit_id = Column(Integer, nullable=True)
    printed_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    printed_at = Column(UTCDateTime(), nullable=False, default=now_utc)
    fingerprint = Column(String(64), nullable=False)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def _form_for(core, scope: str):
    for key, form in core.model.forms.items():
        if form.scope == scope:
            return key, form
    raise Refused(404, _("This model has no such printed form."))


def _secret(app_secret: str) -> bytes:
    return hashlib.sha256(b"ykt-assessment-print:" + app_secret.encode()).digest()


def _may(user, form) -> bool:
    return bool({r.name for r in user.roles} & set(form.roles))


def notice_data(session, fine: FineEntry) -> dict:
    """What the fine notice shows; its JSON is the fingerprint (a later change is detectable)."""
    target = session.get(StaffUser, fine.target_user_id) if fine.target_user_id else None
    unit_cls = current_app.extensions["yekuotong"].orm["unit"]
    unit = session.get(unit_cls, fine.target_unit_id) if fine.target_unit_id else None
    return {"id": fine.id, "rule": f"{fine.rule_id} {fine.rule_label}", "application": fine.application_number or "",
            "target": str(target) if target else (unit.name if unit else ""),
            "unit": target.unit.name if target is not None and target.unit is not None else "",
            "amount": i18n.fmt_money(fine.amount), "sanction": fine.sanction or "",
            "status": fine.status, "evidence": evidence_text(fine), "reason": fine.decision_reason or "",
            "decided_at": i18n.fmt_datetime(fine.decided_at), "proposed_at": i18n.fmt_datetime(fine.proposed_at)}


def summary_data(session, month: str, unit_id: int | None = None) -> dict:
    data = monthly_summary(session, month, unit_id)
    def rows(items):
        # "corrected" only when there was a correction: summaries printed before it existed still verify.
        return [{k: (f"{v:,.2f}" if k.endswith("amount") else v) for k, v in r.items()
                 if k != "corrected" or v} for r in items]

    return {"month": month, "people": rows(data["people"]), "units": rows(data["units"])}


def print_pdf(core, session, user, scope: str, *, fine_id: int | None = None, month: str | None = None,
              secret: str, base_url: str) -> tuple[bytes, str]:
    """Check, render, record, commit: the PDF and its file name, or Refused."""
    from app.printing.render import PdfRenderError, render_pdf

    key, form = _form_for(core, scope)
    if not _may(user, form) and not (scope == "fine" and fine_id is not None and _own_fine(session, user, fine_id)):
        roles = "、".join(str(i18n.label(core.model.roles[r])) for r in form.roles if r in core.model.roles)
        raise Refused(403, _("Only %(roles)s may print %(form)s.", roles=roles, form=i18n.label(form)))
    unit_id = None
    if scope == "fine":
        fine = session.get(FineEntry, fine_id)
        if fine is None:
            raise Refused(404, _("No such fine."))
        if fine.status != "confirmed":
            raise Refused(409, _("A fine notice is printed once the fine is confirmed."))
        data = notice_data(session, fine)
        template, name = "forms/fine_notice.html", f"fine-{fine.id}"
        number = fine.application_number or f"#{fine.id}"
    else:
        unit_id = visible_unit(core.model, user)  # a unit head prints their unit's summary only
        data = summary_data(session, month, unit_id)
        template, name, number = "forms/monthly_summary.html", f"assessment-{month}", month
    fingerprint = verify.fingerprint(data)
    code = verify.make_code({"form": key, "ref": fine_id or month, "nonce": secrets.token_hex(4)}, _secret(secret))
    record = AssessmentPrint(code=code, form=key, fine_id=fine_id, month=month, printed_by_id=user.id,
                             unit_id=unit_id, fingerprint=fingerprint)
    session.add(record)
    session.flush()
    context = {"application_no": number, "model_version": core.model.version,
               "printed_at": dt.datetime.now(i18n.SHANGHAI).strftime("%Y-%m-%d %H:%M"),
               "printed_by": str(user), "verify_code": code, "verify_url": f"{base_url}/verify/{code}",
               "form_title": form.label_zh, "d": data}
    try:
        pdf = render_pdf(template, context)
    except PdfRenderError:
        session.rollback()
        log.exception("printing %s failed", key)
        raise Refused(409, _("%(form)s could not be produced; nothing was recorded. The error has been "
                             "logged for the administrator.", form=i18n.label(form))) from None
    if scope == "fine" and fine.application_id is not None:
        engine = core.engine
        row = session.get(engine.cls, fine.application_id)
        stage = getattr(row, engine.definition.state_field)
        record_now = engine.record(row)
        engine.add_history(session, row, user, engine.roles_of(user), "print", "print", stage, stage,
                        f"{form.label_zh} #{fine.id}", record_now, record_now)
    session.commit()
    return pdf, name


def _own_fine(session, user, fine_id: int) -> bool:
    fine = session.get(FineEntry, fine_id)
    return fine is not None and fine.target_user_id == user.id


def verifier(core):
    """A lookup for /verify/<code>: the notice or summary as printed vs the ledger now."""
    from app.printing.forms import VerifyResult

    def check(session, code: str):
        record = session.scalars(select(AssessmentPrint).where(AssessmentPrint.code == code)).first()
        if record is None:
            return None
        if record.fine_id is not None:
            fine = session.get(FineEntry, record.fine_id)
            now = verify.fingerprint(notice_data(session, fine)) if fine else ""
            number = (fine.application_number or f"#{fine.id}") if fine else ""
        else:
            now = verify.fingerprint(summary_data(session, record.month, record.unit_id))
            number = record.month
        label = core.model.forms[record.form].label_zh if record.form in core.model.forms else record.form
        at = record.printed_at.astimezone(i18n.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        return VerifyResult(found=True, matches=now == record.fingerprint, application_no=number,
                            form_label=label, printed_at=at)

    return check
