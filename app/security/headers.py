"""Response headers every answer carries: no framing, no type sniffing, a content security policy.

The policy allows only this site's own scripts, styles, images and fonts (FAB's pages use inline
scripts and style attributes, hence 'unsafe-inline'; no remote host is allowed, nothing may frame
the app). Session cookies are SameSite=Lax, HttpOnly, and Secure when SESSION_COOKIE_SECURE=1
(config.py).
"""
from __future__ import annotations

from flask import Flask

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
#: For PDFs, JSON and files: nothing to run, only the framing rule.
NON_HTML_POLICY = "frame-ancestors 'none'"


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if "Content-Security-Policy" not in headers:
        html = response.mimetype == "text/html"
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY if html else NON_HTML_POLICY
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
