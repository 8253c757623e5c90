"""Deadlines on screen: timer badges on lists and pages, the deadline dashboard (时限看板)."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from flask import current_app
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from app import i18n
from app.model.problems import N_
from app.model.naming import class_name
from app.security.user import StaffUser

STATUS_TEXT = {"running": N_("Running"), "due_soon": N_("Due soon"), "overdue": N_("Overdue"),
               "paused": N_("Paused"), "met": N_("Met"), "met_late": N_("Met late"), "cancelled": N_("Cancelled")}


def _core():
    return current_app.extensions["yekuotong"]


def badge(info: dict) -> Markup:
    sla = _core().sla
    label = i18n.label(sla.timers[info["key"]]) if info["key"] in sla.timers else info["key"]
    calendar_days = info.get("unit") == "calendar_days"  # a limit the model counts in calendar days
    if info["status"] == "paused":
        n = info["left"] if info["left"] is not None else "-"
        detail = _("paused, %(n)s days left", n=n) if calendar_days else _("paused, %(n)s working days left", n=n)
    elif info["due"] is not None and info["left"] is not None and info["left"] < 0:
        detail = (_("due %(date)s, overdue by %(n)s days", date=_last_day(info["due"]), n=-info["left"])
                  if calendar_days else
                  _("due %(date)s, overdue by %(n)s working days", date=_last_day(info["due"]), n=-info["left"]))
    elif info["due"] is not None:
        detail = (_("due %(date)s, %(n)s days left", date=_last_day(info["due"]), n=info["left"]) if calendar_days
                  else _("due %(date)s, %(n)s working days left", date=_last_day(info["due"]), n=info["left"]))
    else:
        detail = ""
    mark = _("(provisional)") if info["provisional"] else ""
    return Markup('<span class="label label-{}" title="{}">{}·{}</span> <small>{}{}</small>').format(
        info["colour"], escape(detail), escape(label), escape(_(STATUS_TEXT[info["status"]])),
        escape(detail), escape(mark))


def _last_day(due: dt.datetime) -> str:
    """A deadline is 24:00 of its last day: show that day, not the next midnight."""
    return i18n.fmt_date((due - dt.timedelta(microseconds=1)).astimezone(i18n.SHANGHAI).date())


def timers_cell(row) -> Markup:
    core = _core()
    timers = core.sla.running_for(core.db.session, [row.id]).get(row.id, [])
    return Markup("<br>").join(badge(core.sla.status(t)) for t in timers)


def due_lookup(session, app_ids: list[int]) -> dict:
    sla = _core().sla
    result = {}
    for app_id, timers in sla.running_for(session, app_ids).items():
        infos = [sla.status(t) for t in timers if t.due_at is not None]
        if infos:
            first = min(infos, key=lambda i: i["due"])
            result[app_id] = {"at": first["due"], "colour": first["colour"], "text": badge(first)}
    return result


class SlaDashboardView(BaseView):
    route_base = "/sla"
    default_view = "dashboard"
    class_permission_name = "SlaDashboard"
    method_permission_name = {"dashboard": "list"}

    @expose("/dashboard/")
    @has_access
    def dashboard(self):
        core = _core()
        session = core.db.session
        sla, engine = core.sla, core.engine
        now = dt.datetime.now(dt.timezone.utc)
        timers = list(session.scalars(select(sla.cls).where(sla.cls.status.in_(("running", "paused", "overdue")))))
        apps = {a.id: a for a in session.scalars(select(engine.cls).where(
            engine.cls.id.in_({t.application_id for t in timers})))} if timers else {}
        owners = {u.id: u for u in session.scalars(select(StaffUser))}
        by_stage, by_unit, by_manager = Counter(), Counter(), Counter()
        overdue = []
        owner_field = engine.definition.owner_field
        for t in timers:
            info = sla.status(t, now)
            row = apps[t.application_id]
            owner = owners.get(getattr(row, f"{owner_field}_id", None)) if owner_field else None
            stage = engine.stage_label(getattr(row, engine.definition.state_field))
            unit = owner.unit.name if owner is not None and owner.unit is not None else _("(none)")
            for counter, key in ((by_stage, stage), (by_unit, unit), (by_manager, str(owner) if owner else _("(none)"))):
                counter[(key, info["status"])] += 1
            if info["status"] == "overdue":
                overdue.append({"row": row, "badge": badge(info), "stage": stage, "owner": owner})
        warn = unloaded_years(now)
        return self.render_template("sla_dashboard.html", tables=[
            (_("By stage"), _table(by_stage)), (_("By unit"), _table(by_unit)),
            (_("By customer manager"), _table(by_manager))], overdue=overdue, warn=warn,
            show_endpoint=f"{class_name(engine.definition.entity)}View.show")


def _table(counter: Counter) -> list[dict]:
    keys = sorted({k for k, _s in counter})
    rows = []
    for key in keys:
        counts = {s: counter[(key, s)] for s in ("running", "due_soon", "overdue", "paused")}
        rows.append({"key": key, **counts, "total": sum(counts.values())})
    return rows


def unloaded_years(now: dt.datetime) -> list[int]:
    core = _core()
    service = core.calendar_service
    if service is not None:
        return service.unloaded_years_within(days=60)
    today = now.astimezone(i18n.SHANGHAI).date()
    return core.sla.calendar().provisional_years_in(today, today + dt.timedelta(days=60))


def init_views(app, core, appbuilder) -> None:
    core.todo.due_lookup = due_lookup
    core.page_panels.append(lambda row: Markup('<p><strong>{}</strong>：{}</p>').format(
        _("Deadlines"), timers_cell(row) or _("none running")))
    core.engine.cls.sla_timers = property(timers_cell)
    for view in appbuilder.baseviews:
        if getattr(view, "datamodel", None) is not None and view.datamodel.obj is core.engine.cls \
                and hasattr(view, "list_columns") and "sla_timers" not in view.list_columns:
            view.list_columns = list(view.list_columns) + ["sla_timers"]
            view.label_columns["sla_timers"] = i18n.text("时限", "Deadlines")
    appbuilder.add_view(SlaDashboardView, "sla_dashboard", label=i18n.text("时限看板", "Deadline dashboard"),
                        icon="fa-clock-o", category=core.model.entities[core.engine.definition.entity].menu)
