"""Security: staff users and roles from the model, sign-in (limits, lock-out, revocation), CSRF,
response headers, error answers, the rate limiter, and the action log (操作日志)."""
from __future__ import annotations


def init_app(app) -> None:
    """Before FAB is built: the secret key, CSRF protection (so FAB exempts only its API blueprints
    and refuses mutations by GET), the one rate limiter, headers, error answers, the request guard."""
    from flask_wtf.csrf import CSRFProtect

    from app.security import api_guard, audit, errors, headers, limits  # noqa: F401 (audit: its table)
    from app.security.passwords import password_policy
    from app.security.secret_key import ensure_secret_key

    ensure_secret_key(app)
    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", password_policy)
    CSRFProtect(app)
    limits.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    api_guard.init_app(app)


def init_views(app, core, appbuilder) -> None:
    """After FAB is built: limits on both sign-in paths, session stamps, the action log screen."""
    from app.security import views

    views.register(app, core, appbuilder)
