"""Scans as files in one folder of this host (``UPLOAD_FOLDER``): the embedded default."""
from __future__ import annotations

import os
import shutil

#: Characters a stored name never contains (it is one file name in the folder, never a path).
_FORBIDDEN = ("/", "\\", "\x00")


def valid_name(name: str) -> bool:
    return bool(name) and not name.startswith(".") and not any(c in name for c in _FORBIDDEN)


class FolderStorage:
    """Files named by their stored name in ``base``."""

    kind = "folder"

    def __init__(self, base: str):
        self.base = base

    def path(self, name: str) -> str | None:
        return os.path.join(self.base, name) if valid_name(name) else None

    def save(self, name: str, stream, session=None) -> None:
        path = self.path(name)
        if path is None:
            raise ValueError(name)
        os.makedirs(self.base, exist_ok=True)
        with open(path, "wb") as out:
            shutil.copyfileobj(stream, out)

    def open(self, name: str):
        path = self.path(name)
        return path if path is not None and os.path.isfile(path) else None

    def exists(self, name: str) -> bool:
        return self.open(name) is not None

    def delete(self, name: str, session=None) -> None:
        path = self.path(name)
        if path is not None and os.path.isfile(path):
            os.remove(path)
