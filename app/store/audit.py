"""Repository for the audit log: events, the chain head, checkpoints and the
sealed checkpoint signing key.

The audit table is append-only by construction: this module has functions
that insert events and read them, and none that update or delete an event
row. The only row that changes is the single chain-head row
(:class:`AuditHeadRow`), and only through a compare-and-set that moves it
forward by exactly the events just inserted.

Times are integer microseconds since the epoch (UTC), the unit of the
canonical event body, so the typed columns equal the body's values exactly.
Hashes, MACs and signatures are raw bytes.

Functions here run inside the caller's unit of work and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import peewee

from app.audit.repository import (
    COLUMN_LIMITS,
    EVENT_COLUMNS,
    AuditHeadMissing,
    AuditHeadMoved,
    EventFilter,
    Head,
    StoredSigningKey,
)
from app.audit.repository import StoredCheckpoint as StoredCheckpoint
from app.audit.repository import StoredEvent as StoredEvent
from app.store.base import BaseModel
from app.store.database import database_proxy, is_postgres, is_sqlite

#: The single chain-head row has this primary key.
HEAD_ROW_ID = 1


class AuditEventRow(BaseModel):
    """One audit event. ``body`` is the canonical JSON that is MACed and hashed;
    the other columns are copies of its values, for searching."""

    id = peewee.BigAutoField()
    seq = peewee.BigIntegerField(unique=True)
    event_id = peewee.CharField(max_length=COLUMN_LIMITS["event_id"], unique=True)
    #: When the request happened: microseconds since the epoch (UTC).
    occurred_at = peewee.BigIntegerField()
    #: When the log recorded the event (µs), assigned under the chain-head lock
    #: and never smaller than the previous event's: it never decreases along
    #: ``seq``, so a time range is a ``seq`` range found with two index probes.
    recorded_at = peewee.BigIntegerField()
    request_id = peewee.CharField(max_length=COLUMN_LIMITS["request_id"], null=True)
    door = peewee.CharField(max_length=COLUMN_LIMITS["door"])
    event_name = peewee.CharField(max_length=COLUMN_LIMITS["event_name"])
    outcome = peewee.CharField(max_length=COLUMN_LIMITS["outcome"])
    http_status = peewee.IntegerField()
    error_code = peewee.CharField(max_length=COLUMN_LIMITS["error_code"], null=True)
    principal_arn = peewee.CharField(max_length=COLUMN_LIMITS["principal_arn"], null=True)
    principal_account = peewee.CharField(max_length=COLUMN_LIMITS["principal_account"], null=True)
    #: The first resource of the event (its key ARN) and the key id parsed from it.
    key_arn = peewee.CharField(max_length=COLUMN_LIMITS["key_arn"], null=True)
    key_id = peewee.CharField(max_length=COLUMN_LIMITS["key_id"], null=True)
    #: The key's account when it is not the caller's (cross-account use), else
    #: NULL: the key owner's share of the log beyond its own principals' events.
    cross_account = peewee.CharField(max_length=COLUMN_LIMITS["cross_account"], null=True)
    source_ip = peewee.CharField(max_length=COLUMN_LIMITS["source_ip"], null=True)
    body = peewee.BlobField()
    body_mac = peewee.BlobField()
    prev_hash = peewee.BlobField()
    entry_hash = peewee.BlobField()

    class Meta:
        table_name = "audit_event"
        # Every search filter is paired with ``seq`` so that "newest first"
        # walks one index backwards and stops after a page.
        indexes = (
            (("principal_arn", "seq"), False),
            (("event_name", "seq"), False),
            (("key_id", "seq"), False),
            (("outcome", "seq"), False),
            (("error_code", "seq"), False),
            (("principal_account", "seq"), False),
            (("cross_account", "seq"), False),
            (("recorded_at", "seq"), False),
            # An account's own share of the log (every REST search is scoped to
            # the caller's account) by the low-cardinality filters: without
            # these, "Decrypt in an account that never decrypted" must scan
            # every Decrypt of every other account.
            (("principal_account", "event_name", "seq"), False),
            (("principal_account", "outcome", "seq"), False),
            (("principal_account", "error_code", "seq"), False),
        )


class AuditHeadRow(BaseModel):
    """The chain head: the last sequence number and its entry hash.

    Every append locks this one row (``SELECT … FOR UPDATE`` on PostgreSQL;
    SQLite's ``BEGIN IMMEDIATE`` already holds the database write lock), which
    is what keeps the chain linear with any number of writer processes.
    """

    id = peewee.IntegerField(primary_key=True)
    last_seq = peewee.BigIntegerField()
    head_hash = peewee.BlobField()
    #: ``recorded_at`` of the last event (0 for an empty log).
    recorded_at = peewee.BigIntegerField()

    class Meta:
        table_name = "audit_head"


class AuditCheckpointRow(BaseModel):
    """A signed statement "the log had ``last_seq`` events ending in ``head_hash``"."""

    id = peewee.BigAutoField()
    checkpoint_no = peewee.BigIntegerField(unique=True)
    first_seq = peewee.BigIntegerField()
    last_seq = peewee.BigIntegerField(unique=True)
    head_hash = peewee.BlobField()
    prev_checkpoint_hash = peewee.BlobField()
    #: Microseconds since the epoch (UTC).
    created_at = peewee.BigIntegerField()
    signer_key_id = peewee.CharField(max_length=64)
    signature = peewee.BlobField()

    class Meta:
        table_name = "audit_checkpoint"


class AuditSigningKeyRow(BaseModel):
    """An Ed25519 checkpoint signing key, stored only sealed under the root key."""

    version = peewee.IntegerField(unique=True)
    key_id = peewee.CharField(max_length=64, unique=True)
    public_key = peewee.BlobField()
    sealed_private_key = peewee.BlobField()
    created_at = peewee.BigIntegerField()

    class Meta:
        table_name = "audit_signing_key"


AUDIT_MODELS: tuple[type[BaseModel], ...] = (
    AuditEventRow,
    AuditHeadRow,
    AuditCheckpointRow,
    AuditSigningKeyRow,
)


def _bytes(value: Any) -> bytes:
    # psycopg2 returns bytea as memoryview; SQLite returns bytes.
    return bytes(value) if value is not None else b""


# -- chain head --------------------------------------------------------------


# The two statements every append runs while it holds the head are written
# out once: building them with peewee costs ~0.2 ms each, which the lock (and
# so every other writer) would wait for.
_HEAD_COLUMNS = '"last_seq", "head_hash", "recorded_at"'


def lock_head() -> Head:
    """Read the chain head and lock it until the caller's transaction ends.

    On PostgreSQL this is ``SELECT … FOR UPDATE``: a concurrent writer waits
    here until this transaction commits or rolls back, then reads the head it
    left (READ COMMITTED re-reads the locked row). On SQLite the caller's
    ``BEGIN IMMEDIATE`` transaction already holds the only write lock.
    """
    param = database_proxy.obj.param
    sql = f'SELECT {_HEAD_COLUMNS} FROM "audit_head" WHERE "id" = {param}'
    if is_postgres():
        sql += " FOR UPDATE"
    row = database_proxy.execute_sql(sql, (HEAD_ROW_ID,)).fetchone()
    if row is None:
        raise AuditHeadMissing("the audit chain head row is missing")
    return Head(int(row[0]), _bytes(row[1]), int(row[2]))


def read_head() -> Head | None:
    """The committed chain head, without locking it."""
    row = AuditHeadRow.get_or_none(AuditHeadRow.id == HEAD_ROW_ID)
    if row is None:
        return None
    return Head(int(row.last_seq), _bytes(row.head_hash), int(row.recorded_at))


def advance_head(expected_last_seq: int, last_seq: int, head_hash: bytes, recorded_at: int) -> None:
    """Move the head from ``expected_last_seq`` to ``last_seq`` (compare-and-set)."""
    param = database_proxy.obj.param
    cursor = database_proxy.execute_sql(
        f'UPDATE "audit_head" SET "last_seq" = {param}, "head_hash" = {param}, '
        f'"recorded_at" = {param} WHERE "id" = {param} AND "last_seq" = {param}',
        (last_seq, head_hash, recorded_at, HEAD_ROW_ID, expected_last_seq),
    )
    if cursor.rowcount != 1:
        raise AuditHeadMoved(
            f"the audit chain head is no longer at {expected_last_seq}; refusing to fork the chain"
        )


# -- events ------------------------------------------------------------------

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


def _insert_sql(rows: int) -> str:
    # A plain multi-row INSERT over fixed column names: peewee's query builder
    # costs more per row than computing the chain does, which bulk loads feel.
    param = database_proxy.obj.param
    values = "(" + ", ".join([param] * len(_INSERT_COLUMNS)) + ")"
    columns = ", ".join(f'"{name}"' for name in _INSERT_COLUMNS)
    return f'INSERT INTO "audit_event" ({columns}) VALUES ' + ", ".join([values] * rows)


def insert_events(events: Sequence[StoredEvent]) -> None:
    for start in range(0, len(events), _INSERT_CHUNK):
        chunk = events[start : start + _INSERT_CHUNK]
        params: list[Any] = []
        for event in chunk:
            params.append(event.seq)
            params.extend(event.columns[name] for name in EVENT_COLUMNS)
            params.extend((event.body, event.body_mac, event.prev_hash, event.entry_hash))
        database_proxy.execute_sql(_insert_sql(len(chunk)), params)


_EVENT_SELECT = (
    AuditEventRow.seq,
    *(getattr(AuditEventRow, name) for name in EVENT_COLUMNS),
    AuditEventRow.body,
    AuditEventRow.body_mac,
    AuditEventRow.prev_hash,
    AuditEventRow.entry_hash,
)


_COLUMN_COUNT = len(EVENT_COLUMNS)


def _raw_rows(query: Any) -> list[Any]:
    """The rows of ``query`` as the driver returns them: every column here is a
    plain integer, string or blob, so peewee's per-value conversion (which
    costs more than verifying a row) is skipped."""
    return list(database_proxy.execute(query).fetchall())


def _to_event(row: Any) -> StoredEvent:
    """A row of ``_EVENT_SELECT`` (read as a plain tuple: building a model
    instance per row would cost more than verifying it)."""
    return StoredEvent(
        seq=int(row[0]),
        columns=dict(zip(EVENT_COLUMNS, row[1 : 1 + _COLUMN_COUNT], strict=True)),
        body=_bytes(row[-4]),
        body_mac=_bytes(row[-3]),
        prev_hash=_bytes(row[-2]),
        entry_hash=_bytes(row[-1]),
    )


def events_in_order(after_seq: int, up_to_seq: int, batch_size: int) -> Iterator[StoredEvent]:
    """Every event with ``after_seq < seq <= up_to_seq``, oldest first.

    Reads in keyset pages of ``batch_size`` rows, so a million-row table is
    never held in memory at once.
    """
    last = after_seq
    while True:
        rows = _raw_rows(
            AuditEventRow.select(*_EVENT_SELECT)
            .where((AuditEventRow.seq > last) & (AuditEventRow.seq <= up_to_seq))
            .order_by(AuditEventRow.seq)
            .limit(batch_size)
        )
        for row in rows:
            yield _to_event(row)
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
    "cross_account",
    "outcome",
)


def _unindexed(field: Any) -> Any:
    """``field`` in a form SQLite's planner will not use an index for.

    SQLite has no statistics unless ANALYZE ran, so with two indexed equality
    terms it may pick the less selective index (e.g. the account, which every
    row of a single-tenant deployment shares) and scan the whole table. The
    unary ``+`` (SQLite's documented idiom) rules an index out for that term.
    PostgreSQL keeps statistics and plans well by itself.
    """
    if is_sqlite():
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
        conditions.append((field if name in drivers else _unindexed(field)) == value)
    if flt.key_arn is not None:
        conditions.append(_unindexed(AuditEventRow.key_arn) == flt.key_arn)
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
    return [_to_event(row) for row in _raw_rows(query.order_by(order).limit(limit))]


# -- checkpoints -------------------------------------------------------------


def _to_checkpoint(row: AuditCheckpointRow) -> StoredCheckpoint:
    return StoredCheckpoint(
        checkpoint_no=int(row.checkpoint_no),
        first_seq=int(row.first_seq),
        last_seq=int(row.last_seq),
        head_hash=_bytes(row.head_hash),
        prev_checkpoint_hash=_bytes(row.prev_checkpoint_hash),
        created_at=int(row.created_at),
        signer_key_id=str(row.signer_key_id),
        signature=_bytes(row.signature),
    )


def latest_checkpoint() -> StoredCheckpoint | None:
    row = AuditCheckpointRow.select().order_by(AuditCheckpointRow.checkpoint_no.desc()).first()
    return None if row is None else _to_checkpoint(row)


def insert_checkpoint(checkpoint: StoredCheckpoint) -> bool:
    """Insert ``checkpoint``; False if another writer took its number first."""
    try:
        with database_proxy.atomic():
            AuditCheckpointRow.insert(
                checkpoint_no=checkpoint.checkpoint_no,
                first_seq=checkpoint.first_seq,
                last_seq=checkpoint.last_seq,
                head_hash=checkpoint.head_hash,
                prev_checkpoint_hash=checkpoint.prev_checkpoint_hash,
                created_at=checkpoint.created_at,
                signer_key_id=checkpoint.signer_key_id,
                signature=checkpoint.signature,
            ).execute()
    except peewee.IntegrityError:
        return False
    return True


def checkpoints_in_order(after_no: int = 0, batch_size: int = 1000) -> Iterator[StoredCheckpoint]:
    """Every checkpoint with ``checkpoint_no > after_no``, in order, page by page."""
    last = after_no
    while True:
        rows = list(
            AuditCheckpointRow.select()
            .where(AuditCheckpointRow.checkpoint_no > last)
            .order_by(AuditCheckpointRow.checkpoint_no)
            .limit(batch_size)
        )
        for row in rows:
            yield _to_checkpoint(row)
        if len(rows) < batch_size:
            return
        last = int(rows[-1].checkpoint_no)


# -- signing keys ------------------------------------------------------------


def _to_signing_key(row: AuditSigningKeyRow) -> StoredSigningKey:
    return StoredSigningKey(
        version=int(row.version),
        key_id=str(row.key_id),
        public_key=_bytes(row.public_key),
        sealed_private_key=_bytes(row.sealed_private_key),
        created_at=int(row.created_at),
    )


def signing_keys() -> list[StoredSigningKey]:
    rows = AuditSigningKeyRow.select().order_by(AuditSigningKeyRow.version)
    return [_to_signing_key(row) for row in rows]


def insert_signing_key(key: StoredSigningKey) -> bool:
    """Insert ``key``; False if another process created that version first."""
    try:
        with database_proxy.atomic():
            AuditSigningKeyRow.insert(
                version=key.version,
                key_id=key.key_id,
                public_key=key.public_key,
                sealed_private_key=key.sealed_private_key,
                created_at=key.created_at,
            ).execute()
    except peewee.IntegrityError:
        return False
    return True
