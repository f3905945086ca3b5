"""Custom key stores (tokens of the PKCS#11 module), and the store a key lives in."""

from __future__ import annotations

from typing import Any

import peewee


def up(migrator: Any, db: Any) -> None:
    class CustomKeyStore(peewee.Model):
        id = peewee.CharField(primary_key=True, max_length=64)
        account = peewee.CharField(max_length=12)
        name = peewee.CharField(max_length=256)
        cluster_id = peewee.CharField(max_length=24)
        token_label = peewee.CharField(max_length=64)
        trust_anchor = peewee.TextField()
        sealed_password = peewee.BlobField()
        connection_state = peewee.CharField(max_length=16)
        connection_error = peewee.CharField(max_length=32, null=True)
        created_at = peewee.DoubleField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "custom_key_store"
            indexes = ((("account", "name"), True),)

    db.create_tables([CustomKeyStore])
    migrator.migrate(
        migrator.add_column(
            "key", "custom_key_store_id", peewee.CharField(max_length=64, null=True, index=True)
        ),
    )


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(
        migrator.drop_index("key", "key_custom_key_store_id"),
        migrator.drop_column("key", "custom_key_store_id"),
    )
    db.execute_sql('DROP TABLE IF EXISTS "custom_key_store"')
