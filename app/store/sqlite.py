"""SQLite as Trent runs it: one writer at a time, queued fairly, and never a
database file other than the one first opened.

Write transactions queue on a :class:`WriteLock` before SQLite's own lock:
SQLite's busy handler waits by sleeping 1, 2, 5, 10 … 100 ms between tries,
which made a writer in one worker process wait tens of milliseconds for a
lock the other process had released long before.

Only ``trent init`` creates the file (``create=True``); every other open uses
SQLite's ``mode=rw``, which refuses to create one, and checks that the file at
the path is the one first opened (same device and inode, or the one
``trent serve`` started with): a database renamed or replaced under a running
server makes connections and write transactions fail (503) instead of
starting a new, empty database beside the old one's WAL.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import peewee
from playhouse.pool import PooledSqliteDatabase

from app.errors import ServiceUnavailableError


class WriteLock:
    """Serialises the SQLite write transactions of every thread and process
    that opens the same database file, and wakes the next writer as soon as
    the lock is free.

    Two levels: a lock for the threads of this process, then an exclusive
    ``flock`` on ``<database>-writelock`` for the processes. The thread lock
    means at most one thread per process is at the file lock; that thread
    tries it without blocking and, while another process holds it, retries
    after 50 µs, doubling to at most 1 ms, so a process waits at most about a
    millisecond longer than it must, and never longer than the busy timeout
    (then the caller answers 503). The kernel drops the file lock of a process
    that dies, so a crashed worker cannot leave it held. SQLite's own locking
    still guards the file underneath; this only decides who asks first.
    """

    _FIRST_PAUSE = 0.00005
    _LONGEST_PAUSE = 0.001

    def __init__(self, path: str, timeout_seconds: float) -> None:
        self.path = path
        self.timeout_seconds = timeout_seconds
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._fd_pid: int | None = None

    def __repr__(self) -> str:
        return f"WriteLock({self.path!r})"

    def _file(self) -> int:
        # One descriptor per process: a forked worker must not share its
        # parent's open file description (flock belongs to that).
        if self._fd is None or self._fd_pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd_pid = os.getpid()
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout_seconds
        if not self._threads.acquire(timeout=self.timeout_seconds):
            raise ServiceUnavailableError()
        try:
            fd = self._file()
            pause = self._FIRST_PAUSE
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if time.monotonic() >= deadline:
                    raise ServiceUnavailableError()
                time.sleep(pause)
                pause = min(pause * 2, self._LONGEST_PAUSE)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


FileIdentity = tuple[int, int]


def file_identity(path: str | Path) -> FileIdentity:
    """``(st_dev, st_ino)`` of ``path``; ``OSError`` if it cannot be read."""
    found = os.stat(path)
    return (found.st_dev, found.st_ino)


class TrentSqliteDatabase(PooledSqliteDatabase):  # type: ignore[misc]
    """The pooled SQLite database with its :class:`WriteLock`, opened only if
    the file exists and is the one this process (or ``trent serve``) began with."""

    def __init__(
        self,
        path: str,
        *,
        write_lock_timeout: float,
        create: bool = False,
        identity: FileIdentity | None = None,
        **kwargs: Any,
    ) -> None:
        self.path = path
        self.create = create
        #: The file every connection must open; recorded on the first connection
        #: if not given.
        self.identity = identity
        if create:
            super().__init__(path, **kwargs)
        else:
            # mode=rw: a missing file is an error, never a new empty database.
            super().__init__(f"file:{quote(path)}?mode=rw", uri=True, **kwargs)
        self.write_lock = WriteLock(f"{path}-writelock", write_lock_timeout)

    def __repr__(self) -> str:
        return f"TrentSqliteDatabase({self.path!r})"

    def check_identity(self) -> None:
        """Raise ``peewee.OperationalError`` unless the file at the path is
        the database's own (always true for ``trent init``'s open)."""
        if self.create:
            return
        try:
            found = file_identity(self.path)
        except FileNotFoundError:
            raise peewee.OperationalError(f"database file {self.path} is missing") from None
        except OSError as exc:
            raise peewee.OperationalError(
                f"database file {self.path}: {exc.strerror or type(exc).__name__}"
            ) from None
        if self.identity is None:
            self.identity = found
        elif found != self.identity:
            raise peewee.OperationalError(
                f"database file {self.path} is not the one this server opened (renamed or replaced)"
            )

    def check_writable(self) -> None:
        """Raise ``peewee.OperationalError`` unless the database, its WAL and
        shared-memory files and their directory can be written."""
        for path in (self.path, f"{self.path}-wal", f"{self.path}-shm"):
            if os.path.exists(path) and not os.access(path, os.W_OK):
                raise peewee.OperationalError(f"{path} is not writable")
        directory = os.path.dirname(self.path) or "."
        if not os.access(directory, os.W_OK):
            raise peewee.OperationalError(f"directory {directory} is not writable")

    def _add_conn_hooks(self, conn: sqlite3.Connection) -> None:
        # A new connection (not one reused from the pool), opened but not yet
        # read: SQLite reads the file and its WAL only from the first
        # statement on, so a file that is not the database's own is refused
        # before anything of it is read or written.
        self.check_identity()
        super()._add_conn_hooks(conn)
