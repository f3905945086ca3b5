"""The audit MAC key, stored sealed under the root key (one row), so that it
moves with the other sealed rows when the root key changes.

The row is not made here (a migration has no root key): the audit log seals
the key it derived until now and inserts it on first use, so an existing log
keeps verifying.
"""

from __future__ import annotations

from typing import Any

import peewee


def up(migrator: Any, db: Any) -> None:
    class AuditMacKey(peewee.Model):
        id = peewee.IntegerField(primary_key=True)
        sealed_key = peewee.BlobField()
        root_key_id = peewee.CharField(max_length=64)
        created_at = peewee.BigIntegerField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "audit_mac_key"

    db.create_tables([AuditMacKey])


def down(migrator: Any, db: Any) -> None:
    db.execute_sql('DROP TABLE IF EXISTS "audit_mac_key"')
