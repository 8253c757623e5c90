"""业扩通: create_app() turns model.yaml into a database, screens, APIs and roles."""
from __future__ import annotations

import logging
import os
import sys

from flask import Flask

log = logging.getLogger(__name__)


def _load_model(app: Flask):
    from app.model.loader import load_file
    from app.model.problems import ModelError
    from app.i18n import model_gettext
    from app.security.secret_key import refuse_to_start

    from app.model.loader import load_text
    from app.versions.store import active_text

    try:
        # Which model: a text handed in (`model apply` builds the new version's app), else the active
        # version stored in the database (so an apply on one host reaches all), else MODEL_PATH.
        if app.config.get("MODEL_TEXT") is not None:
            app.config["MODEL_VERSION_NUMBER"] = app.config.get("MODEL_VERSION_NUMBER")
            return load_text(app.config["MODEL_TEXT"], app.config.get("MODEL_SOURCE") or "model.yaml")
        stored = active_text(app.config["SQLALCHEMY_DATABASE_URI"]) if app.config.get("MODEL_FROM_DATABASE", True) else None
        if stored is not None:
            app.config["MODEL_VERSION_NUMBER"] = stored[0]
            return load_text(stored[1], f"version {stored[0]}")
        app.config["MODEL_VERSION_NUMBER"] = None
        return load_file(app.config["MODEL_PATH"])
    except ModelError as exc:
        gettext = model_gettext(app.config["BABEL_DEFAULT_LOCALE"], app.config["BABEL_TRANSLATION_DIRECTORIES"])
        lines = list(exc.lines(gettext))
        lines.append(gettext("{count} problem(s) in {file}: the application was not started.")
                     .format(count=len(exc.problems), file=exc.filename))
        refuse_to_start("\n".join(lines))


def _check_storage(app: Flask, engine) -> None:
    """Refuse to serve on a database or upload folder that cannot be written (management commands
    other than `run` skip it: `model check` needs no database)."""
    from app.database.errors import unwritable
    from app.security.secret_key import refuse_to_start

    if not app.config.get("STORAGE_CHECK", True):
        return
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true" and "run" not in sys.argv[1:]:
        return
    problems = unwritable(engine, app.config.get("UPLOAD_FOLDER"))
    if problems:
        refuse_to_start("error: the application cannot save data: " + "; ".join(problems)
                        + ". Fix the permissions or DATABASE_URL / UPLOAD_FOLDER; the application was not started.")


def _check_scan_store(app: Flask) -> None:
    from app import storage
    from app.security.secret_key import refuse_to_start

    problem = storage.problem(app)
    if problem:
        refuse_to_start(problem + "; the application was not started.")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; refuses to start on an invalid model or a missing secret.

    The parts are composed in this order, each handed what it needs: later parts subscribe to the
    events of earlier ones (a step reaches the deadlines before the assessment ledger).
    """
    from flask_appbuilder import AppBuilder
    from flask_appbuilder.models.sqla.base import SQLA
    from flask_wtf.csrf import generate_csrf

    from app import assessment, cases, cli, deadlines, generated, portal, printing, security, storage, versions
    from app.core import YeKuoTong
    from app.database import connection
    from app.security.roles import role_permissions, screen_permissions

    app = Flask(__name__, instance_path=os.path.join(os.path.dirname(os.path.dirname(__file__)), "instance"))
    app.config.from_object("config")
    if test_config:
        app.config.update(test_config)
    security.init_app(app)  # secret key, CSRF, rate limiter, headers, error pages, API guard
    for folder in (app.instance_path, app.config["UPLOAD_FOLDER"]):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            from app.security.secret_key import refuse_to_start

            refuse_to_start(f"error: the folder {folder} cannot be created ({exc.strerror}). Set UPLOAD_FOLDER "
                            "to a writable folder; the application was not started.")
    loaded = _load_model(app)
    core = YeKuoTong(app, loaded)  # generated classes, the step engine, the to-do queue
    app.config["FAB_ROLES"] = role_permissions(loaded.model, screen_permissions(loaded.model))
    from app.i18n import text as bilingual

    app.config["APP_NAME"] = bilingual(loaded.model.app.name_zh, loaded.model.app.name_en)  # in the request's language
    db = SQLA(app)
    core.db = db
    _check_scan_store(app)
    storage.init_app(app, db)  # uploaded scans: this host's folder or the shared database
    with app.app_context():
        connection.configure(db.engine)  # SQLite: foreign keys on, DDL inside transactions
        _check_storage(app, db.engine)
        appbuilder = AppBuilder(app, db.session)
        portal.init_app(app, core, appbuilder)          # 我的待办 menu, workbench templates
        view_bases, api_bases = cases.init_app(app, core, appbuilder)  # workflow API, case page, edit rules
        generated.init_app(app, core, appbuilder, view_bases, api_bases)  # a screen and an API per entity
        printing.init_app(app, core, appbuilder)        # printed forms, verification
        deadlines.init_app(app, core, appbuilder)       # calendar, timers: first receiver of step_taken
        assessment.init_app(app, core, appbuilder)      # fines: after deadlines, receives breaches
        security.init_views(app, core, appbuilder)      # login limits, token revocation, audit log
        app.extensions["ykt_app_factory"] = create_app  # another version's app: apply, hot pickup
        versions.init_app(app, core, appbuilder)        # stored versions; follows a newly applied one
    app.jinja_env.globals["csrf_token"] = generate_csrf
    cli.init_app(app)
    return app
