"""The key that signs sessions, CSRF tokens, JWTs and verification codes.

Production sets ``SECRET_KEY``. A development or demo server (``FLASK_DEBUG=1``, ``YKT_DEMO=1``, tests)
uses a key generated once per installation and kept in ``instance/secret_key`` (mode 0600): never a
constant that is public in the source. Without a key the app refuses to start; under gunicorn with
the exit code that makes the master stop (a worker exiting with 1 is respawned forever).
"""
from __future__ import annotations

import os
import secrets
import sys

from flask import Flask

#: gunicorn's WORKER_BOOT_ERROR: the arbiter halts instead of respawning the worker.
WORKER_BOOT_ERROR = 3

MISSING_KEY = ("error: SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
               "value (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), or set "
               "FLASK_DEBUG=1 / YKT_DEMO=1 for a development server (its key is kept in instance/secret_key).")


def under_gunicorn() -> bool:
    return "gunicorn" in os.environ.get("SERVER_SOFTWARE", "") or "gunicorn.arbiter" in sys.modules


def refuse_to_start(message: str) -> None:
    """Print ``message`` and stop: exit code 3 under gunicorn (the master stops too), else 1."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    raise SystemExit(WORKER_BOOT_ERROR if under_gunicorn() else 1)


def development_mode(app: Flask) -> bool:
    return bool(app.debug or app.testing or os.environ.get("YKT_DEMO") == "1")


def installation_key(path: str) -> str:
    """The installation's development key: read from ``path``, created there (0600) the first time."""
    try:
        with open(path, encoding="ascii") as handle:
            key = handle.read().strip()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    key = secrets.token_hex(32)
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    os.chmod(temporary, 0o600)
    try:
        os.link(temporary, path)  # the first writer wins when two processes start together
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    with open(path, encoding="ascii") as handle:
        return handle.read().strip()


def ensure_secret_key(app: Flask) -> None:
    """Set ``app.secret_key`` or refuse to start."""
    if app.config.get("SECRET_KEY"):
        return
    if development_mode(app):
        path = app.config.get("SECRET_KEY_FILE") or os.path.join(app.instance_path, "secret_key")
        app.config["SECRET_KEY"] = installation_key(path)
        return
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true" and "run" not in sys.argv[1:]:
        # A management command (model check, model apply) signs no sessions: a throw-away key.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    refuse_to_start(MISSING_KEY)
