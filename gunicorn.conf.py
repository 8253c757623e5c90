"""gunicorn settings for 业扩通, read from the working directory:

    SECRET_KEY=… DATABASE_URL=postgresql://… gunicorn 'app:create_app()'

Without SECRET_KEY (and not in demo mode) the master stops at once with the message; a worker that
cannot boot exits with gunicorn's WORKER_BOOT_ERROR (3), which stops the master instead of
respawning the worker forever.
"""
import os
import sys

bind = os.environ.get("BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Request line and headers stay small (URLs end up in the access log).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = os.environ.get("ACCESS_LOG", "-")


def on_starting(server):
    """Refuse to start without a secret key, before any worker is forked."""
    if os.environ.get("SECRET_KEY") or os.environ.get("YKT_DEMO") == "1":
        return
    from app.security.secret_key import MISSING_KEY, WORKER_BOOT_ERROR

    sys.stderr.write(MISSING_KEY + "\n")
    sys.stderr.flush()
    sys.exit(WORKER_BOOT_ERROR)
