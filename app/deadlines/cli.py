"""`flask calendar import|add-workdays|is-workday|years` and `flask sla sweep`: deadlines from the shell.

Messages are printed in the default locale (BABEL_DEFAULT_LOCALE), like `flask model check`.
"""
from __future__ import annotations

import datetime as dt
import re
import sys

import click
from flask import current_app, has_app_context
from flask.cli import AppGroup, ScriptInfo

from app import i18n
from app.i18n import model_gettext
from app.workflow.calendar import FIRST_YEAR, LAST_YEAR
from app.workflow.notice import N_, NoticeError, parse_notice

calendar_cli = AppGroup("calendar", help="Working-day calendar: load State Council notices, compute dates.")

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _gettext(ctx: click.Context | None = None):
    """Translations of the default locale; while click parses arguments there may be no app
    context yet, so the app is then taken from the command's ScriptInfo."""
    app = current_app._get_current_object() if has_app_context() else None
    if app is None and ctx is not None:
        info = ctx.find_object(ScriptInfo)
        app = info.load_app() if info is not None else None
    if app is None:
        return N_
    return model_gettext(app.config["BABEL_DEFAULT_LOCALE"], app.config["BABEL_TRANSLATION_DIRECTORIES"])


def _service():
    return current_app.extensions["yekuotong"].calendar_service


def _session():
    return current_app.extensions["yekuotong"].db.session


class DateType(click.ParamType):
    """YYYY-MM-DD inside the calendar span; anything else is a usage error (exit 2)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        day = None
        if _DATE_RE.fullmatch(text):
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                day = None
        gettext = _gettext(ctx)
        if day is None:
            self.fail(gettext("'{value}' is not a valid date (expected YYYY-MM-DD).").format(value=text), param, ctx)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            self.fail(gettext("{date} is outside the calendar span {first} to {last}.").format(
                date=day.isoformat(), first=FIRST_YEAR, last=LAST_YEAR), param, ctx)
        return day


DATE = DateType()


def _provisional(text: str, provisional: bool) -> str:
    return _gettext()(N_("{value} (provisional)")).format(value=text) if provisional else text


@calendar_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--note", default="", help="A note kept with the year (e.g. the notice's number).")
def import_command(file: str, note: str) -> None:
    """Load one year's official schedule from a State Council notice (CSV or YAML)."""
    from app.deadlines.calendar_store import CalendarError

    gettext = _gettext()
    try:
        notice = parse_notice(file)
    except NoticeError as exc:
        for problem in exc.problems:
            where = f"{file}:{problem.line}" if problem.line is not None else file
            click.echo(f"{where}: error {problem.code}: {problem.format(gettext)}", err=True)
        click.echo(gettext(N_("{count} problem(s) in {file}: nothing was written.")).format(
            count=len(exc.problems), file=file), err=True)
        sys.exit(1)
    try:
        result = _service().load_notice(_session(), notice, source="import", note=note or file)
    except CalendarError as exc:
        click.echo(f"{file}: error {exc.code}: {exc.format(gettext)}", err=True)
        sys.exit(1)
    click.echo(gettext(N_("Loaded {year} from {file}: {holidays} holiday(s), {workdays} make-up workday(s); "
                          "{count} working days in the year.")).format(
        year=result.year, file=file, holidays=result.holidays, workdays=result.workdays,
        count=result.working_days))


@calendar_cli.command("add-workdays")
@click.argument("day", metavar="DATE", type=DATE)
@click.argument("n", type=click.IntRange(min=0))
def add_workdays_command(day: dt.date, n: int) -> None:
    """Print the N-th working day after DATE (DATE itself not counted)."""
    cal = _service().calendar()
    try:
        result = cal.add_working_days(day, n)
    except ValueError:
        raise click.BadParameter(_gettext()(N_("{n} working days after {date} is beyond the calendar span end {last}."))
                                 .format(n=n, date=day.isoformat(), last=cal.span[1].isoformat()),
                                 param_hint="N") from None
    click.echo(_provisional(result.isoformat(), bool(cal.provisional_years_in(day, result))))


@calendar_cli.command("is-workday")
@click.argument("day", metavar="DATE", type=DATE)
def is_workday_command(day: dt.date) -> None:
    """Print true or false: is DATE a working day?"""
    cal = _service().calendar()
    click.echo(_provisional("true" if cal.is_workday(day) else "false", cal.is_provisional(day)))


@calendar_cli.command("years")
def years_command() -> None:
    """List the years whose official schedule is loaded."""

    rows = _service().year_rows(_session())
    if not rows:
        click.echo(_gettext()(N_("No year is loaded.")))
        return
    for row in rows:
        click.echo(f"{row.year}  {row.source:<15}  {i18n.fmt_datetime(row.loaded_on)}  {row.note}".rstrip())


sla_cli = AppGroup("sla", help="Deadlines (SLA timers).")


@sla_cli.command("sweep")
@click.option("--now", "now_text", default=None, help="ISO-8601 time to sweep at (default: now).")
def sweep_command(now_text: str | None) -> None:
    """Mark overdue timers and record each new breach once."""
    now = None
    if now_text:
        try:
            now = dt.datetime.fromisoformat(now_text)
        except ValueError as exc:
            raise click.BadParameter(f"not an ISO-8601 time: {now_text}") from exc
        if now.tzinfo is None:
            now = now.replace(tzinfo=i18n.SHANGHAI)
    core = current_app.extensions["yekuotong"]
    count = core.sla.sweep(core.db.session, now)
    click.echo(f"{count} new breach(es) recorded")
