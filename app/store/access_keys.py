"""SigV4 access keys: the ``access_key`` table and its repository.

Each row maps an access key id to the principal it authenticates, with the
secret stored only sealed under the root key
(:class:`~app.crypto.sealed.SealedMaterial`; nothing in this package can
unseal it). Deleting a key deletes its row: there is nothing left to use.

The per-principal limit is kept by the schema, not only by a count: every
key takes one of the principal's numbered ``slot`` s, and ``(principal_arn,
slot)`` is unique. Two concurrent creations on PostgreSQL, which a
count-then-insert would let through, collide on the index instead.

Import note: :mod:`app.store.models` imports this module at its end (to list
the model in ``ALL_MODELS``), so this module does not import the models module.

Methods run inside the caller's unit of work and never commit.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import peewee

from app.auth.access_keys import STATUS_ACTIVE, AccessKeyRecord
from app.crypto.sealed import SealedMaterial
from app.store.base import BaseModel
from app.store.database import Store


class AccessKeyRow(BaseModel):
    """One access key. ``principal_tags`` is the owner's tags when the key was
    created, as a JSON object: SigV4 requests carry no token to read them from."""

    access_key_id = peewee.CharField(primary_key=True, max_length=128)
    account = peewee.CharField(max_length=12, index=True)
    principal_arn = peewee.CharField(max_length=2048)
    principal_tags = peewee.TextField(default="{}")
    slot = peewee.IntegerField()
    sealed_secret = peewee.BlobField()
    created_at = peewee.DoubleField()
    last_used_at = peewee.DoubleField(null=True)
    status = peewee.CharField(max_length=16, default=STATUS_ACTIVE)

    class Meta:
        table_name = "access_key"
        indexes = ((("principal_arn", "slot"), True),)


def _to_record(row: AccessKeyRow) -> AccessKeyRecord:
    tags: Any = json.loads(row.principal_tags)
    return AccessKeyRecord(
        access_key_id=row.access_key_id,
        account=row.account,
        principal_arn=row.principal_arn,
        sealed_secret=SealedMaterial(bytes(row.sealed_secret)),
        created_at=row.created_at,
        principal_tags=MappingProxyType({str(k): str(v) for k, v in dict(tags).items()}),
        last_used_at=row.last_used_at,
        status=row.status,
    )


class SqlAccessKeyRepository:
    """Access keys in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"SqlAccessKeyRepository({self._store!r})"

    def insert(self, record: AccessKeyRecord, *, max_per_principal: int) -> bool:
        """Store ``record`` in a free slot of its principal; ``False`` if every
        slot is taken (the principal is at its limit)."""
        used = {
            row.slot
            for row in AccessKeyRow.select(AccessKeyRow.slot).where(
                AccessKeyRow.principal_arn == record.principal_arn
            )
        }
        for slot in range(max_per_principal):
            if slot in used:
                continue
            try:
                # A savepoint: on PostgreSQL a failed insert would otherwise
                # abort the caller's whole transaction.
                with self._store.database.atomic():
                    AccessKeyRow.insert(
                        access_key_id=record.access_key_id,
                        account=record.account,
                        principal_arn=record.principal_arn,
                        principal_tags=json.dumps(dict(sorted(record.principal_tags.items()))),
                        slot=slot,
                        sealed_secret=record.sealed_secret.blob,
                        created_at=record.created_at,
                        last_used_at=record.last_used_at,
                        status=record.status,
                    ).execute()
            except peewee.IntegrityError:
                # A concurrent creation took this slot first.
                continue
            return True
        return False

    def get(self, access_key_id: str) -> AccessKeyRecord | None:
        """The key's record; outside a write transaction it may come from the read cache."""
        return self._store.cached(("access-key", access_key_id), lambda: self._load(access_key_id))

    def _load(self, access_key_id: str) -> AccessKeyRecord | None:
        row = AccessKeyRow.get_or_none(AccessKeyRow.access_key_id == access_key_id)
        return None if row is None else _to_record(row)

    def list_for(self, principal_arn: str) -> list[AccessKeyRecord]:
        """Every key of ``principal_arn``, oldest first."""
        rows = (
            AccessKeyRow.select()
            .where(AccessKeyRow.principal_arn == principal_arn)
            .order_by(AccessKeyRow.created_at, AccessKeyRow.access_key_id)
        )
        return [_to_record(row) for row in rows]

    def delete(self, access_key_id: str) -> bool:
        """Delete the key; ``False`` if there was no such key."""
        deleted = AccessKeyRow.delete().where(AccessKeyRow.access_key_id == access_key_id).execute()
        return int(deleted) == 1

    def touch(self, access_key_id: str, now: float) -> None:
        """Record that the key was used at ``now``."""
        AccessKeyRow.update(last_used_at=now).where(
            AccessKeyRow.access_key_id == access_key_id
        ).execute()
