"""The database behind every repository: one ``DatabaseProxy``, bound at start.

``TRENT_DATABASE_URL`` picks the engine:

* ``sqlite:///path`` (the embedded default): WAL journal, ``synchronous=FULL``
  (a committed key version must survive power loss, or every ciphertext under
  it becomes undecryptable), foreign keys on, a busy timeout, and
  ``BEGIN IMMEDIATE`` for every write transaction so that a read-then-write
  never fails half-way with "database is locked". Write transactions queue on
  a :class:`WriteLock` first (see there): SQLite's own busy handler waits by
  sleeping 1, 2, 5, 10 … 100 ms between tries, which made a writer in one
  worker process wait tens of milliseconds for a lock the other process had
  released long before.
  Only ``trent init`` creates the file (``create=True``); every other open
  uses SQLite's ``mode=rw``, which refuses to create one, and checks that the
  file at the path is the one first opened (same device and inode, or the one
  ``trent serve`` started with): a database renamed or replaced under a
  running server makes connections and write transactions fail (503) instead
  of starting a new, empty database beside the old one's WAL.
* ``postgresql://…`` (scale-out): a bounded connection pool whose wait for a
  free connection is short and positive; running out becomes 503, never a hang
  and never a 400 (peewee's ``MaxConnectionsExceeded`` subclasses ``ValueError``).

A request takes one connection for its duration (:func:`connection`); one
:func:`transaction` per operation is the unit of work. Repositories never commit.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import peewee
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase, PooledSqliteDatabase

from app.errors import ServiceUnavailableError
from app.store.read_cache import ChangeCounter, ReadCache

T = TypeVar("T")

#: Every model binds to this proxy; :func:`bind_database` points it at a database.
database_proxy = peewee.DatabaseProxy()

#: Rows every request reads (see :mod:`app.store.read_cache`); off until
#: :func:`configure_read_cache` turns it on.
_read_cache = ReadCache(ChangeCounter(None), ttl_seconds=0)
#: Whether the open write transaction invalidates the read cache; made anew
#: by :func:`bind_database` (see :func:`_local_connection_state` for why).
_pending = threading.local()


class StoreConfigError(Exception):
    """The database URL cannot be used (bad form, missing directory)."""


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


def parse_identity(text: str | None) -> FileIdentity | None:
    """The ``dev:inode`` form ``trent serve`` hands its processes, or ``None``."""
    if not text:
        return None
    device, _, inode = text.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        raise StoreConfigError("database identity must look like DEVICE:INODE")
    return (int(device), int(inode))


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


def open_database(
    url: str,
    *,
    pool_size: int,
    pool_timeout: float,
    busy_timeout_ms: int,
    create: bool = False,
    identity: FileIdentity | None = None,
) -> Any:
    """Build (but do not connect) the peewee database for ``url``.

    SQLite: only with ``create`` (``trent init``) may connecting create the
    file; otherwise it must exist and, if ``identity`` is given, be that file
    (else the first connection's file is the one every later one must find).
    """
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.parent.is_dir():
            raise StoreConfigError(
                f"directory {path.parent} for the SQLite database does not exist"
            )
        return TrentSqliteDatabase(
            str(path),
            create=create,
            identity=identity,
            write_lock_timeout=busy_timeout_ms / 1000,
            max_connections=pool_size,
            timeout=pool_timeout,
            stale_timeout=600,
            check_same_thread=False,
            pragmas={
                "journal_mode": "wal",
                "synchronous": "full",
                "foreign_keys": 1,
                "busy_timeout": busy_timeout_ms,
                # Statement journals (a multi-row INSERT inside a transaction) in
                # memory, not in a temporary file created and deleted per statement.
                "temp_store": "memory",
            },
        )
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        dbname = unquote(parts.path.lstrip("/")) or "postgres"
        return PooledPostgresqlDatabase(
            dbname,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            max_connections=pool_size,
            timeout=pool_timeout,
            stale_timeout=300,
            connect_timeout=max(1, int(pool_timeout)),
            # Durability of key material (security.md rule 10).
            options="-c synchronous_commit=on -c statement_timeout=15000 -c lock_timeout=10000",
        )
    raise StoreConfigError("database URL must start with sqlite:/// or postgresql://")


def bind_database(database: Any) -> None:
    """Point every repository at ``database``; the read cache starts off (empty)."""
    global _read_cache, _pending
    _local_connection_state(database)
    database_proxy.initialize(database)
    _read_cache = ReadCache(ChangeCounter(None), ttl_seconds=0)
    _pending = threading.local()


def _local_connection_state(database: Any) -> None:
    """Give ``database`` a connection state local to each thread, made now.

    peewee keeps a database's open connection and transaction in a subclass of
    ``threading.local`` that it defines when it is imported. `trent serve`'s
    gevent worker patches ``threading`` after gunicorn's fork, when the master
    has imported peewee already: that class would keep one state for all the
    worker's greenlets, one connection shared by every request. A class made
    here, when the worker binds its database, derives from the ``threading.local``
    of that moment: one state per greenlet there, per thread anywhere else.
    """
    if not getattr(database, "thread_safe", False):
        return  # a database opened with one state for all (not Trent's)
    state: Any = peewee._ConnectionState  # noqa: SLF001 - peewee has no API for it

    class ConnectionState(state, threading.local):  # type: ignore[misc]
        pass

    database._state = ConnectionState()


def configure_read_cache(counter_file: Path | None, ttl_seconds: float) -> ReadCache:
    """Cache committed rows for ``ttl_seconds`` (0: off); ``counter_file`` is
    the change counter shared by the processes of this host."""
    global _read_cache
    _read_cache = ReadCache(ChangeCounter(counter_file), ttl_seconds=ttl_seconds)
    return _read_cache


def cached(key: Any, load: Callable[[], T]) -> T:
    """``load()``, or its committed result cached by :func:`configure_read_cache`.

    Inside a write transaction the rows are always read fresh.
    """
    if database_proxy.in_transaction():
        return load()
    return _read_cache.get(key, load)


def changes_committed() -> None:
    """Make every process on this host drop what it cached (a write committed)."""
    _read_cache.counter.bump()


def is_sqlite() -> bool:
    return isinstance(database_proxy.obj, peewee.SqliteDatabase)


def is_postgres() -> bool:
    return isinstance(database_proxy.obj, peewee.PostgresqlDatabase)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be used right now (→ 503)."""
    if isinstance(exc, MaxConnectionsExceeded | peewee.OperationalError | peewee.InterfaceError):
        return True
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        return True
    module = type(exc).__module__
    return module.startswith("psycopg2") and type(exc).__name__ in {
        "OperationalError",
        "InterfaceError",
    }


@contextmanager
def connection() -> Iterator[None]:
    """Hold one connection for the duration of a request (or CLI command)."""
    try:
        database_proxy.connect(reuse_if_open=True)
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailableError() from exc
        raise
    with connection_if_used():
        yield


@contextmanager
def connection_if_used() -> Iterator[None]:
    """Like :func:`connection`, but a connection is taken only when a query
    runs (peewee connects on first use): a request whose reads all come from
    the read cache never takes one from the pool. Connection failures surface
    from the query, and are mapped to 503 there like any other."""
    try:
        yield
    finally:
        if not database_proxy.is_closed():
            database_proxy.close()


@contextmanager
def transaction(*, invalidates: bool = True) -> Iterator[None]:
    """One unit of work: commit on success, roll back on any exception.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``: the write lock
    is taken up front, so concurrent writers wait (busy timeout) instead of
    failing when a read inside the transaction is followed by a write.

    After the outermost transaction commits, the read cache of every process
    on the host is invalidated (:func:`changes_committed`), unless no
    transaction in it had ``invalidates`` set: the audit log's own appends
    change no row anything caches.
    """
    if database_proxy.in_transaction():
        # Nested: a savepoint; the outermost transaction commits and invalidates.
        if invalidates:
            _pending.invalidate = True
        with database_proxy.atomic(**({"lock_type": "IMMEDIATE"} if is_sqlite() else {})):
            yield
        return
    _pending.invalidate = invalidates
    obj = database_proxy.obj
    write_lock: WriteLock | None = getattr(obj, "write_lock", None)
    with write_lock.hold() if write_lock is not None else nullcontext():
        if isinstance(obj, TrentSqliteDatabase):
            # One stat per write transaction (an audit batch, a mutation):
            # nothing is committed, and so acknowledged, into a database file
            # that is no longer at its path; the request fails with 503.
            obj.check_identity()
        try:
            with database_proxy.atomic(**({"lock_type": "IMMEDIATE"} if is_sqlite() else {})):
                yield
        finally:
            invalidate, _pending.invalidate = getattr(_pending, "invalidate", False), False
        # Committed (an exception would have left above): still under the
        # write lock, so the next writer's readers cannot miss this change.
        if invalidate:
            changes_committed()


def ping() -> None:
    """Run a trivial query and, on SQLite, check that the file is still the
    database's own and writable; raises :class:`ServiceUnavailableError` if not."""
    try:
        obj = database_proxy.obj
        if isinstance(obj, TrentSqliteDatabase):
            obj.check_identity()
            obj.check_writable()
        with connection():
            database_proxy.execute_sql("SELECT 1").fetchall()
    except ServiceUnavailableError:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailableError() from exc
        raise
