"""The audit tables: events, the chain head, checkpoints, signing keys, the MAC key."""

from __future__ import annotations

from typing import Any

import peewee

from app.audit.repository import COLUMN_LIMITS
from app.store.base import BaseModel

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
            (("principal_account", "seq"), False),
            (("recorded_at", "seq"), False),
            # An account's own share of the log (every REST search is scoped to
            # the caller's account) by the low-cardinality filters: without
            # these, "Decrypt in an account that never decrypted" must scan
            # every Decrypt of every other account.
            (("principal_account", "event_name", "seq"), False),
            (("principal_account", "outcome", "seq"), False),
        )


# The columns that most events leave empty (a successful call has no error
# code; a caller's own key is not a cross-account use) are indexed only where
# set: a search asks for a value (``= X`` implies ``IS NOT NULL``, which
# SQLite's and PostgreSQL's planners both see), and the writer updates none
# of these indexes for an event without one. Migration 0009.
def _index_where_set(*fields: peewee.Field) -> None:
    """Index ``fields`` and ``seq`` for the rows where the last field is set."""
    names = "_".join(field.name for field in fields)
    AuditEventRow.add_index(
        AuditEventRow.index(
            *fields, AuditEventRow.seq, name=f"audit_event_{names}_seq_where_set"
        ).where(fields[-1].is_null(False))
    )


_index_where_set(AuditEventRow.error_code)
_index_where_set(AuditEventRow.cross_account)
_index_where_set(AuditEventRow.principal_account, AuditEventRow.error_code)


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


#: The single MAC-key row has this primary key.
MAC_KEY_ROW_ID = 1


class AuditMacKeyRow(BaseModel):
    """The audit MAC key, stored only sealed under the root key (one row,
    :data:`MAC_KEY_ROW_ID`: its primary key makes a second insert fail)."""

    id = peewee.IntegerField(primary_key=True)
    sealed_key = peewee.BlobField()
    #: The fingerprint of the root key that sealed it (``RootKeyProvider.key_id``).
    root_key_id = peewee.CharField(max_length=64)
    #: Microseconds since the epoch (UTC).
    created_at = peewee.BigIntegerField()

    class Meta:
        table_name = "audit_mac_key"


AUDIT_MODELS: tuple[type[BaseModel], ...] = (
    AuditEventRow,
    AuditHeadRow,
    AuditCheckpointRow,
    AuditSigningKeyRow,
    AuditMacKeyRow,
)


def as_bytes(value: Any) -> bytes:
    """A blob column's value as bytes (psycopg2 returns bytea as memoryview)."""
    return bytes(value) if value is not None else b""
