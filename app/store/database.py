"""The database behind every repository: one ``DatabaseProxy``, bound at start.

``TRENT_DATABASE_URL`` picks the engine:

* ``sqlite:///path`` (the embedded default): WAL journal, ``synchronous=FULL``
  (a committed key version must survive power loss, or every ciphertext under
  it becomes undecryptable), foreign keys on, a busy timeout, and
  ``BEGIN IMMEDIATE`` for every write transaction so that a read-then-write
  never fails half-way with "database is locked".
* ``postgresql://…`` (scale-out): a bounded connection pool whose wait for a
  free connection is short and positive; running out becomes 503, never a hang
  and never a 400 (peewee's ``MaxConnectionsExceeded`` subclasses ``ValueError``).

A request takes one connection for its duration (:func:`connection`); one
:func:`transaction` per operation is the unit of work. Repositories never commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import peewee
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase, PooledSqliteDatabase

from app.errors import ServiceUnavailableError

#: Every model binds to this proxy; :func:`bind_database` points it at a database.
database_proxy = peewee.DatabaseProxy()


class StoreConfigError(Exception):
    """The database URL cannot be used (bad form, missing directory)."""


def open_database(url: str, *, pool_size: int, pool_timeout: float, busy_timeout_ms: int) -> Any:
    """Build (but do not connect) the peewee database for ``url``."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.parent.is_dir():
            raise StoreConfigError(
                f"directory {path.parent} for the SQLite database does not exist"
            )
        return PooledSqliteDatabase(
            str(path),
            max_connections=pool_size,
            timeout=pool_timeout,
            stale_timeout=600,
            check_same_thread=False,
            pragmas={
                "journal_mode": "wal",
                "synchronous": "full",
                "foreign_keys": 1,
                "busy_timeout": busy_timeout_ms,
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
    database_proxy.initialize(database)


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
    try:
        yield
    finally:
        if not database_proxy.is_closed():
            database_proxy.close()


@contextmanager
def transaction() -> Iterator[None]:
    """One unit of work: commit on success, roll back on any exception.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``: the write lock
    is taken up front, so concurrent writers wait (busy timeout) instead of
    failing when a read inside the transaction is followed by a write.
    """
    if is_sqlite():
        with database_proxy.atomic(lock_type="IMMEDIATE"):
            yield
    else:
        with database_proxy.atomic():
            yield


def ping() -> None:
    """Run a trivial query; raises :class:`ServiceUnavailableError` on failure."""
    try:
        with connection():
            database_proxy.execute_sql("SELECT 1").fetchall()
    except ServiceUnavailableError:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailableError() from exc
        raise
