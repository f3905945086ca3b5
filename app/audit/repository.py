"""What the audit log keeps, and the repository it keeps it in.

The records here are plain values: the chain head, a chained event, a signed
checkpoint, a sealed signing key, the sealed MAC key, and the terms of an
event search. The audit
log (:mod:`app.audit.log`), the query functions (:mod:`app.audit.query`) and
the verifier work on an :class:`AuditRepository` they are handed; the SQL one
is :class:`app.store.audit.repository.SqlAuditRepository`, and the unit tests use an
in-memory one. Nothing in this module imports the database.

Times are integer microseconds since the epoch (UTC), the unit of the
canonical event body, so the typed columns equal the body's values exactly.
Hashes, MACs and signatures are raw bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

#: ``prev_hash`` of event 1 and ``head_hash`` of an empty log.
GENESIS_HASH = bytes(32)

#: Typed (searchable) columns of an event, each a copy of a value in the body.
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "occurred_at",
    "recorded_at",
    "request_id",
    "door",
    "event_name",
    "outcome",
    "http_status",
    "error_code",
    "principal_arn",
    "principal_account",
    "key_arn",
    "key_id",
    "cross_account",
    "source_ip",
)

#: Longest value (in characters and in UTF-8 bytes) of each string column.
#: The writer clips the body's values to these limits *before* deriving the
#: columns, so that a column always equals the body and an oversized value can
#: never make an insert fail (an indexed PostgreSQL value must stay well under
#: the 2704-byte B-tree entry limit).
COLUMN_LIMITS: dict[str, int] = {
    "event_id": 64,
    "request_id": 128,
    "door": 16,
    "event_name": 128,
    "outcome": 16,
    "error_code": 128,
    "principal_arn": 1024,
    "principal_account": 32,
    "key_arn": 1024,
    "key_id": 128,
    "cross_account": 32,
    "source_ip": 64,
}


@dataclass(frozen=True)
class Head:
    """The chain head: the last sequence number, its entry hash and its time."""

    last_seq: int
    head_hash: bytes
    recorded_at: int


class StoredEvent(NamedTuple):
    """An event linked into the chain: what is inserted, and what is read back.

    ``columns`` holds the typed columns (:data:`EVENT_COLUMNS`), each a copy
    of a value of ``body``. A named tuple, not a frozen dataclass: the audit
    writer makes one per event appended, and a frozen dataclass costs about
    1 µs more to build.
    """

    seq: int
    columns: dict[str, Any]
    body: bytes
    body_mac: bytes
    prev_hash: bytes
    entry_hash: bytes


class ChainLink(NamedTuple):
    """An event's place in the chain, without its typed columns: what a
    checkpoint checks before it signs (a plain tuple, as the rows are many)."""

    seq: int
    prev_hash: bytes
    body: bytes
    body_mac: bytes
    entry_hash: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    checkpoint_no: int
    first_seq: int
    last_seq: int
    head_hash: bytes
    prev_checkpoint_hash: bytes
    created_at: int
    signer_key_id: str
    signature: bytes


@dataclass(frozen=True)
class StoredSigningKey:
    """An Ed25519 checkpoint signing key, its private half sealed under the root key."""

    version: int
    key_id: str
    public_key: bytes
    sealed_private_key: bytes
    created_at: int


@dataclass(frozen=True)
class StoredMacKey:
    """The audit MAC key, sealed under the root key (one row per log).

    ``root_key_id`` is the fingerprint of the root key that sealed it, so an
    operator (and an error message) can tell which root key it needs.
    """

    sealed_key: bytes = field(repr=False)
    root_key_id: str
    created_at: int


@dataclass(frozen=True)
class EventFilter:
    """Conditions of an event search; every given condition must hold."""

    principal_arn: str | None = None
    event_name: str | None = None
    key_arn: str | None = None
    key_id: str | None = None
    outcome: str | None = None
    error_code: str | None = None
    #: Bounds on ``recorded_at`` (inclusive).
    since_us: int | None = None
    until_us: int | None = None
    #: Only events whose principal is in this account.
    principal_account: str | None = None
    #: Only events of other accounts' principals using this account's key.
    cross_account: str | None = None


class AuditHeadMissing(Exception):
    """The chain-head row is absent (migration 0003 not applied, or removed)."""


class AuditHeadMoved(Exception):
    """The chain head changed under a writer that believed it held its lock."""


class AuditRepository(Protocol):
    """Where the audit log's records live, and the transactions they are written in.

    The table is append-only by construction: there are methods that insert
    events and read them, and none that update or delete an event. The only
    record that changes is the chain head, and only through
    :meth:`advance_head`, a compare-and-set that moves it forward by exactly
    the events just inserted. Every method but :meth:`transaction` runs in
    the caller's connection and never commits.
    """

    def transaction(self, *, invalidates: bool = False) -> AbstractContextManager[None]:
        """One unit of work (``invalidates``: it changes rows other processes cache)."""
        ...

    def in_transaction(self) -> bool: ...

    # -- the chain head and appends --

    def lock_head(self) -> Head:
        """The chain head, locked until the caller's transaction ends
        (:class:`AuditHeadMissing` if there is none)."""
        ...

    def read_head(self) -> Head | None:
        """The committed chain head, without locking it."""
        ...

    def advance_head(
        self, expected_last_seq: int, last_seq: int, head_hash: bytes, recorded_at: int
    ) -> None:
        """Move the head from ``expected_last_seq`` to ``last_seq``, or raise
        :class:`AuditHeadMoved` (compare-and-set)."""
        ...

    def insert_events(self, events: Sequence[StoredEvent]) -> None: ...

    # -- reading events --

    def events_in_order(
        self, after_seq: int, up_to_seq: int, batch_size: int
    ) -> Iterator[StoredEvent]:
        """Every event with ``after_seq < seq <= up_to_seq``, oldest first."""
        ...

    def chain_links(self, after_seq: int, up_to_seq: int, batch_size: int) -> Iterator[ChainLink]:
        """The chain columns of every event with ``after_seq < seq <= up_to_seq``,
        oldest first (no typed columns: what a checkpoint verifies)."""
        ...

    def event_by_id(self, event_id: str) -> StoredEvent | None: ...

    def last_event_seq(self) -> int:
        """The largest ``seq`` in the table (0 if empty), whatever the head says."""
        ...

    def find_events(
        self,
        flt: EventFilter,
        *,
        newest_first: bool,
        limit: int,
        before_seq: int | None = None,
        after_seq: int | None = None,
    ) -> list[StoredEvent]:
        """Up to ``limit`` events matching ``flt``, ordered by ``seq``."""
        ...

    # -- checkpoints and their signing keys --

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> bool:
        """Insert ``checkpoint``; False if another writer took its number first."""
        ...

    def checkpoints_in_order(
        self, after_no: int = 0, batch_size: int = 1000
    ) -> Iterator[StoredCheckpoint]: ...

    def signing_keys(self) -> list[StoredSigningKey]:
        """Every signing key, oldest version first."""
        ...

    def insert_signing_key(self, key: StoredSigningKey) -> bool:
        """Insert ``key``; False if another process created that version first."""
        ...

    # -- the sealed MAC key --

    def mac_key(self) -> StoredMacKey | None:
        """The sealed audit MAC key, or ``None`` if none was stored yet."""
        ...

    def insert_mac_key(self, key: StoredMacKey) -> bool:
        """Insert ``key`` in a transaction of its own (a savepoint inside the
        caller's); False if a MAC key is already stored (another process was first)."""
        ...
