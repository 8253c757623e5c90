"""Uploaded scans: stored as `<uuid>_sep_<original name>` with the original (Chinese) name kept,
served only through the row that names them; the bytes go to the app's scan store (app.storage:
this host's folder or the shared database)."""
from __future__ import annotations

import os
import re
import unicodedata
import uuid

from flask import current_app
from flask_appbuilder.filemanager import FileManager

from app.storage import scans

SEPARATOR = "_sep_"
#: Characters replaced in an uploaded file's name: path and shell specials, URL escapes, controls.
_UNSAFE = re.compile(r'[/\\:*?"<>|%#\x00-\x1f\x7f]')
MAX_NAME = 100


def safe_name(original: str) -> str:
    """The uploaded name without a path, control characters or shell/URL specials; Chinese kept."""
    name = unicodedata.normalize("NFC", os.path.basename((original or "").replace("\\", "/")))
    name = "".join(c for c in _UNSAFE.sub("_", name) if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        name = stem[:MAX_NAME - len(ext)] + ext
    return name or "file"


def display_name(stored: str | None) -> str:
    """What the user called the file: the part after the separator (FAB's scheme too)."""
    if not stored:
        return ""
    return stored.split(SEPARATOR, 1)[1] if SEPARATOR in stored else stored


def is_stored_name(name: str) -> bool:
    """A name this store could have written: no path, nothing hidden."""
    return bool(name) and "/" not in name and "\\" not in name and "\x00" not in name \
        and not name.startswith(".") and SEPARATOR in name


class ScanStore(FileManager):
    """FAB's file manager, minus its ASCII-only `secure_filename` (it dropped every Chinese character,
    so 身份证.pdf became `.pdf`)."""

    def generate_name(self, obj, file_data) -> str:
        return f"{uuid.uuid4().hex}{SEPARATOR}{safe_name(file_data.filename)}"

    def save_file(self, data, filename: str) -> str:
        if not is_stored_name(filename):
            raise ValueError(filename)
        scans().save(filename, data.stream, _session())  # in the row's transaction (database store)
        return filename

    def delete_file(self, filename: str) -> None:
        delete_scan(filename)


def _session():
    return current_app.extensions["yekuotong"].db.session


def delete_scan(stored: str | None) -> None:
    """Drop a scan a row named (with that row's change, for the database store)."""
    if stored and is_stored_name(stored):
        scans().delete(stored, _session())
