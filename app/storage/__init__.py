"""Uploaded scans behind one interface, so that every app host serves every scan.

``UPLOAD_STORAGE`` chooses where new scans go: ``folder`` (``UPLOAD_FOLDER`` on this host: the
embedded default) or ``database`` (chunks in the ``scan_chunk`` table, shared by every host on one
PostgreSQL). Unset: ``database`` when ``DATABASE_URL`` is PostgreSQL, else ``folder``. The database
store still serves (and deletes) scans saved in the folder before it was chosen.

Callers use ``scans()`` (the app's store) and its four operations: ``save(name, stream, session)``,
``open(name)`` (a path or a readable file object for ``send_file``; None when there is no such scan),
``delete(name, session)`` and ``exists(name)``. Database writes join the caller's session, so a scan
is saved or dropped together with the row that names it.
"""
from __future__ import annotations

from flask import Flask, current_app

from app.storage.blobs import DatabaseStorage, ScanChunk  # noqa: F401  (registers the table)
from app.storage.folder import FolderStorage

KINDS = ("folder", "database")
EXTENSION = "ykt_scans"


def backend_of(app: Flask) -> str:
    """The configured store, or the automatic choice from the database URL."""
    kind = (app.config.get("UPLOAD_STORAGE") or "").strip().lower()
    if kind:
        return kind
    url = str(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    return "database" if url.startswith("postgresql") else "folder"


def problem(app: Flask) -> str | None:
    """Why the setting cannot be used (for the start-up refusal), or None."""
    kind = backend_of(app)
    if kind not in KINDS:
        return (f"error: UPLOAD_STORAGE={kind!r} is not a scan store; use one of {', '.join(KINDS)} "
                "(or leave it unset: database on PostgreSQL, folder otherwise)")
    return None


def init_app(app: Flask, db) -> None:
    """Build the app's store; ``db`` is the app's SQLA (its engine streams database scans)."""
    folder = FolderStorage(app.config["UPLOAD_FOLDER"])
    app.extensions[EXTENSION] = DatabaseStorage(db, folder) if backend_of(app) == "database" else folder


def scans():
    """The current app's scan store."""
    return current_app.extensions[EXTENSION]
