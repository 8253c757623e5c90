"""工作日历: the administrator's month view of the working-day calendar, and changing one day."""
from __future__ import annotations

import calendar as pycalendar
import datetime as dt

from babel.dates import format_skeleton, get_day_names
from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale, gettext as _, lazy_gettext, pgettext
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from app import i18n
from app.deadlines.calendar_store import CalendarError, shanghai_today, weekday_name, workdays_in_year
from app.security import audit
from app.workflow.calendar import FIRST_YEAR, LAST_YEAR


def _core():
    return current_app.extensions["yekuotong"]


def _service():
    return _core().calendar_service


def _locale() -> str:
    return str(get_locale() or "zh")


def _source_label(source: str) -> str:
    labels = {"chinesecalendar": _("chinesecalendar package"), "import": _("imported notice"),
              "admin": _("administrator")}
    return labels.get(source, source)


def _year_note(row) -> str:
    """A loaded year's note; the package's own ("chinesecalendar 1.11.0") as the version of its data."""
    note = row.note or ""
    if row.source == "chinesecalendar" and note.startswith("chinesecalendar "):
        return _("data version %(version)s", version=note.split(" ", 1)[1])
    return note


def _status(day: dt.date, cal, row) -> str:
    """workday | weekend | holiday | makeup, as the calendar (not the raw row) decides."""
    weekend = day.weekday() >= 5
    if cal.is_workday(day):
        return "makeup" if weekend else "workday"
    if not weekend:
        return "holiday"
    loaded = day.year in cal.loaded_years
    return "holiday" if loaded and row is not None and row.kind == "holiday" else "weekend"


def _status_labels() -> dict[str, str]:
    return {"workday": _("Working day"), "weekend": _("Weekend"), "holiday": _("Holiday"),
            "makeup": _("Make-up workday")}


def _badges() -> dict[str, str]:
    return {"holiday": pgettext("calendar", "Off"), "makeup": pgettext("calendar", "Work")}


class CalendarView(BaseView):
    """Month grid of the working-day calendar; only the administrator has its permissions."""

    route_base = "/calendar"
    default_view = "month"
    class_permission_name = "Calendar"
    method_permission_name = {"month": "list", "change": "edit"}

    @expose("/")
    @expose("/<int:year>/<int:month>/")
    @has_access
    def month(self, year: int | None = None, month: int | None = None):
        today = shanghai_today()
        if year is None or month is None:
            year, month = _parse_month(request.args.get("ym")) or (today.year, today.month)
        if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
            abort(404)
        selected = _parse_day(request.args.get("day"))
        if selected is not None and (selected.year, selected.month) != (year, month):
            selected = None
        service = _service()
        session = _core().db.session
        cal = service.calendar()
        first = dt.date(year, month, 1)
        last = dt.date(year, month, pycalendar.monthrange(year, month)[1])
        rows = service.day_rows(session, first, last)
        labels, badges = _status_labels(), _badges()
        weeks = []
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            cells = []
            for day in week:
                if day.month != month:
                    cells.append(None)
                    continue
                row = rows.get(day)
                status = _status(day, cal, row)
                cells.append({"date": day, "iso": day.isoformat(), "status": status,
                              "label": labels[status], "badge": badges.get(status, ""),
                              "name": row.name if row is not None and day.year in cal.loaded_years else "",
                              "admin": row is not None and row.source == "admin",
                              "today": day == today, "selected": day == selected})
            weeks.append(cells)
        names = get_day_names("abbreviated", locale=_locale())
        year_row = next((r for r in service.year_rows(session) if r.year == year), None)
        edit = None
        if selected is not None:
            row = rows.get(selected)
            status = _status(selected, cal, row)
            edit = {"iso": selected.isoformat(), "weekday": weekday_name(selected),
                    "status": labels[status], "name": row.name if row is not None else "",
                    "source": _source_label(row.source) if row is not None else "",
                    "weekend": selected.weekday() >= 5, "loaded": year in cal.loaded_years,
                    "has_row": row is not None}
        prev_month = (first - dt.timedelta(days=1)).replace(day=1)
        next_month = last + dt.timedelta(days=1)
        unloaded = service.unloaded_years_within(days=60, today=today)
        return self.render_template(
            "calendar_month.html",
            title=_("Working-day calendar"),
            heading=format_skeleton("yMMMM", first, locale=_locale()),
            weekdays=[names[i] for i in range(7)], weeks=weeks, year=year, month=month,
            provisional=year not in cal.loaded_years,
            year_info={"source": _source_label(year_row.source), "loaded_on": i18n.fmt_datetime(year_row.loaded_on),
                       "note": _year_note(year_row)} if year_row is not None else None,
            workdays=workdays_in_year(cal, year),
            prev_url=url_for("CalendarView.month", year=prev_month.year, month=prev_month.month)
            if prev_month.year >= FIRST_YEAR else None,
            next_url=url_for("CalendarView.month", year=next_month.year, month=next_month.month)
            if next_month.year <= LAST_YEAR else None,
            today_url=url_for("CalendarView.month", year=today.year, month=today.month),
            unloaded=unloaded, unloaded_text=i18n.punctuation()["enum"].join(str(y) for y in unloaded),
            edit=edit, badges=badges, labels=labels,
        )

    @expose("/day", methods=["POST"])
    @has_access
    def change(self):
        form = request.form
        day = _parse_day(form.get("day"))
        if day is None:
            abort(400)
        back = url_for("CalendarView.month", year=day.year, month=day.month, day=day.isoformat())
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            try:
                validate_csrf(form.get("csrf_token"))
            except ValidationError:
                flash(_("The form has expired; please try again."), "danger")
                return redirect(back)
        action = form.get("action", "")
        if action not in ("holiday", "workday", "default"):
            abort(400)
        try:
            changed = _service().set_day(_core().db.session, day, action, form.get("name", ""))
        except CalendarError as exc:
            flash(exc.format(_), "danger")
            return redirect(back)
        if changed:
            audit.record("calendar.edit", day.isoformat(), {"action": action, "name": form.get("name", "")})
        if not changed:
            flash(_("Nothing changed: %(date)s already is so.", date=day.isoformat()), "info")
        elif action == "holiday":
            flash(_("%(date)s is now a holiday (day off).", date=day.isoformat()), "success")
        elif action == "workday":
            flash(_("%(date)s is now a make-up workday.", date=day.isoformat()), "success")
        else:
            flash(_("%(date)s now follows the weekday rule.", date=day.isoformat()), "success")
        return redirect(back)


def _parse_month(text: str | None) -> tuple[int, int] | None:
    """'2026-10' from the month picker."""
    parts = (text or "").split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _parse_day(text: str | None) -> dt.date | None:
    if not text or len(text) != 10:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def register_view(appbuilder, core) -> None:
    """Menu item under 基础数据 (the model's `basics` menu) when the model has one."""
    menu = core.model.menus.get("basics") if isinstance(core.model.menus, dict) else None
    if menu is not None:
        appbuilder.add_view(CalendarView, "calendar", label=lazy_gettext("Working-day calendar"),
                            icon="fa-calendar", category="basics", category_label=i18n.label(menu),
                            category_icon=menu.icon)
    else:
        appbuilder.add_view(CalendarView, "calendar", label=lazy_gettext("Working-day calendar"),
                            icon="fa-calendar", category="")
