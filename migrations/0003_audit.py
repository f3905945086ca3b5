"""The tamper-evident audit log: events, the chain head, signed checkpoints and
the sealed checkpoint signing key.

The chain-head row is created here (last_seq 0, the all-zero genesis hash), so
that every writer only ever locks and updates an existing row.
"""

from __future__ import annotations

from typing import Any

import peewee


def up(migrator: Any, db: Any) -> None:
    class Base(peewee.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class AuditEvent(Base):
        id = peewee.BigAutoField()
        seq = peewee.BigIntegerField(unique=True)
        event_id = peewee.CharField(max_length=64, unique=True)
        occurred_at = peewee.BigIntegerField()
        recorded_at = peewee.BigIntegerField()
        request_id = peewee.CharField(max_length=128, null=True)
        door = peewee.CharField(max_length=16)
        event_name = peewee.CharField(max_length=128)
        outcome = peewee.CharField(max_length=16)
        http_status = peewee.IntegerField()
        error_code = peewee.CharField(max_length=128, null=True)
        principal_arn = peewee.CharField(max_length=1024, null=True)
        principal_account = peewee.CharField(max_length=32, null=True)
        key_arn = peewee.CharField(max_length=1024, null=True)
        key_id = peewee.CharField(max_length=128, null=True)
        cross_account = peewee.CharField(max_length=32, null=True)
        source_ip = peewee.CharField(max_length=64, null=True)
        body = peewee.BlobField()
        body_mac = peewee.BlobField()
        prev_hash = peewee.BlobField()
        entry_hash = peewee.BlobField()

        class Meta:
            table_name = "audit_event"
            indexes = (
                (("principal_arn", "seq"), False),
                (("event_name", "seq"), False),
                (("key_id", "seq"), False),
                (("outcome", "seq"), False),
                (("error_code", "seq"), False),
                (("principal_account", "seq"), False),
                (("cross_account", "seq"), False),
                (("recorded_at", "seq"), False),
                (("principal_account", "event_name", "seq"), False),
                (("principal_account", "outcome", "seq"), False),
                (("principal_account", "error_code", "seq"), False),
            )

    class AuditHead(Base):
        id = peewee.IntegerField(primary_key=True)
        last_seq = peewee.BigIntegerField()
        head_hash = peewee.BlobField()
        recorded_at = peewee.BigIntegerField()

        class Meta:
            table_name = "audit_head"

    class AuditCheckpoint(Base):
        id = peewee.BigAutoField()
        checkpoint_no = peewee.BigIntegerField(unique=True)
        first_seq = peewee.BigIntegerField()
        last_seq = peewee.BigIntegerField(unique=True)
        head_hash = peewee.BlobField()
        prev_checkpoint_hash = peewee.BlobField()
        created_at = peewee.BigIntegerField()
        signer_key_id = peewee.CharField(max_length=64)
        signature = peewee.BlobField()

        class Meta:
            table_name = "audit_checkpoint"

    class AuditSigningKey(Base):
        version = peewee.IntegerField(unique=True)
        key_id = peewee.CharField(max_length=64, unique=True)
        public_key = peewee.BlobField()
        sealed_private_key = peewee.BlobField()
        created_at = peewee.BigIntegerField()

        class Meta:
            table_name = "audit_signing_key"

    db.create_tables([AuditEvent, AuditHead, AuditCheckpoint, AuditSigningKey])
    AuditHead.insert(id=1, last_seq=0, head_hash=bytes(32), recorded_at=0).execute()


def down(migrator: Any, db: Any) -> None:
    for table in ("audit_signing_key", "audit_checkpoint", "audit_head", "audit_event"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
