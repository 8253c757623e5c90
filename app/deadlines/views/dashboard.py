"""Deadlines on screen: timer badges on lists and pages, the deadline dashboard (时限看板)."""
from __future__ import annotations

import datetime as dt

from flask import current_app, g
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app import i18n
from app.deadlines import board
from app.model.problems import N_
from app.model.naming import class_name

STATUS_TEXT = {"running": N_("Running"), "due_soon": N_("Due soon"), "overdue": N_("Overdue"),
               "paused": N_("Paused"), "met": N_("Met"), "met_late": N_("Met late"), "cancelled": N_("Cancelled")}
OVERDUE_ROWS = 100  # overdue applications listed by name; the heading counts them all


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
        engine = core.engine
        now = dt.datetime.now(dt.timezone.utc)
        user = g.user
        figures = board.board(core, user, now)
        late, late_total = board.overdue_cases(core, user, now, limit=OVERDUE_ROWS)
        overdue = [{"row": row, "badge": Markup("<br>").join(badge(core.sla.status(t, now)) for t in timers),
                    "stage": engine.stage_label(getattr(row, engine.definition.state_field)),
                    "owner": getattr(row, engine.definition.owner_field, None) if engine.definition.owner_field else None}
                   for row, timers in late]
        # A case without a unit (nobody of a unit accepted or owns it) or without a manager says so.
        tables = [(_("By stage"), [_row(engine.stage_label(k), c) for k, c in figures.by_stage]),
                  (_("By unit"), [_row(i18n.unit_text(name) if pk is not None else _("No unit assigned"), c)
                                  for pk, name, c in figures.by_unit])]
        if engine.definition.owner_field:
            tables.append((_("By customer manager"), [
                _row(name if pk is not None else _("No customer manager assigned"), c) for pk, name, c in figures.by_manager]))
        return self.render_template("sla_dashboard.html", tables=tables, overdue=overdue, overdue_total=late_total,
                                    managers_left_out=figures.managers_left_out, warn=unloaded_years(now),
                                    show_endpoint=f"{class_name(engine.definition.entity)}View.show")


def _row(key: str, counts: dict) -> dict:
    return {"key": key, **counts, "total": sum(counts.values())}


def unloaded_years(now: dt.datetime) -> list[int]:
    core = _core()
    service = core.calendar_service
    if service is not None:
        return service.unloaded_years_within(days=60)
    today = now.astimezone(i18n.SHANGHAI).date()
    return core.sla.calendar().provisional_years_in(today, today + dt.timedelta(days=60))


def init_views(app, core, appbuilder) -> None:
    core.todo.due_lookup = due_lookup
    core.page_panels.append(lambda row: Markup('<p><strong>{}</strong>{}{}</p>').format(
        _("Deadlines"), i18n.punctuation()["colon"], timers_cell(row) or _("none running")))
    core.engine.cls.sla_timers = property(timers_cell)
    for view in appbuilder.baseviews:
        if getattr(view, "datamodel", None) is not None and view.datamodel.obj is core.engine.cls \
                and hasattr(view, "list_columns") and "sla_timers" not in view.list_columns:
            view.list_columns = list(view.list_columns) + ["sla_timers"]
            view.label_columns["sla_timers"] = i18n.text("时限", "Deadlines")
    appbuilder.add_view(SlaDashboardView, "sla_dashboard", label=i18n.text("时限看板", "Deadline dashboard"),
                        icon="fa-clock-o", category=core.model.entities[core.engine.definition.entity].menu)
