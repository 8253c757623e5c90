"""Command line: `flask model check|apply` and `flask demo load`."""
from __future__ import annotations

import os
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.i18n import model_gettext
from app.model.problems import N_

model_cli = AppGroup("model", help="Check the model file and apply it to the database.")
demo_cli = AppGroup("demo", help="Demo users and applications.")


def _gettext():
    return model_gettext(current_app.config["BABEL_DEFAULT_LOCALE"],
                         current_app.config["BABEL_TRANSLATION_DIRECTORIES"])


def summary(model) -> str:
    wf = model.workflow
    return (f"{len(model.entities)} entities, {len(model.roles)} roles, "
            f"{len(wf.stages) if wf else 0} stages, {len(wf.transitions) if wf else 0} transitions, "
            f"{len(model.timers)} timers, {len(model.fines)} fine rules, {len(model.forms)} forms")


@model_cli.command("check")
@click.argument("path", required=False)
@click.option("--lang", type=click.Choice(["zh", "en"]), envvar="YKT_LANG", default=None,
              help="Language of the messages (default: the app's, Chinese).")
def check_command(path: str | None, lang: str | None) -> None:
    """Print every problem of PATH (default: MODEL_PATH) as FILE:LINE:COL: error CODE: message."""
    from app.model.loader import load_file
    from app.model.problems import ModelError

    gettext = _gettext() if lang is None else model_gettext(lang, current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    path = path or current_app.config["MODEL_PATH"]
    try:
        loaded = load_file(path)
    except ModelError as exc:
        for line in exc.lines(gettext):
            click.echo(line)
        click.echo(gettext(N_("{count} problem(s) in {file}")).format(count=len(exc.problems), file=exc.filename),
                   err=True)
        sys.exit(1)
    # Kept in English: scripts and tests/test_national_model.py read "OK, version …".
    click.echo(f"{path}: OK, version {loaded.model.version}: {summary(loaded.model)}")


@model_cli.command("apply")
@click.argument("path", required=False)
@click.option("--comment", default="", help="Why: kept with the version and in the action log.")
@click.option("--version", "number", type=int, default=None,
              help="Apply a stored version's text again (rollback), with the same checks.")
@click.option("--force", is_flag=True, help="Apply even when data would be lost.")
@click.option("--dry-run", is_flag=True, help="Show the changes without making them.")
@click.option("--lang", type=click.Choice(["zh", "en"]), envvar="YKT_LANG", default=None,
              help="Language of the summary (default: the app's, Chinese).")
@click.option("--based-on", type=int, default=None,
              help="The active version you reviewed: refused if another one was applied since.")
def apply_command(path: str | None, comment: str, number: int | None, force: bool, dry_run: bool,
                  lang: str | None, based_on: int | None) -> None:
    """Check PATH (default: MODEL_PATH), show what changes, migrate the database and activate it as a
    new version; refuses stranding applications or losing data (unless --force)."""
    from app.database.migrate import MigrationError
    from app.versions import store
    from app.versions.apply import ApplyRefused, apply_model

    gettext = _gettext() if lang is None else model_gettext(lang, current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    if number is not None:
        stored = store.get(current_app.extensions["yekuotong"].db.session, number)
        if stored is None or stored.content is None:
            click.echo(gettext(N_("There is no stored version {number} to apply.")).format(number=number), err=True)
            sys.exit(1)
        content, source = stored.content, f"version {number}"
        comment = comment or gettext(N_("back to version {number}")).format(number=number)
    else:
        source = path or current_app.config["MODEL_PATH"]
        try:
            with open(source, encoding="utf-8") as handle:
                content = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"error: {source}: {exc}", err=True)
            sys.exit(1)
    try:
        result = apply_model(content, source=source, comment=comment, force=force, dry_run=dry_run,
                             based_on=False if based_on is None else based_on)
    except ApplyRefused as exc:
        for line in exc.lines(gettext):
            click.echo(line, err=True)
        sys.exit(1)
    except MigrationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for line in result.summary(gettext):
        click.echo(line)


@model_cli.command("diff")
@click.argument("path", required=False)
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Language (default: the app's, Chinese).")
def diff_command(path: str | None, lang: str | None) -> None:
    """Say in plain words what PATH (default: MODEL_PATH) changes against the active version, and how many
    applications in flight each change touches. Exit 1 on checker problems or applications it would strand."""
    from app.versions.preview import preview

    path = path or current_app.config["MODEL_PATH"]
    gettext = _gettext() if lang is None else model_gettext(lang, current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"error: {path}: {exc}", err=True)
        sys.exit(1)
    core = current_app.extensions["yekuotong"]
    result = preview(core.db.session, core, text, path)
    if not result.ok:
        for problem in result.problems:
            click.echo(problem.format(result.filename, gettext))
        sys.exit(1)
    click.echo(result.base_line(gettext))
    for line in result.lines(gettext) or [gettext(N_("No changes."))]:
        click.echo(f"  {line}")
    for line in result.stranding_lines(gettext):
        click.echo(line, err=True)
    sys.exit(1 if result.strandings else 0)


@model_cli.command("check-data")
def check_data_command() -> None:
    """List applications whose record the closed loop cannot vouch for (e.g. no accepting clerk)."""
    from app.cases.records import data_warnings

    core = current_app.extensions["yekuotong"]
    warnings = data_warnings(core, core.db.session) if core.engine is not None else []
    for number, text in warnings:
        click.echo(f"{number}: {text}")
    gettext = _gettext()
    click.echo(gettext(N_("%(n)d application(s) need attention.")) % {"n": len(warnings)} if warnings
               else gettext(N_("No data problems found.")))
    sys.exit(1 if warnings else 0)


@demo_cli.command("load")
def demo_load_command() -> None:
    """Create demo users (one per role) and demo applications, once. Only in demo mode (YKT_DEMO=1)."""
    from app.demo import load_demo

    if os.environ.get("YKT_DEMO") != "1":
        gettext = _gettext()
        click.echo(gettext("Refused: demo data (users with published passwords) is loaded only in demo "
                              "mode. Set YKT_DEMO=1 for a demo or development database; never on a "
                              "production database."), err=True)
        sys.exit(1)
    for line in load_demo():
        click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(model_cli)
    app.cli.add_command(demo_cli)
