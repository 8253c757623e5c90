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
def check_command(path: str | None) -> None:
    """Print every problem of PATH (default: MODEL_PATH) as FILE:LINE:COL: error CODE: message."""
    from app.model.loader import load_file
    from app.model.problems import ModelError

    path = path or current_app.config["MODEL_PATH"]
    try:
        loaded = load_file(path)
    except ModelError as exc:
        for line in exc.lines(_gettext()):
            click.echo(line)
        click.echo(f"{len(exc.problems)} problem(s) in {exc.filename}", err=True)
        sys.exit(1)
    click.echo(f"{path}: OK, version {loaded.model.version}: {summary(loaded.model)}")


@model_cli.command("apply")
@click.option("--force", is_flag=True, help="Apply even when data would be lost.")
@click.option("--dry-run", is_flag=True, help="Show the changes without making them.")
def apply_command(force: bool, dry_run: bool) -> None:
    """Create or upgrade the database to the model; refuses to lose data unless --force."""
    from app.database.apply import apply_model

    from app.database.migrate import MigrationError

    try:
        result = apply_model(force=force, dry_run=dry_run)
    except MigrationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    gettext = _gettext()
    for change in result.changes:
        click.echo(f"  {change}")
    if result.losses and not force:
        for template, params in result.losses:
            click.echo("refused: " + gettext(template).format(**params), err=True)
        click.echo(gettext("Nothing was changed. Re-run with --force to accept the loss."), err=True)
        sys.exit(1)
    state = "would change" if dry_run else "applied"
    click.echo(f"model {current_app.extensions['yekuotong'].model.version}: "
               f"{len(result.changes)} change(s) {state}" if result.changes else "database is up to date")


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
