"""Django's SQLite backend (in WAL mode) with writers that queue and readers that do not.

A transaction that may write begins IMMEDIATE (it takes the write lock at once, so it never fails
half-way on a lock). SQLite's own wait for that lock polls, sleeping up to 100 ms a try, and a
worker can miss every short gap between another worker's transactions for seconds; so a writer
first waits on an exclusive flock of a file beside the database, which the kernel hands to the
next waiter the moment it is released. A transaction inside painpump.db.read_only begins
DEFERRED with `query_only` on: it reads a snapshot beside the writers and any write fails loudly."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db.backends.sqlite3 import base

from painpump.db import read_only


class DatabaseWrapper(base.DatabaseWrapper):
    """The private hooks overridden below (ignored by mypy) are Django's, absent from its stubs."""

    _queue: int | None = None
    _queued = False
    _reading = False
    _frozen = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if self.is_in_memory_db():
            return super().get_new_connection(conn_params)
        file = Path(self.settings_dict["NAME"])
        self._frozen = _read_only_file_system(file)
        if self._frozen:
            # WAL needs its shared-memory file beside the database even to read. On a read-only
            # file system a database whose write-ahead log is still there is opened read-only
            # (SQLite reads the log through the -shm file left with it); one without a log is
            # opened as immutable (an immutable one would not see a log's transactions). Reads
            # work; a write fails as SQLITE_READONLY ("the database is read-only").
            mode = "mode=ro" if Path(f"{file}-wal").exists() else "immutable=1"
            uri = f"file:{quote(str(file.absolute()))}?{mode}"
            return super().get_new_connection({**conn_params, "database": uri, "uri": True})
        connection = super().get_new_connection(conn_params)
        self._queue = os.open(f"{file}-writers", os.O_RDWR | os.O_CREAT, 0o600)
        return connection

    def is_usable(self) -> bool:
        """An immutable connection is given up once its file system is writable again."""
        if self._frozen and not _read_only_file_system(Path(self.settings_dict["NAME"])):
            return False
        return bool(super().is_usable())

    def _start_transaction_under_autocommit(self) -> None:
        if read_only.active():
            with self.wrap_database_errors:
                self.connection.execute("BEGIN DEFERRED")
                self.connection.execute("PRAGMA query_only = ON")
            self._reading = True
            return
        if self._queue is not None:
            fcntl.flock(self._queue, fcntl.LOCK_EX)
            self._queued = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._leave_queue()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._ended()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._ended()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._leave_queue()
            self._reading = False
            if self._queue is not None:
                os.close(self._queue)
                self._queue = None

    def _ended(self) -> None:
        if self._reading:
            self._reading = False
            if self.connection is not None:
                self.connection.execute("PRAGMA query_only = OFF")
        self._leave_queue()

    def _leave_queue(self) -> None:
        if self._queued and self._queue is not None:
            fcntl.flock(self._queue, fcntl.LOCK_UN)
        self._queued = False


def _read_only_file_system(file: Path) -> bool:
    try:
        return bool(os.statvfs(file.parent).f_flag & os.ST_RDONLY)
    except FileNotFoundError:
        return False
