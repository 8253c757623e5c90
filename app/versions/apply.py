"""`model apply` as one step: check, diff against the active version, refuse stranding cases unless the
new model maps them, migrate the schema, move mapped cases, store the new version and activate it —
in one transaction on SQLite and PostgreSQL. Rollback is the apply of an earlier version's text.

The new version's app (its generated classes and tables) is built from the text and does the work,
as `model apply` always did; the app asking (a CLI process, an admin's browser request) keeps
serving its own version until app/versions/follow.py picks the new one up.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import SimpleNamespace

from flask import Flask, current_app, g, has_request_context
from flask_appbuilder import Model
from sqlalchemy.orm import Session, relationship

from app import events, i18n
from app.database import migrate
from app.database.apply import seed_reference_data
from app.generated import classes as generated_classes
from app.model.loader import LoadedModel, load_text
from app.model.problems import ModelError, N_
from app.security.user import StaffUser
from app.security import audit  # the actor of a command-line apply
from app.versions import store

log = logging.getLogger(__name__)

#: Test hook: seconds to sleep after the first schema step (a killed apply must change nothing).
PAUSE_ENV = "YKT_APPLY_PAUSE_AFTER_FIRST_STEP"

INVALID = N_("The model has {n} problem(s); nothing was applied.")
CONFLICT = N_("Version {number} was applied by {user} at {time} since you started; review it and apply again.")
STRANDED = N_("Refused: {change} — applications {numbers}. Map them under migrate: in the model.")
LOSS_HINT = N_("Nothing was changed. Re-run with --force to accept the loss.")

#: The signed-in admin of a browser apply, as plain values read before the apply starts (reading the
#: ORM user later would open a read transaction beside the apply's, which SQLite's lock refuses).
_ACTOR: ContextVar = ContextVar("ykt_apply_actor", default=None)


class ApplyRefused(Exception):
    """Nothing was applied; ``lines(gettext)`` says why (checker problems with their positions,
    stranded applications by number, data a change would lose, or a concurrent apply)."""

    def __init__(self, kind: str, *, problems=None, filename: str = "", strandings=None, losses=None,
                 conflict: dict | None = None, changes=None):
        self.kind = kind  # invalid | stranded | losses | conflict
        self.problems = list(problems or [])
        self.filename = filename
        self.strandings = list(strandings or [])
        self.losses = list(losses or [])
        self.conflict = conflict or {}
        self.changes = list(changes or [])
        super().__init__(" / ".join(self.lines()))

    def lines(self, gettext=lambda s: s) -> list[str]:
        if self.kind == "invalid":
            return [p.format(self.filename, gettext) for p in self.problems] + [
                gettext(INVALID).format(n=len(self.problems))]
        if self.kind == "conflict":
            return [gettext(CONFLICT).format(**self.conflict)]
        if self.kind == "stranded":
            from app.model.diff import render

            out = []
            for s in self.strandings:
                change = (render([s.change], gettext) or [s.change.kind])[0]
                count = max(getattr(s, "count", 0) or 0, len(s.numbers))
                numbers = "、".join(list(s.numbers)[:20]) + (f" …（{count}）" if count > 20 else "")
                out.append(gettext(STRANDED).format(change=change, numbers=numbers))
            return out
        return ["refused: " + gettext(t).format(**p) for t, p in self.losses] + [gettext(LOSS_HINT)]


@dataclass
class ApplyResult:
    number: int | None = None          # the version stored (None: nothing stored)
    previous: int | None = None        # the version that was active before
    version: str = ""                  # the model's own `version:` string
    changes: list = field(default_factory=list)     # diff.Change items against the previous version
    operations: list[str] = field(default_factory=list)  # schema operations run (or that would run)
    moved: int = 0                     # mapped cases moved
    timers_closed: int = 0             # running timers the new model no longer applies (timer_migration)
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def up_to_date(self) -> bool:
        return self.number is None and not self.dry_run

    @property
    def losses(self) -> list:  # compatibility with migrate.Plan readers
        return []

    def summary(self, gettext) -> list[str]:
        """A few readable lines: what changed in plain words, then one line with the outcome."""
        from app.model.diff import render

        lines = [f"  {line}" for line in render(self.changes, gettext)]
        params = {"number": self.number, "previous": self.previous or "—", "version": self.version,
                  "ops": len(self.operations), "moved": self.moved, "seconds": f"{self.seconds:.1f}"}
        if self.dry_run:
            lines.append(gettext(N_("Dry run: {n} change(s), {ops} schema operation(s) would run; nothing "
                                    "was changed.")).format(n=len(self.changes), **params))
        elif self.number is None:
            lines.append(gettext(N_("The database is up to date (version {previous}).")).format(**params))
        else:
            lines.append(gettext(N_("Applied version {number} (model {version}, before: {previous}): "
                                    "{ops} schema operation(s), {moved} case(s) moved, in {seconds} s."))
                         .format(**params))
            if self.timers_closed:
                lines.append(gettext(N_("{n} running time limit(s) no longer apply and were closed (each "
                                        "application's history says so).")).format(n=self.timers_closed))
        return lines


class _DryRun(Exception):
    pass


def apply_model(content: str, *, source: str, comment: str = "", user: str | None = None, force: bool = False,
                dry_run: bool = False, based_on: int | None | bool = False) -> ApplyResult:
    """Apply ``content`` (a model text) in the current app's database. ``based_on``: the active version
    number the admin saw (None: none yet); another version applied meanwhile refuses with who and when."""
    started = time.monotonic()
    asking = current_app._get_current_object()
    old_core = asking.extensions["yekuotong"]
    actor = _signed_in()
    # The apply runs on its own connection: end the caller's transaction first (on SQLite its read
    # lock would keep the apply from committing).
    old_core.db.session.commit()
    try:
        loaded = load_text(content, source)
    except ModelError as exc:
        raise ApplyRefused("invalid", problems=exc.problems, filename=exc.filename) from None
    target = asking if loaded.digest == old_core.loaded.digest else _build_app(asking, content, source)
    # The action log, the version row and the history rows of moved cases name the signed-in admin; the
    # new version's app context has a `g` of its own, so the admin is handed to it.
    token = _ACTOR.set(actor)
    try:
        with target.app_context():
            if actor is not None and target is not asking:
                g.user = actor
            result = _apply(target, old_core, loaded, content, comment=comment, user=user, force=force,
                            dry_run=dry_run, based_on=based_on)
            if result.number is not None:
                seed_reference_data()
                events.model_applied.send(target.extensions["yekuotong"], session=target.extensions["yekuotong"].db.session)
    finally:
        _ACTOR.reset(token)
        if target is not asking:
            with target.app_context():
                target.extensions["yekuotong"].db.session.remove()
                target.extensions["yekuotong"].db.engine.dispose()
            _use_schema(old_core)  # the asking app's tables again (a refused apply changes nothing here)
    result.seconds = time.monotonic() - started
    return result


def _build_app(asking: Flask, content: str, source: str) -> Flask:
    create_app = asking.extensions["ykt_app_factory"]  # app.create_app (set by app.versions.init_app)
    config = {k: v for k, v in asking.config.items() if k.isupper() and k not in ("FAB_ROLES", "APP_NAME")}
    config.update(MODEL_TEXT=content, MODEL_SOURCE=source, MODEL_FOLLOW=False, SLA_SWEEP_IN_PROCESS=False,
                  STORAGE_CHECK=False)
    return create_app(config)


def _use_schema(core) -> None:
    """Make ``core``'s generated tables the ones on the shared metadata (another app built in this
    process may have put its own there)."""
    tables = [cls.__table__ for cls in core.orm.classes.values()]
    if all(Model.metadata.tables.get(t.key) is t for t in tables):
        return
    for t in generated_classes._current.get("tables", []):
        if Model.metadata.tables.get(t.key) is t:
            Model.metadata.remove(t)
    for t in tables:
        Model.metadata._add_table(t.name, t.schema, t)
    for t in tables:  # foreign keys naming these tables by text ("unit.id") point at them again
        for col in t.columns:
            col._setup_on_memoized_fks(lambda fk, t=t: fk._set_remote_table(t))
    StaffUser.__mapper__.add_property(
        "unit", relationship(core.orm["unit"], foreign_keys=[StaffUser.__table__.c.unit_id]))
    generated_classes._current.update(digest=core.loaded.digest, orm=core.orm, tables=tables)


def _apply(target: Flask, old_core, loaded: LoadedModel, content: str, *, comment, user, force, dry_run,
           based_on) -> ApplyResult:
    core = target.extensions["yekuotong"]
    _use_schema(core)
    with core.db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds altered tables (copy, drop, rename): with foreign keys enforced the drop
            # counts every referencing row as a violation. Off for this connection (only possible
            # outside a transaction), checked as a whole before commit, on again afterwards.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
            # Take the write lock when the transaction begins, waiting for another apply to finish: a
            # transaction that read first cannot wait for it (SQLite answers "database is locked").
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=120000")
            conn.info["ykt_begin"] = "BEGIN IMMEDIATE"
        try:
            with conn.begin():
                try:
                    result = _in_transaction(conn, core, old_core, loaded, content, comment=comment, user=user,
                                             force=force, dry_run=dry_run, based_on=based_on)
                except _DryRun as stop:
                    conn.rollback()
                    return stop.args[0]
        finally:
            if sqlite:
                conn.info.pop("ykt_begin", None)
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
                conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=5000")
    if result.number is not None:
        core.version_number = result.number
    return result


def _lock(conn) -> None:
    migrate.lock(conn)  # PostgreSQL: advisory lock until the transaction ends
    # SQLite: the transaction began with BEGIN IMMEDIATE (see _apply), i.e. holding the write lock.


def _in_transaction(conn, core, old_core, loaded, content, *, comment, user, force, dry_run, based_on):
    _lock(conn)
    active = store.active_on(conn)
    active_number = active.number if active is not None else None
    if based_on is not False and based_on != active_number:
        raise ApplyRefused("conflict", conflict={"number": active_number, "user": active.applied_by or "?",
                                                 "time": _hhmm(active.applied_on)})
    old_model = load_text(active.content, f"version {active_number}").model if active is not None \
        else old_core.model
    new_model = loaded.model
    changes, mapping = _changes(old_model, new_model)
    session = Session(bind=conn)
    try:
        if changes:
            strandings = _stranded(session, old_core, old_model, new_model, changes, mapping)
            if strandings:
                raise ApplyRefused("stranded", strandings=strandings, changes=changes)
        plan = migrate.plan(conn, Model.metadata)
        result = ApplyResult(previous=active_number, version=new_model.version, changes=changes,
                             operations=list(plan.changes), dry_run=dry_run)
        if plan.losses and not force:
            raise ApplyRefused("losses", losses=plan.losses, changes=changes)
        if dry_run:
            raise _DryRun(result)
        if active is not None and active.digest == loaded.digest and not plan.steps:
            return result  # up to date: nothing stored
        _execute(conn, plan.steps)
        result.operations += migrate.complete(
            conn, Model.metadata, lambda: events.schema_migrated.send(core, connection=conn))
        if mapping and active is not None:
            result.moved = _impact().move_mapped(session, old_core, old_model, new_model, mapping,
                                                 user=_acting(user))
        if active is not None and old_model is not None:
            from app.versions.impact import _who as history_name
            from app.versions.timer_migration import close_timers

            acting = _acting(user)
            result.timers_closed = close_timers(session, old_model, new_model, who=history_name(acting),
                                                uid=getattr(acting, "id", None))
        session.flush()
    finally:
        session.close()
    store.number_legacy_rows(conn)
    result.number = store.next_number(conn)
    conn.execute(store.ModelVersion.__table__.insert().values(
        number=result.number, digest=loaded.digest, version=new_model.version, applied_on=_now(),
        applied_by=(user or getattr(_ACTOR.get(), "username", None) or _who())[:256], comment=comment or "", content=content,
        changes="\n".join(result.operations)))
    log.info("model version %s applied (%d schema operation(s))", result.number, len(plan.steps))
    return result


def _changes(old_model, new_model) -> tuple[list, dict]:
    from app.model.diff import diff

    mapping = getattr(new_model, "migrate", None)
    if hasattr(mapping, "model_dump"):
        mapping = mapping.model_dump()
    return (diff(old_model, new_model) if old_model is not None else []), (mapping or {})


def _stranded(session, old_core, old_model, new_model, changes, mapping) -> list:
    impact = _impact()
    if impact is None:
        log.warning("app.versions.impact missing: stranding not checked")
        return []
    return list(impact.stranded(session, old_core, old_model, new_model, changes, mapping))


def _impact():
    """app/versions/impact.py (which cases a change strands, moving mapped ones), None while absent."""
    import importlib

    try:
        return importlib.import_module("app.versions.impact")
    except ModuleNotFoundError as exc:
        if exc.name != "app.versions.impact":
            raise
        return None


def _execute(conn, steps: list) -> None:
    pause = float(os.environ.get(PAUSE_ENV) or 0)
    if not pause or len(steps) < 2:
        migrate.execute(conn, steps, Model.metadata)
        return
    migrate.execute(conn, steps[:1], Model.metadata)
    sys.stderr.write(f"apply paused after step 1 of {len(steps)}\n")
    sys.stderr.flush()
    time.sleep(pause)
    migrate.execute(conn, steps[1:], None)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _hhmm(value) -> str:
    if value is None:
        return "?"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(i18n.SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _signed_in():
    """The signed-in user of the request as plain values (id, username, full name), else None."""
    user = getattr(g, "user", None) if has_request_context() else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return SimpleNamespace(id=user.id, username=user.username, is_authenticated=True,
                           get_full_name=lambda: full)


def _acting(user: str | None):
    """Who the history rows of this apply name: the signed-in admin (with their id) when ``user`` is theirs
    or not given, else ``user`` (a name), else the command-line account."""
    signed_in = _ACTOR.get()
    if signed_in is not None and user in (None, signed_in.username):
        return signed_in
    return user or _who()


def _who() -> str:
    _ident, name, _source, _ip = audit._actor(None)
    return name


