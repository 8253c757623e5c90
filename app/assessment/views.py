"""Assessment screens: pending proposals, incidents, sanctions, my fines, the monthly summary."""
from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms.validators import ValidationError

from app import i18n
from app.assessment.entries import FineEntry, FineError, Sanction
from app.assessment.printing import Refused, print_pdf
from app.assessment.summary import fine_rows, monthly_summary, target_names
from app.model.naming import class_name
from app.security.scope import restrict, visible_unit
from app.security import audit
from app.security.user import StaffUser

PAGE = 50


def _core():
    return current_app.extensions["yekuotong"]


def _csrf_ok() -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
        return True
    except ValidationError:
        flash(_("The form has expired; please try again."), "danger")
        return False


def _case_links(rows: list[dict]) -> dict[str, str]:
    """Application number -> its page, for the numbers in these fine rows the user may open (one query)."""
    core = _core()
    numbers = {r["f"].application_number for r in rows if r["f"].application_number}
    if not numbers or core.model.workflow is None:
        return {}
    entity = core.model.workflow.entity
    cls = core.orm[entity]
    query = restrict(core, select(cls.id, cls.number).where(cls.number.in_(numbers)), g.user, entity)
    endpoint = f"{class_name(entity)}View.show"
    return {number: url_for(endpoint, pk=pk) for pk, number in core.db.session.execute(query)}


class FinesView(BaseView):
    route_base = "/fines"
    default_view = "pending"
    class_permission_name = "Fines"
    method_permission_name = {"pending": "decide", "decide": "decide", "incident": "decide",
                              "sanctions": "decide", "exam": "decide", "reverse": "decide",
                              "summary": "summary", "summary_csv": "summary", "summary_pdf": "summary",
                              "mine": "mine", "notice": "mine", "unit": "unit"}

    @expose("/pending/")
    @has_access
    def pending(self):
        session = _core().db.session
        page = max(int(request.args.get("page", 0) or 0), 0)
        query = select(FineEntry).where(FineEntry.status == "proposed")
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        fines = session.scalars(query.order_by(FineEntry.proposed_at).offset(page * PAGE).limit(PAGE))
        rows = fine_rows(session, fines)
        return self.render_template("fines_pending.html", rows=rows, total=total, page=page, links=_case_links(rows),
                                    pages=(total + PAGE - 1) // PAGE, title=_("Pending fines"))

    @expose("/decide/", methods=["POST"])
    @has_access
    def decide(self):
        if not _csrf_ok():
            return redirect(url_for(".pending"))
        ids = [int(x) for x in request.form.getlist("fine_id") if x.isdigit()]
        if not ids:
            flash(_("Select at least one fine."), "warning")
            return redirect(url_for(".pending"))
        try:
            count = _core().ledger.decide(_core().db.session, ids, g.user, request.form.get("action", ""),
                                          request.form.get("reason"), request.form.get("amount"))
            audit.record("fine.decide", ", ".join(f"#{i}" for i in ids), {
                "action": request.form.get("action", ""), "reason": request.form.get("reason") or "",
                "amount": request.form.get("amount") or "", "count": count})
            flash(_("%(n)d fine(s) decided.", n=count), "success")
        except FineError as exc:
            _core().db.session.rollback()
            flash(str(exc), "danger")
        return redirect(url_for(".pending"))

    @expose("/reverse/<int:fine_id>", methods=["POST"])
    @has_access
    def reverse(self, fine_id):
        if _csrf_ok():
            try:
                _core().ledger.reverse(_core().db.session, fine_id, g.user, request.form.get("reason", ""))
                audit.record("fine.reverse", f"#{fine_id}", {"reason": request.form.get("reason", "")})
                flash(_("The fine was corrected by a reversing entry."), "success")
            except FineError as exc:
                _core().db.session.rollback()
                flash(str(exc), "danger")
        return redirect(url_for(".summary", month=request.form.get("month", "")))

    @expose("/incident/", methods=["GET", "POST"])
    @has_access
    def incident(self):
        core = _core()
        session = core.db.session
        form = request.form if request.method == "POST" else {}
        if request.method == "POST" and _csrf_ok():
            try:
                fine = core.ledger.record_incident(session, g.user, form.get("category", ""), form.get("user_id"),
                                                   form.get("description", ""), form.get("application") or None,
                                                   form.get("amount"))
                flash(_("Incident recorded; fine #%(id)d proposed.", id=fine.id), "success")
                return redirect(url_for(".pending"))
            except FineError as exc:
                session.rollback()
                flash(str(exc), "danger")
        categories = [(i.key, i18n.label(i)) for i in core.model.incidents]
        ranges = {r.trigger.incident for r in core.model.fines if r.amount.__class__.__name__ == "AmountRange"}
        p = i18n.punctuation()
        users = [(u.id, f"{u}{p['open']}{i18n.unit_name(u.unit)}{p['close']}" if u.unit else str(u))
                 for u in _incident_people(core, session, g.user)]
        return self.render_template("fines_incident.html", categories=categories, users=users, form=form,
                                    ranges=ranges, title=_("Record an incident"))

    @expose("/sanctions/", methods=["GET"])
    @has_access
    def sanctions(self):
        session = _core().db.session
        users, _units = target_names(session)
        rows = [{"s": s, "user": users.get(s.user_id, ""), "since": i18n.fmt_date(s.since),
                 "passed": i18n.fmt_date(s.exam_passed_on), "ended": i18n.fmt_date(s.ended_on)}
                for s in session.scalars(select(Sanction).order_by(Sanction.active.desc(), Sanction.since.desc()))]
        return self.render_template("fines_sanctions.html", rows=rows, title=_("Sanctions register"))

    @expose("/sanctions/<int:sanction_id>/exam", methods=["POST"])
    @has_access
    def exam(self, sanction_id):
        session = _core().db.session
        if _csrf_ok():
            sanction = session.get(Sanction, sanction_id)
            try:
                passed = dt.date.fromisoformat(request.form.get("passed_on", ""))
            except ValueError:
                passed = None
            if sanction is None or sanction.kind != "suspend_until_exam" or not sanction.active:
                flash(_("Only an active 'suspended until exam' sanction can be closed by an exam."), "danger")
            elif passed is None or passed < sanction.since:
                flash(_("Give the exam date (not before the sanction began)."), "danger")
            else:
                sanction.exam_passed_on, sanction.active = passed, False
                session.commit()
                flash(_("Exam recorded; the person may return to post."), "success")
        return redirect(url_for(".sanctions"))

    @expose("/mine/")
    @has_access
    def mine(self):
        session = _core().db.session
        fines = session.scalars(select(FineEntry).where(FineEntry.target_user_id == g.user.id)
                                .order_by(FineEntry.proposed_at.desc()).limit(500))
        rows = fine_rows(session, fines)
        return self.render_template("fines_mine.html", rows=rows, links=_case_links(rows), title=_("My fines"))

    @expose("/unit/")
    @has_access
    def unit(self):
        """A unit head's view: fines of the unit itself and of the people in it."""
        session = _core().db.session
        unit_id = g.user.unit_id
        members = select(StaffUser.id).where(StaffUser.unit_id == unit_id)
        fines = session.scalars(select(FineEntry).where(
            (FineEntry.target_unit_id == unit_id) | FineEntry.target_user_id.in_(members))
            .order_by(FineEntry.proposed_at.desc()).limit(1000)) if unit_id else []
        rows = fine_rows(session, fines)
        return self.render_template("fines_mine.html", rows=rows, links=_case_links(rows), show_target=True,
                                    title=_("Fines of my unit"))

    # A print is recorded: only a POST carrying the CSRF token makes one (a GET asks first), so that
    # a foreign page cannot add print records.
    @expose("/notice/<int:fine_id>", methods=["GET", "POST"])
    @has_access
    def notice(self, fine_id):
        if request.method == "GET":
            return self._confirm(_("Print the fine notice #%(id)s?", id=fine_id), url_for(".mine"))
        return _pdf(lambda user, session: print_pdf(_core(), session, user, "fine", fine_id=fine_id,
                                                    secret=current_app.config["SECRET_KEY"], base_url=_base()),
                    url_for(".mine"))

    @expose("/summary.pdf", methods=["GET", "POST"])
    @has_access
    def summary_pdf(self):
        month = _month_arg()
        if request.method == "GET":
            return self._confirm(_("Print the monthly assessment summary of %(month)s?", month=month),
                                 url_for(".summary", month=month))
        return _pdf(lambda user, session: print_pdf(_core(), session, user, "month", month=month,
                                                    secret=current_app.config["SECRET_KEY"], base_url=_base()),
                    url_for(".summary", month=month))

    def _confirm(self, message: str, back: str):
        return self.render_template("fines_print_confirm.html", message=message, back=back, title=_("Print"))

    @expose("/summary/")
    @has_access
    def summary(self):
        month = _month_arg()
        data = monthly_summary(_core().db.session, month, visible_unit(_core().model, g.user))
        return self.render_template("fines_summary.html", month=month, data=data, title=_("Monthly assessment summary"))

    @expose("/summary.csv")
    @has_access
    def summary_csv(self):
        month = _month_arg()
        data = monthly_summary(_core().db.session, month, visible_unit(_core().model, g.user))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_("Kind"), _("Name"), _("Rule"), _("Confirmed count"), _("Confirmed amount"),
                         _("Waived count"), _("Waived amount"), _("Pending count"), _("Corrections")])
        for kind, rows in (("person", data["people"]), ("unit", data["units"])):
            for r in rows:
                writer.writerow([_("Person") if kind == "person" else _("Unit"), r["name"], r["rule"],
                                 r["confirmed"], r["confirmed_amount"], r["waived"], r["waived_amount"], r["pending"],
                                 r["corrected"]])
        return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=assessment-{month}.csv"})


def _incident_people(core, session, me) -> list:
    """Whom an incident may name: holders of a role an incident rule fines, never the auditor themselves."""
    roles = {r.target.role for r in core.model.fines if r.trigger.incident}
    people = session.scalars(select(StaffUser).options(selectinload(StaffUser.roles)).order_by(StaffUser.id))
    if None not in roles:
        people = [u for u in people if roles & {role.name for role in u.roles}]
    return [u for u in people if u.id != me.id]


def _base() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")


def _pdf(produce, back: str):
    session = _core().db.session
    try:
        pdf, name = produce(g.user, session)
    except Refused as exc:
        session.rollback()
        flash(str(exc), "danger")
        return redirect(back) if exc.status == 409 else (Response(str(exc), status=exc.status,
                                                                  mimetype="text/plain; charset=utf-8"))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename={name}.pdf"})


def _month_arg() -> str:
    text = request.args.get("month") or dt.datetime.now(i18n.SHANGHAI).strftime("%Y-%m")
    try:
        dt.datetime.strptime(text, "%Y-%m")
    except ValueError:
        text = dt.datetime.now(i18n.SHANGHAI).strftime("%Y-%m")
    return text


def init_views(app, core, appbuilder) -> None:
    appbuilder.add_view(FinesView, "fines_pending", label=i18n.text("待审核考核", "Pending fines"),
                        href="/fines/pending/", icon="fa-gavel", category="assessment",
                        category_label=i18n.text("考核管理", "Assessment"), category_icon="fa-balance-scale")
    appbuilder.add_link("fines_incident", label=i18n.text("登记考核事件", "Record incident"), href="/fines/incident/",
                        icon="fa-pencil", category="assessment")
    appbuilder.add_link("fines_sanctions", label=i18n.text("处理登记", "Sanctions"), href="/fines/sanctions/",
                        icon="fa-user-times", category="assessment")
    appbuilder.add_link("fines_summary", label=i18n.text("月度考核汇总", "Monthly summary"), href="/fines/summary/",
                        icon="fa-bar-chart", category="assessment")
    appbuilder.add_link("fines_mine", label=i18n.text("我的考核", "My fines"), href="/fines/mine/",
                        icon="fa-user", category="assessment")
    appbuilder.add_link("fines_unit", label=i18n.text("本单位考核", "Fines of my unit"), href="/fines/unit/",
                        icon="fa-building", category="assessment")
