"""Scans in the database: ``scan_chunk`` rows of at most ``CHUNK`` bytes, written in the caller's
transaction and read back one chunk at a time (a 20 MB scan is never held whole in memory)."""
from __future__ import annotations

import io

from flask_appbuilder import Model
from sqlalchemy import Column, Integer, LargeBinary, String, delete, func, insert, select

from app.storage.folder import FolderStorage, valid_name

CHUNK = 512 * 1024
NAME_LENGTH = 200


class ScanChunk(Model):
    """One piece of an uploaded scan; a scan is its rows ``seq`` 0, 1, … in order."""

    __tablename__ = "scan_chunk"
    name = Column(String(NAME_LENGTH), primary_key=True)
    seq = Column(Integer, primary_key=True, autoincrement=False)
    data = Column(LargeBinary, nullable=False)


class ChunkReader(io.RawIOBase):
    """A scan read chunk by chunk on a connection of its own (it outlives the request's session
    while the response streams); ``close`` gives the connection back."""

    def __init__(self, engine, name: str, count: int):
        self.engine, self.name, self.count = engine, name, count
        self.seq, self.buffer, self.conn = 0, b"", None

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self.buffer and self.seq < self.count:
            if self.conn is None:
                self.conn = self.engine.connect()
            table = ScanChunk.__table__
            self.buffer = self.conn.scalar(select(table.c.data).where(
                table.c.name == self.name, table.c.seq == self.seq)) or b""
            self.seq += 1
        n = min(len(target), len(self.buffer))
        target[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        if not self.buffer and self.seq >= self.count:
            self._release()
        return n

    def _release(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def close(self) -> None:
        self._release()
        super().close()


class DatabaseStorage:
    """New scans in ``scan_chunk``; scans saved in the folder earlier are still served from it."""

    kind = "database"

    def __init__(self, db, folder: FolderStorage):
        self.db = db
        self.folder = folder

    def save(self, name: str, stream, session) -> None:
        if not valid_name(name) or len(name) > NAME_LENGTH:
            raise ValueError(name)
        table = ScanChunk.__table__
        seq = 0
        while True:
            data = stream.read(CHUNK)
            if not data and seq:
                break
            session.execute(insert(table).values(name=name, seq=seq, data=data or b""))
            seq += 1
            if not data:
                break

    def _count(self, name: str) -> int:
        table = ScanChunk.__table__
        with self.db.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(table).where(table.c.name == name)) or 0

    def open(self, name: str):
        if not valid_name(name):
            return None
        count = self._count(name)
        if count:
            return io.BufferedReader(ChunkReader(self.db.engine, name, count), CHUNK)
        return self.folder.open(name)

    def exists(self, name: str) -> bool:
        return valid_name(name) and (self._count(name) > 0 or self.folder.exists(name))

    def delete(self, name: str, session) -> None:
        table = ScanChunk.__table__
        session.execute(delete(table).where(table.c.name == name))
        self.folder.delete(name)
