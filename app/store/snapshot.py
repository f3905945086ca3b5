"""Consistent copies of an SQLite database, for ``trent backup`` and ``trent restore``.

A copy is made with SQLite's online backup API, never by copying files: a
file copy of a live database in WAL mode can take the main file and its
``-wal`` at different moments, and a transaction half in each is a corrupt
database. The backup API copies every page in one step, inside one read
transaction: the copy is the database as of one commit, and since WAL
readers do not block writers, the server keeps serving while it is made.
(A copy in several steps would restart whenever the server commits in
between, and a busy server commits all the time.)

A finished copy is read through :func:`open_copy`: read-only and
``immutable``, so reading it leaves nothing beside it (no ``-wal``, ``-shm``
or lock file) and never changes a byte of it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import peewee

from app.store.database import Store
from app.store.migrate import MIGRATIONS_DIR

SQLITE_PREFIX = "sqlite:///"
#: How long a copy waits for a lock (a writer checkpointing the WAL) before failing.
BUSY_TIMEOUT_SECONDS = 30.0


class SnapshotError(Exception):
    """A copy cannot be made or is not a sound database. The message names
    the file and SQLite's reason, nothing from inside the database."""


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` database URL; ``None`` for any other database."""
    return Path(url[len(SQLITE_PREFIX) :]) if url.startswith(SQLITE_PREFIX) else None


def copy_database(source: Path, target: Path, *, live: bool = True) -> None:
    """Copy the database at ``source`` to the new file ``target`` (which must
    not exist), check the copy's integrity and make it durable.

    A ``live`` source (the server's database) is opened ``mode=rw``, so a
    missing one is an error rather than a new empty database; a finished
    copy (a backup being restored) is opened read-only and ``immutable``, so
    nothing is written beside it, even on read-only media. The target is
    created exclusively, so an existing file is never overwritten.
    """
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise SnapshotError(f"cannot create {target}: {exc.strerror}") from None
    os.close(descriptor)
    try:
        _copy(source, target, "mode=rw" if live else "mode=ro&immutable=1")
        check_database(target)
        _fsync(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _copy(source: Path, target: Path, mode: str) -> None:
    try:
        reader = sqlite3.connect(
            f"file:{quote(str(source))}?{mode}", uri=True, timeout=BUSY_TIMEOUT_SECONDS
        )
    except sqlite3.Error as exc:
        raise SnapshotError(f"cannot open {source}: {exc}") from None
    try:
        writer = sqlite3.connect(str(target), timeout=BUSY_TIMEOUT_SECONDS)
        try:
            # pages=-1: every page in one step, so one read transaction (see above).
            reader.backup(writer, pages=-1)
        finally:
            writer.close()
    except sqlite3.Error as exc:
        raise SnapshotError(f"cannot copy {source} to {target}: {exc}") from None
    finally:
        reader.close()


def check_database(path: Path) -> None:
    """Raise :class:`SnapshotError` unless SQLite's integrity check passes on ``path``."""
    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True)
        try:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise SnapshotError(f"{path} is not a usable SQLite database: {exc}") from None
    if rows != [("ok",)]:
        first = rows[0][0] if rows else "no answer"
        raise SnapshotError(f"{path} fails SQLite's integrity check: {first}")


def open_copy(path: Path) -> Store:
    """A :class:`Store` over a finished copy, read-only (see the module docstring)."""
    if not path.is_file():
        raise SnapshotError(f"{path} does not exist")
    database = peewee.SqliteDatabase(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True)
    return Store(database)


def applied_migrations(store: Store) -> list[str]:
    """The names of the migrations applied to ``store``'s database, in order."""
    from playhouse.migrations import Runner

    statuses = Runner(store.database, directory=str(MIGRATIONS_DIR)).status()
    return [m.name for m in statuses if m.applied is not None]


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
