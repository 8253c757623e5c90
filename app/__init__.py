"""业扩通: create_app() turns model.yaml into a database, screens, APIs and roles."""
from __future__ import annotations

import logging
import os
import secrets
import sys

from flask import Flask

log = logging.getLogger(__name__)
DEV_SECRET = "dev-only-not-for-production"


def _secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing or os.environ.get("YKT_DEMO") == "1":
        app.config["SECRET_KEY"] = DEV_SECRET
        return
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true" and "run" not in sys.argv[1:]:
        # A management command (model check, model apply) signs no sessions: a throw-away key.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    sys.stderr.write("error: SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long "
                     "random value (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
                     "or set FLASK_DEBUG=1 / YKT_DEMO=1 for a development server.\n")
    raise SystemExit(1)


def _load_model(app: Flask):
    from app.model.loader import load_file
    from app.model.problems import ModelError
    from app.i18n import model_gettext

    try:
        return load_file(app.config["MODEL_PATH"])
    except ModelError as exc:
        gettext = model_gettext(app.config["BABEL_DEFAULT_LOCALE"], app.config["BABEL_TRANSLATION_DIRECTORIES"])
        for line in exc.lines(gettext):
            sys.stderr.write(line + "\n")
        sys.stderr.write(f"{len(exc.problems)} problem(s) in {exc.filename}: the application was not started.\n")
        raise SystemExit(1) from None


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; refuses to start on an invalid model or a missing secret.

    The parts are composed in this order, each handed what it needs: later parts subscribe to the
    events of earlier ones (a step reaches the deadlines before the assessment ledger).
    """
    from flask_appbuilder import AppBuilder
    from flask_appbuilder.models.sqla.base import SQLA
    from flask_wtf.csrf import generate_csrf

    from app import assessment, cases, cli, deadlines, generated, portal, printing
    from app.core import YeKuoTong
    from app.security.roles import role_permissions, screen_permissions

    app = Flask(__name__, instance_path=os.path.join(os.path.dirname(os.path.dirname(__file__)), "instance"))
    app.config.from_object("config")
    if test_config:
        app.config.update(test_config)
    _secret_key(app)
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)
    loaded = _load_model(app)
    core = YeKuoTong(app, loaded)  # generated classes, the step engine, the to-do queue
    app.config["FAB_ROLES"] = role_permissions(loaded.model, screen_permissions(loaded.model))
    app.config["APP_NAME"] = loaded.model.app.name_zh
    db = SQLA(app)
    core.db = db
    with app.app_context():
        appbuilder = AppBuilder(app, db.session)
        portal.init_app(app, core, appbuilder)          # 我的待办 menu, workbench templates
        view_bases = cases.init_app(app, core, appbuilder)  # workflow API; the case page for its entity
        generated.init_app(app, core, appbuilder, view_bases)  # a screen and an API per entity
        printing.init_app(app, core, appbuilder)        # printed forms, verification
        deadlines.init_app(app, core, appbuilder)       # calendar, timers: first receiver of step_taken
        assessment.init_app(app, core, appbuilder)      # fines: after deadlines, receives breaches
    app.jinja_env.globals["csrf_token"] = generate_csrf
    cli.init_app(app)
    return app
