"""Signed checkpoints, the sealed keys that sign them, and the sealed MAC key."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import peewee

from app.audit.repository import StoredCheckpoint, StoredMacKey, StoredSigningKey
from app.store.audit.models import (
    MAC_KEY_ROW_ID,
    AuditCheckpointRow,
    AuditMacKeyRow,
    AuditSigningKeyRow,
    as_bytes,
)
from app.store.database import Store


def _to_checkpoint(row: AuditCheckpointRow) -> StoredCheckpoint:
    return StoredCheckpoint(
        checkpoint_no=int(row.checkpoint_no),
        first_seq=int(row.first_seq),
        last_seq=int(row.last_seq),
        head_hash=as_bytes(row.head_hash),
        prev_checkpoint_hash=as_bytes(row.prev_checkpoint_hash),
        created_at=int(row.created_at),
        signer_key_id=str(row.signer_key_id),
        signature=as_bytes(row.signature),
    )


def latest_checkpoint() -> StoredCheckpoint | None:
    row = AuditCheckpointRow.select().order_by(AuditCheckpointRow.checkpoint_no.desc()).first()
    return None if row is None else _to_checkpoint(row)


def insert_checkpoint(store: Store, checkpoint: StoredCheckpoint) -> bool:
    """Insert ``checkpoint``; False if another writer took its number first."""
    return _insert_unless_taken(store, AuditCheckpointRow, dataclasses.asdict(checkpoint))


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
        public_key=as_bytes(row.public_key),
        sealed_private_key=as_bytes(row.sealed_private_key),
        created_at=int(row.created_at),
    )


def signing_keys() -> list[StoredSigningKey]:
    rows = AuditSigningKeyRow.select().order_by(AuditSigningKeyRow.version)
    return [_to_signing_key(row) for row in rows]


def insert_signing_key(store: Store, key: StoredSigningKey) -> bool:
    """Insert ``key``; False if another process created that version first."""
    return _insert_unless_taken(store, AuditSigningKeyRow, dataclasses.asdict(key))


# -- the MAC key -------------------------------------------------------------


def mac_key() -> StoredMacKey | None:
    """The MAC-key row, or ``None``; also ``None`` in a database from before
    migration 0008 (a backup being verified before it is restored)."""
    if not AuditMacKeyRow.table_exists():  # type: ignore[no-untyped-call]
        return None
    row = AuditMacKeyRow.get_or_none(AuditMacKeyRow.id == MAC_KEY_ROW_ID)
    if row is None:
        return None
    return StoredMacKey(
        sealed_key=as_bytes(row.sealed_key),
        root_key_id=str(row.root_key_id),
        created_at=int(row.created_at),
    )


def insert_mac_key(store: Store, key: StoredMacKey) -> bool:
    """Insert the one MAC-key row; False if another process stored it first."""
    return _insert_unless_taken(
        store, AuditMacKeyRow, {"id": MAC_KEY_ROW_ID, **dataclasses.asdict(key)}
    )


def _insert_unless_taken(store: Store, model: type[peewee.Model], row: dict[str, Any]) -> bool:
    """Insert ``row`` (its columns are the record's fields); False if a unique
    column already holds its value (a concurrent writer was first)."""
    try:
        with store.database.atomic():
            model.insert(**row).execute()
    except peewee.IntegrityError:
        return False
    return True
