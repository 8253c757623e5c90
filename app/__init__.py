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
    from .model.loader import load_file
    from .model.problems import ModelError
    from .translate import model_gettext

    try:
        return load_file(app.config["MODEL_PATH"])
    except ModelError as exc:
        gettext = model_gettext(app.config["BABEL_DEFAULT_LOCALE"], app.config["BABEL_TRANSLATION_DIRECTORIES"])
        for line in exc.lines(gettext):
            sys.stderr.write(line + "\n")
        sys.stderr.write(f"{len(exc.problems)} problem(s) in {exc.filename}: the application was not started.\n")
        raise SystemExit(1) from None


def _init_optional(module: str, hook: str, app, core, appbuilder) -> None:
    """Feature modules (calendar, printing, SLA timers, fines) plug in with one init call."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.{module}") is None:
        return
    getattr(importlib.import_module(f"{__name__}.{module}"), hook)(app, core, appbuilder)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; refuses to start on an invalid model or a missing secret."""
    from flask_appbuilder import AppBuilder
    from flask_appbuilder.models.sqla.base import SQLA

    from . import cli
    from .core import YeKuoTong
    from .security.roles import role_permissions

    app = Flask(__name__, instance_path=os.path.join(os.path.dirname(os.path.dirname(__file__)), "instance"))
    app.config.from_object("config")
    if test_config:
        app.config.update(test_config)
    _secret_key(app)
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)
    loaded = _load_model(app)
    core = YeKuoTong(app, loaded)
    app.config["FAB_ROLES"] = role_permissions(loaded.model, core.extra_role_permissions())
    app.config["APP_NAME"] = loaded.model.app.name_zh
    db = SQLA(app)
    core.db = db
    with app.app_context():
        appbuilder = AppBuilder(app, db.session)
        core.register_views(appbuilder)
        for module, hook in (("calendar_db", "init_calendar"), ("forms_print", "init_printing"),
                             ("sla", "init_sla"), ("fines", "init_fines")):
            _init_optional(module, hook, app, core, appbuilder)
    from flask_wtf.csrf import generate_csrf

    app.jinja_env.globals["csrf_token"] = generate_csrf
    cli.init_app(app)
    return app
