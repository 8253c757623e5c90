"""The application's one rate limiter (Flask-Limiter).

Everything that limits requests uses this instance: FAB's security manager gets it from
`StaffSecurityManager.create_limiter` (so FAB does not build a second one), the login paths, the
verification page and the public lookup (``from app.security.limits import limiter`` and
``@limiter.limit("5 per minute")``). Counters live in ``RATELIMIT_STORAGE_URI`` (Redis when
``REDIS_URL`` is set, else in-process memory, which is per worker).
"""
from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def init_app(app: Flask) -> None:
    """Configure the storage from the settings and attach the limiter to ``app``."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "memory://"
    app.config["RATELIMIT_STORAGE_URI"] = uri
    limiter.init_app(app)
