"""Model versions: stored versions (store), `model apply` as one step (apply), running processes
following a newly applied version without a restart (follow)."""
from __future__ import annotations


def init_app(app, core, appbuilder) -> None:
    from app.versions.follow import follow

    follow(app)
    try:  # the admin screens (versions, editor) when present
        from app.versions import views
    except ImportError:
        return
    views.init_app(app, core, appbuilder)
