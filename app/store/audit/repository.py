"""The SQL audit repository: :class:`~app.audit.repository.AuditRepository`
on the tables of :mod:`app.store.audit.models`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager

from app.audit.repository import (
    ChainLink,
    EventFilter,
    Head,
    StoredCheckpoint,
    StoredEvent,
    StoredMacKey,
    StoredSigningKey,
)
from app.store.audit import chain, checkpoints, search
from app.store.database import Store


class SqlAuditRepository:
    """The audit log's records in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"SqlAuditRepository({self._store!r})"

    def transaction(self, *, invalidates: bool = False) -> AbstractContextManager[None]:
        return self._store.transaction(invalidates=invalidates)

    def in_transaction(self) -> bool:
        return self._store.in_transaction()

    def lock_head(self) -> Head:
        return chain.lock_head(self._store)

    def read_head(self) -> Head | None:
        return chain.read_head()

    def advance_head(
        self, expected_last_seq: int, last_seq: int, head_hash: bytes, recorded_at: int
    ) -> None:
        chain.advance_head(self._store, expected_last_seq, last_seq, head_hash, recorded_at)

    def insert_events(self, events: Sequence[StoredEvent]) -> None:
        chain.insert_events(self._store, events)

    def events_in_order(
        self, after_seq: int, up_to_seq: int, batch_size: int
    ) -> Iterator[StoredEvent]:
        return search.events_in_order(self._store, after_seq, up_to_seq, batch_size)

    def chain_links(self, after_seq: int, up_to_seq: int, batch_size: int) -> Iterator[ChainLink]:
        return search.chain_links(self._store, after_seq, up_to_seq, batch_size)

    def event_by_id(self, event_id: str) -> StoredEvent | None:
        return search.event_by_id(event_id)

    def last_event_seq(self) -> int:
        return search.last_event_seq()

    def find_events(
        self,
        flt: EventFilter,
        *,
        newest_first: bool,
        limit: int,
        before_seq: int | None = None,
        after_seq: int | None = None,
    ) -> list[StoredEvent]:
        return search.find_events(
            self._store,
            flt,
            newest_first=newest_first,
            limit=limit,
            before_seq=before_seq,
            after_seq=after_seq,
        )

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return checkpoints.latest_checkpoint()

    def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> bool:
        return checkpoints.insert_checkpoint(self._store, checkpoint)

    def checkpoints_in_order(
        self, after_no: int = 0, batch_size: int = 1000
    ) -> Iterator[StoredCheckpoint]:
        return checkpoints.checkpoints_in_order(after_no, batch_size)

    def signing_keys(self) -> list[StoredSigningKey]:
        return checkpoints.signing_keys()

    def insert_signing_key(self, key: StoredSigningKey) -> bool:
        return checkpoints.insert_signing_key(self._store, key)

    def mac_key(self) -> StoredMacKey | None:
        return checkpoints.mac_key()

    def insert_mac_key(self, key: StoredMacKey) -> bool:
        return checkpoints.insert_mac_key(self._store, key)
