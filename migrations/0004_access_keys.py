"""SigV4 access keys: the ``access_key`` table (secrets sealed under the root key)."""

from __future__ import annotations

from typing import Any

import peewee


def up(migrator: Any, db: Any) -> None:
    class AccessKey(peewee.Model):
        access_key_id = peewee.CharField(primary_key=True, max_length=128)
        account = peewee.CharField(max_length=12, index=True)
        principal_arn = peewee.CharField(max_length=2048)
        principal_tags = peewee.TextField(default="{}")
        slot = peewee.IntegerField()
        sealed_secret = peewee.BlobField()
        created_at = peewee.DoubleField()
        last_used_at = peewee.DoubleField(null=True)
        status = peewee.CharField(max_length=16, default="Active")

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "access_key"
            indexes = ((("principal_arn", "slot"), True),)

    db.create_tables([AccessKey])


def down(migrator: Any, db: Any) -> None:
    db.execute_sql('DROP TABLE IF EXISTS "access_key"')
