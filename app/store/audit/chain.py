"""Appending to the chain: the head row's lock and compare-and-set, and the
batched inserts of events.

Every append locks the single chain-head row, inserts its events after the
head and moves the head forward by exactly those events with a
compare-and-set (see :mod:`app.audit.log` for why this keeps the chain
linear with any number of writer processes). These statements run while the
head is locked, and so while every other writer waits: they are written out
by hand, not built by peewee's query builder.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from app.audit.repository import EVENT_COLUMNS, AuditHeadMissing, AuditHeadMoved, Head, StoredEvent
from app.store.audit.models import HEAD_ROW_ID, AuditHeadRow, as_bytes
from app.store.database import Store

# The two statements every append runs while it holds the head are written
# out once: building them with peewee costs ~0.2 ms each, which the lock (and
# so every other writer) would wait for.
_HEAD_COLUMNS = '"last_seq", "head_hash", "recorded_at"'


def lock_head(store: Store) -> Head:
    """Read the chain head and lock it until the caller's transaction ends.

    On PostgreSQL this is ``SELECT … FOR UPDATE``: a concurrent writer waits
    here until this transaction commits or rolls back, then reads the head it
    left (READ COMMITTED re-reads the locked row). On SQLite the caller's
    ``BEGIN IMMEDIATE`` transaction already holds the only write lock.
    """
    sql = f'SELECT {_HEAD_COLUMNS} FROM "audit_head" WHERE "id" = {store.param}'
    if store.is_postgres():
        sql += " FOR UPDATE"
    row = store.execute_sql(sql, (HEAD_ROW_ID,)).fetchone()
    if row is None:
        raise AuditHeadMissing("the audit chain head row is missing")
    return Head(int(row[0]), as_bytes(row[1]), int(row[2]))


def read_head() -> Head | None:
    """The committed chain head, without locking it."""
    row = AuditHeadRow.get_or_none(AuditHeadRow.id == HEAD_ROW_ID)
    if row is None:
        return None
    return Head(int(row.last_seq), as_bytes(row.head_hash), int(row.recorded_at))


def advance_head(
    store: Store, expected_last_seq: int, last_seq: int, head_hash: bytes, recorded_at: int
) -> None:
    """Move the head from ``expected_last_seq`` to ``last_seq`` (compare-and-set)."""
    param = store.param
    cursor = store.execute_sql(
        f'UPDATE "audit_head" SET "last_seq" = {param}, "head_hash" = {param}, '
        f'"recorded_at" = {param} WHERE "id" = {param} AND "last_seq" = {param}',
        (last_seq, head_hash, recorded_at, HEAD_ROW_ID, expected_last_seq),
    )
    if cursor.rowcount != 1:
        raise AuditHeadMoved(
            f"the audit chain head is no longer at {expected_last_seq}; refusing to fork the chain"
        )


#: Rows per multi-row INSERT (well below SQLite's bound-variable limit).
_INSERT_CHUNK = 500
_INSERT_COLUMNS = (
    "seq",
    *EVENT_COLUMNS,
    "body",
    "body_mac",
    "prev_hash",
    "entry_hash",
)


_typed_values = itemgetter(*EVENT_COLUMNS)


@lru_cache(maxsize=64)
def _insert_sql(param: str, rows: int) -> str:
    # A plain multi-row INSERT over fixed column names: peewee's query builder
    # costs more per row than computing the chain does, which bulk loads feel.
    # Kept per batch size: the audit writer's batches are mostly a few sizes,
    # and building the text cost it a few µs an event.
    values = "(" + ", ".join([param] * len(_INSERT_COLUMNS)) + ")"
    columns = ", ".join(f'"{name}"' for name in _INSERT_COLUMNS)
    return f'INSERT INTO "audit_event" ({columns}) VALUES ' + ", ".join([values] * rows)


def insert_events(store: Store, events: Sequence[StoredEvent]) -> None:
    for start in range(0, len(events), _INSERT_CHUNK):
        chunk = events[start : start + _INSERT_CHUNK]
        params: list[Any] = []
        for event in chunk:
            params.append(event.seq)
            params.extend(_typed_values(event.columns))
            params.extend((event.body, event.body_mac, event.prev_hash, event.entry_hash))
        store.execute_sql(_insert_sql(store.param, len(chunk)), params)
