"""Hot pickup: a running process switches to a newly applied model version without a restart.

The app's WSGI callable is wrapped: at most every MODEL_POLL_SECONDS (default 15) one request reads
the active version number; when it changed, that request builds a fresh app with create_app() (which
loads the active version) and swaps it in. A request reads the app to serve once, at its start, so
it runs wholly on one version; requests already running finish on the old app. Works under gunicorn
('app:create_app()'), run.py and `flask run`; tests (TESTING) do not follow unless MODEL_FOLLOW is set.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from flask import Flask

from app.versions import store

log = logging.getLogger(__name__)


class VersionFollower:
    """WSGI middleware set as ``app.wsgi_app``: serves the newest applied version's app."""

    def __init__(self, home: Flask, poll: float):
        self.home = home
        self.engine = home.extensions["yekuotong"].db.engine
        self.serving = home.wsgi_app  # the WSGI callable of the app now in use
        self.serving_app = home
        self.number = home.extensions["yekuotong"].version_number
        self.poll = poll
        self.checked = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if time.monotonic() - self.checked >= self.poll:
            self.check()
        serving = self.serving  # read once: the whole request runs on this app
        return serving(environ, start_response)

    def check(self) -> bool:
        """Swap to the active version's app if it changed; True when swapped. Never raises."""
        if not self.lock.acquire(blocking=False):
            return False  # another request is checking; this one goes on with the app in use
        try:
            self.checked = time.monotonic()
            with self.engine.connect() as conn:
                number = store.active_number(conn)
            if number is None or number == self.number:
                return False
            fresh = self.build()
            old = self.serving_app
            self.serving, self.serving_app = fresh.wsgi_app, fresh
            self.number = fresh.extensions["yekuotong"].version_number
            log.warning("now serving model version %s", self.number)
            _retire(old, self.home)
            return True
        except Exception:  # a bad moment (database away): keep serving, try again next poll
            log.exception("could not follow the active model version")
            return False
        finally:
            self.lock.release()

    def build(self) -> Flask:
        create_app = self.home.extensions["ykt_app_factory"]
        config = {k: v for k, v in self.home.config.items()
                  if k.isupper() and k not in ("FAB_ROLES", "APP_NAME", "MODEL_TEXT", "MODEL_SOURCE",
                                                 "MODEL_VERSION_NUMBER")}
        config["MODEL_FOLLOW"] = False
        return create_app(config)


def _retire(old: Flask, home: Flask) -> None:
    """Stop the old app's in-process sweep; its connections close once its last requests are done."""
    for thread in threading.enumerate():
        if getattr(thread, "app", None) is old and hasattr(thread, "stopped"):
            thread.stopped.set()
    if old is not home:
        timer = threading.Timer(300, old.extensions["yekuotong"].db.engine.dispose)
        timer.daemon = True
        timer.start()


def follow(app: Flask) -> None:
    wanted = app.config.get("MODEL_FOLLOW")
    if wanted is None:
        wanted = not app.testing
    if not wanted:
        return
    poll = float(app.config.get("MODEL_POLL_SECONDS") or os.environ.get("MODEL_POLL_SECONDS") or 15)
    app.wsgi_app = VersionFollower(app, poll)
