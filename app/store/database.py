"""The database of one application: a :class:`Store`, opened by the app factory.

``TRENT_DATABASE_URL`` picks the engine:

* ``sqlite:///path`` (the embedded default): WAL journal, ``synchronous=FULL``
  (a committed key version must survive power loss, or every ciphertext under
  it becomes undecryptable), foreign keys on, a busy timeout, and
  ``BEGIN IMMEDIATE`` for every write transaction so that a read-then-write
  never fails half-way with "database is locked"; write transactions queue on
  a :class:`~app.store.sqlite.WriteLock` first, and only the file first opened
  is ever used (see :mod:`app.store.sqlite`).
* ``postgresql://…`` (scale-out): a bounded connection pool whose wait for a
  free connection is short and positive; running out becomes 503, never a hang
  and never a 400 (peewee's ``MaxConnectionsExceeded`` subclasses ``ValueError``).

A request takes one connection for its duration (:meth:`Store.connection`);
one :meth:`Store.transaction` per operation is the unit of work. Repositories
never commit. Nothing here is a module global: each :class:`Store` has its
own database, write lock and read cache, and the models reach the store in
use through :data:`app.store.base.routed_database`.

The store speaks the service's errors: a database that cannot be used right
now (connection refused, pool exhausted, disk I/O error, locked past the
busy timeout) leaves :meth:`~Store.connection`, :meth:`~Store.connection_if_used`
and :meth:`~Store.transaction` as :class:`~app.errors.ServiceUnavailableError`
(503), with the database's own error as its cause.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import Token
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import peewee
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase

from app.errors import ServiceUnavailableError
from app.store.base import release_database, use_database
from app.store.read_cache import ChangeCounter, ReadCache
from app.store.sqlite import FileIdentity, TrentSqliteDatabase, WriteLock

T = TypeVar("T")


class StoreConfigError(Exception):
    """The database URL cannot be used (bad form, missing directory)."""


def parse_identity(text: str | None) -> FileIdentity | None:
    """The ``dev:inode`` form ``trent serve`` hands its processes, or ``None``."""
    if not text:
        return None
    device, _, inode = text.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        raise StoreConfigError("database identity must look like DEVICE:INODE")
    return (int(device), int(inode))


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


class Store:
    """One application's database: the peewee database, its write lock (SQLite)
    and its read cache.

    Every query of the repositories built on this store runs inside one of
    its :meth:`connection`, :meth:`connection_if_used` or :meth:`transaction`
    blocks, which route the models to this database for their duration (in
    this thread or task only).
    """

    def __init__(self, database: peewee.Database, read_cache: ReadCache | None = None) -> None:
        #: The peewee database (typed loosely: peewee has no type hints).
        self.database: Any = database
        #: Rows every request reads (see :mod:`app.store.read_cache`); off unless given.
        #: (``is None``, not ``or``: an empty cache has no length, so it is false.)
        self.read_cache = (
            read_cache if read_cache is not None else ReadCache(ChangeCounter(None), 0)
        )
        #: The driver's parameter placeholder, for statements written out by hand.
        self.param: str = database.param
        self._sqlite = isinstance(database, peewee.SqliteDatabase)
        self._postgres = isinstance(database, peewee.PostgresqlDatabase)
        self._write_lock: WriteLock | None = getattr(database, "write_lock", None)
        self._atomic: dict[str, Any] = {"lock_type": "IMMEDIATE"} if self._sqlite else {}
        self._pending = threading.local()
        _local_connection_state(database)

    def __repr__(self) -> str:
        return f"Store({self.database!r})"

    def is_sqlite(self) -> bool:
        return self._sqlite

    def is_postgres(self) -> bool:
        return self._postgres

    def in_transaction(self) -> bool:
        return bool(self.database.in_transaction())

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        """Run a statement written out by hand; returns the driver's cursor."""
        return self.database.execute_sql(sql, params)

    # -- the read cache --------------------------------------------------------

    def cached(self, key: Hashable, load: Callable[[], T]) -> T:
        """``load()``, or its committed result from the read cache.

        Inside a write transaction the rows are always read fresh.
        """
        if self.database.in_transaction():
            return load()
        return self.read_cache.get(key, load)

    def changes_committed(self) -> None:
        """Make every process on this host drop what it cached (a write committed)."""
        self.read_cache.counter.bump()

    # -- connections and transactions -------------------------------------------

    @contextmanager
    def _routed(self) -> Iterator[None]:
        """Queries in the block reach this store's database (and no other), and
        a database that cannot be used leaves it as ServiceUnavailableError."""
        token = use_database(self.database)
        try:
            yield
        except Exception as exc:
            _raise_if_unavailable(exc)
            raise
        finally:
            release_database(token)

    @contextmanager
    def connection(self) -> Iterator[None]:
        """Hold one connection for the duration of a request (or CLI command)."""
        with self.connection_if_used():
            # A failure to connect leaves as 503 like any other (see below).
            self.database.connect(reuse_if_open=True)
            yield

    def connection_if_used(self) -> AbstractContextManager[None]:
        """Like :meth:`connection`, but a connection is taken only when a query
        runs (peewee connects on first use): a request whose reads all come
        from the read cache never takes one from the pool."""
        return _ConnectionIfUsed(self.database)

    @contextmanager
    def transaction(self, *, invalidates: bool = True) -> Iterator[None]:
        """One unit of work: commit on success, roll back on any exception.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE``: the write lock
        is taken up front, so concurrent writers wait (busy timeout) instead of
        failing when a read inside the transaction is followed by a write.

        After the outermost transaction commits, the read cache of every process
        on the host is invalidated (:meth:`changes_committed`), unless no
        transaction in it had ``invalidates`` set: the audit log's own appends
        change no row anything caches.
        """
        with self._routed():
            if self.database.in_transaction():
                # Nested: a savepoint; the outermost transaction commits and invalidates.
                if invalidates:
                    self._pending.invalidate = True
                with self.database.atomic(**self._atomic):
                    yield
                return
            self._pending.invalidate = invalidates
            lock = self._write_lock
            with lock.hold() if lock is not None else nullcontext():
                if isinstance(self.database, TrentSqliteDatabase):
                    # One stat per write transaction (an audit batch, a mutation):
                    # nothing is committed, and so acknowledged, into a database
                    # file that is no longer at its path; the request fails with 503.
                    self.database.check_identity()
                try:
                    with self.database.atomic(**self._atomic):
                        yield
                finally:
                    invalidate = getattr(self._pending, "invalidate", False)
                    self._pending.invalidate = False
                # Committed (an exception would have left above): still under the
                # write lock, so the next writer's readers cannot miss this change.
                if invalidate:
                    self.changes_committed()

    def pool_use(self) -> tuple[int, int, int]:
        """``(in use, idle, most)`` connections of this process's pool (for
        the metrics). peewee's pool has no API for it: its own attributes
        are read, without its lock (a sample may be a moment old)."""
        database = self.database
        in_use = len(getattr(database, "_in_use", ()))
        idle = len(getattr(database, "_connections", ()))
        return in_use, idle, int(getattr(database, "_max_connections", 0) or 0)

    def ping(self) -> None:
        """Run a trivial query and, on SQLite, check that the file is still the
        database's own and writable; raises :class:`ServiceUnavailableError` if not."""
        with self._routed():
            if isinstance(self.database, TrentSqliteDatabase):
                self.database.check_identity()
                self.database.check_writable()
            with self.connection():
                self.database.execute_sql("SELECT 1").fetchall()

    def close(self) -> None:
        """Close this thread's connection and every pooled one (tests, tools)."""
        if not self.database.is_closed():
            self.database.close()
        close_all = getattr(self.database, "close_all", None)
        if close_all is not None:
            close_all()


def _local_connection_state(database: Any) -> None:
    """Give ``database`` a connection state local to each thread, made now.

    peewee keeps a database's open connection and transaction in a subclass of
    ``threading.local`` that it defines when it is imported. `trent serve`'s
    gevent worker patches ``threading`` after gunicorn's fork, when the master
    has imported peewee already: that class would keep one state for all the
    worker's greenlets, one connection shared by every request. A class made
    here, when the worker builds its store, derives from the ``threading.local``
    of that moment: one state per greenlet there, per thread anywhere else.
    """
    if not getattr(database, "thread_safe", False):
        return  # a database opened with one state for all (not Trent's)
    state: Any = peewee._ConnectionState  # noqa: SLF001 - peewee has no API for it

    class ConnectionState(state, threading.local):  # type: ignore[misc]
        pass

    database._state = ConnectionState()


def open_store(
    url: str,
    *,
    pool_size: int,
    pool_timeout: float,
    busy_timeout_ms: int,
    create: bool = False,
    identity: FileIdentity | None = None,
    counter_file: Path | None = None,
    cache_seconds: float = 0.0,
) -> Store:
    """The :class:`Store` for ``url`` (not connected yet).

    ``cache_seconds`` (0: off) is how long committed rows may be served from
    the read cache; ``counter_file`` is the change counter shared by the
    processes of this host, which every commit changes.
    """
    database = open_database(
        url,
        pool_size=pool_size,
        pool_timeout=pool_timeout,
        busy_timeout_ms=busy_timeout_ms,
        create=create,
        identity=identity,
    )
    return Store(database, ReadCache(ChangeCounter(counter_file), ttl_seconds=cache_seconds))


class _ConnectionIfUsed:
    """:meth:`Store.connection_if_used`: :meth:`Store._routed` around a block
    that closes the connection it may have opened.

    A class rather than two nested generator context managers: every request
    enters two of these scopes (its authentication, then its operation), and
    a generator's start and finish cost several times a method call. What it
    does is exactly what the generators did: the connection is closed before
    the routing ends, a database that cannot be used (in the block or in the
    close) leaves as :class:`ServiceUnavailableError`, and the routing is
    undone whatever happens.
    """

    __slots__ = ("_database", "_token")

    def __init__(self, database: peewee.Database) -> None:
        self._database = database
        self._token: Token[peewee.Database | None] | None = None

    def __enter__(self) -> None:
        self._token = use_database(self._database)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        token = self._token
        assert token is not None
        try:
            try:
                if not self._database.is_closed():
                    self._database.close()
            except Exception as close_failure:
                _raise_if_unavailable(close_failure)
                raise
            if isinstance(exc, Exception):
                _raise_if_unavailable(exc)
        finally:
            release_database(token)


def _raise_if_unavailable(exc: Exception) -> None:
    """Raise :class:`ServiceUnavailableError` from ``exc`` if it says the
    database cannot be used (what every scope of :class:`Store` answers then)."""
    if is_unavailable(exc):
        raise ServiceUnavailableError() from exc
