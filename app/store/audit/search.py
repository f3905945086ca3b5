"""Reading events: in chain order (checkpoints, verification), by id, and by
search filters, with the choice of index each search is driven by."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import peewee

from app.audit.repository import EVENT_COLUMNS, ChainLink, EventFilter, StoredEvent
from app.store.audit.models import AuditEventRow, as_bytes
from app.store.database import Store

_EVENT_SELECT = (
    AuditEventRow.seq,
    *(getattr(AuditEventRow, name) for name in EVENT_COLUMNS),
    AuditEventRow.body,
    AuditEventRow.body_mac,
    AuditEventRow.prev_hash,
    AuditEventRow.entry_hash,
)


_COLUMN_COUNT = len(EVENT_COLUMNS)


def _raw_rows(store: Store, query: Any) -> list[Any]:
    """The rows of ``query`` as the driver returns them: every column here is a
    plain integer, string or blob, so peewee's per-value conversion (which
    costs more than verifying a row) is skipped."""
    return list(store.database.execute(query).fetchall())


def _to_event(row: Any) -> StoredEvent:
    """A row of ``_EVENT_SELECT`` (read as a plain tuple: building a model
    instance per row would cost more than verifying it)."""
    return StoredEvent(
        seq=int(row[0]),
        columns=dict(zip(EVENT_COLUMNS, row[1 : 1 + _COLUMN_COUNT], strict=True)),
        body=as_bytes(row[-4]),
        body_mac=as_bytes(row[-3]),
        prev_hash=as_bytes(row[-2]),
        entry_hash=as_bytes(row[-1]),
    )


def events_in_order(
    store: Store, after_seq: int, up_to_seq: int, batch_size: int
) -> Iterator[StoredEvent]:
    """Every event with ``after_seq < seq <= up_to_seq``, oldest first.

    Reads in keyset pages of ``batch_size`` rows, so a million-row table is
    never held in memory at once.
    """
    last = after_seq
    while True:
        rows = _raw_rows(
            store,
            AuditEventRow.select(*_EVENT_SELECT)
            .where((AuditEventRow.seq > last) & (AuditEventRow.seq <= up_to_seq))
            .order_by(AuditEventRow.seq)
            .limit(batch_size),
        )
        for row in rows:
            yield _to_event(row)
        if len(rows) < batch_size:
            return
        last = int(rows[-1][0])


# Written out by hand, like the append's statements (app.store.audit.chain):
# a checkpoint reads every event since the last one, and peewee's query
# builder and row conversion cost more per row than checking the row does.
_CHAIN_LINKS = (
    'SELECT "seq", "prev_hash", "body", "body_mac", "entry_hash" FROM "audit_event" '
    'WHERE "seq" > {param} AND "seq" <= {param} ORDER BY "seq" LIMIT {param}'
)


def chain_links(
    store: Store, after_seq: int, up_to_seq: int, batch_size: int
) -> Iterator[ChainLink]:
    """The chain columns of every event with ``after_seq < seq <= up_to_seq``,
    oldest first, in keyset pages of ``batch_size`` rows."""
    sql = _CHAIN_LINKS.format(param=store.param)
    # SQLite returns blobs as bytes; psycopg2 returns bytea as memoryview.
    convert = store.is_postgres()
    last = after_seq
    while True:
        rows = store.execute_sql(sql, (last, up_to_seq, batch_size)).fetchall()
        for seq, prev_hash, body, body_mac, digest in rows:
            if convert:
                prev_hash, body, body_mac, digest = (
                    as_bytes(prev_hash),
                    as_bytes(body),
                    as_bytes(body_mac),
                    as_bytes(digest),
                )
            yield ChainLink(int(seq), prev_hash, body, body_mac, digest)
        if len(rows) < batch_size:
            return
        last = int(rows[-1][0])


def event_by_id(event_id: str) -> StoredEvent | None:
    row = (
        AuditEventRow.select(*_EVENT_SELECT)
        .where(AuditEventRow.event_id == event_id)
        .tuples()
        .first()
    )
    return None if row is None else _to_event(row)


def last_event_seq() -> int:
    value = AuditEventRow.select(peewee.fn.MAX(AuditEventRow.seq)).scalar()
    return int(value) if value is not None else 0


#: Which filter may drive the index scan when several are given, most
#: selective first. The others are evaluated on the rows that index yields.
_INDEX_PREFERENCE = (
    # Cross-account use is rare: when asked for, it is always the best start.
    "cross_account",
    "key_id",
    "principal_arn",
    "error_code",
    "event_name",
    "principal_account",
    "outcome",
)


def _unindexed(store: Store, field: Any) -> Any:
    """``field`` in a form SQLite's planner will not use an index for.

    SQLite has no statistics unless ANALYZE ran, so with two indexed equality
    terms it may pick the less selective index (e.g. the account, which every
    row of a single-tenant deployment shares) and scan the whole table. The
    unary ``+`` (SQLite's documented idiom) rules an index out for that term.
    PostgreSQL keeps statistics and plans well by itself.
    """
    if store.is_sqlite():
        return peewee.NodeList((peewee.SQL("+"), field), glue="")
    return field


def first_seq_recorded_at_or_after(moment_us: int) -> int | None:
    value = (
        AuditEventRow.select(AuditEventRow.seq)
        .where(AuditEventRow.recorded_at >= moment_us)
        .order_by(AuditEventRow.recorded_at, AuditEventRow.seq)
        .limit(1)
        .scalar()
    )
    return None if value is None else int(value)


def last_seq_recorded_at_or_before(moment_us: int) -> int | None:
    value = (
        AuditEventRow.select(AuditEventRow.seq)
        .where(AuditEventRow.recorded_at <= moment_us)
        .order_by(AuditEventRow.recorded_at.desc(), AuditEventRow.seq.desc())
        .limit(1)
        .scalar()
    )
    return None if value is None else int(value)


#: Filters that an account-scoped search pairs with ``principal_account``
#: (the ``(principal_account, X, seq)`` indexes), most selective first.
_ACCOUNT_PAIRED = ("error_code", "event_name", "outcome")


def _index_terms(equalities: Mapping[str, str | None]) -> set[str]:
    """The filter columns the index scan should be driven by."""
    given = [name for name in _INDEX_PREFERENCE if equalities[name] is not None]
    if not given:
        return set()
    first = given[0]
    if first == "principal_account" or (
        first in _ACCOUNT_PAIRED and equalities["principal_account"] is not None
    ):
        paired = next((name for name in _ACCOUNT_PAIRED if name in given), None)
        return {"principal_account", paired} if paired else {"principal_account"}
    return {first}


def find_events(
    store: Store,
    flt: EventFilter,
    *,
    newest_first: bool,
    limit: int,
    before_seq: int | None = None,
    after_seq: int | None = None,
) -> list[StoredEvent]:
    """Up to ``limit`` events matching ``flt``, ordered by ``seq``."""
    equalities = {
        "key_id": flt.key_id,
        "principal_arn": flt.principal_arn,
        "error_code": flt.error_code,
        "event_name": flt.event_name,
        "principal_account": flt.principal_account,
        "cross_account": flt.cross_account,
        "outcome": flt.outcome,
    }
    drivers = _index_terms(equalities)
    conditions: list[Any] = []
    for name, value in equalities.items():
        if value is None:
            continue
        field = getattr(AuditEventRow, name)
        conditions.append((field if name in drivers else _unindexed(store, field)) == value)
    if flt.key_arn is not None:
        conditions.append(_unindexed(store, AuditEventRow.key_arn) == flt.key_arn)
    # A time range is a seq range (recorded_at never decreases along seq),
    # found with two probes of the (recorded_at, seq) index.
    if flt.since_us is not None:
        first = first_seq_recorded_at_or_after(flt.since_us)
        if first is None:
            return []
        conditions.append(AuditEventRow.seq >= first)
    if flt.until_us is not None:
        last = last_seq_recorded_at_or_before(flt.until_us)
        if last is None:
            return []
        conditions.append(AuditEventRow.seq <= last)
    if before_seq is not None:
        conditions.append(AuditEventRow.seq < before_seq)
    if after_seq is not None:
        conditions.append(AuditEventRow.seq > after_seq)
    query = AuditEventRow.select(*_EVENT_SELECT)
    if conditions:
        query = query.where(*conditions)
    order = AuditEventRow.seq.desc() if newest_first else AuditEventRow.seq.asc()
    return [_to_event(row) for row in _raw_rows(store, query.order_by(order).limit(limit))]
