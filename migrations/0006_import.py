"""Imported key material: its expiry on the key, and the import tokens
(each with its wrapping private key, sealed under the root key)."""

from __future__ import annotations

from typing import Any

import peewee


def up(migrator: Any, db: Any) -> None:
    migrator.migrate(
        migrator.add_column("key", "expiration_model", peewee.CharField(max_length=32, null=True)),
        migrator.add_column("key", "valid_to", peewee.DoubleField(null=True, index=True)),
    )

    class KeyStub(peewee.Model):
        id = peewee.CharField(primary_key=True, max_length=36)

        class Meta:
            database = db
            table_name = "key"

    class ImportToken(peewee.Model):
        digest = peewee.CharField(primary_key=True, max_length=64)
        key = peewee.ForeignKeyField(KeyStub, on_delete="CASCADE", index=True)
        wrapping_algorithm = peewee.CharField(max_length=32)
        wrapping_key_spec = peewee.CharField(max_length=16)
        sealed_wrapping_key = peewee.BlobField()
        created_at = peewee.DoubleField()
        expires_at = peewee.DoubleField(index=True)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "import_token"

    db.create_tables([ImportToken])


def down(migrator: Any, db: Any) -> None:
    db.execute_sql('DROP TABLE IF EXISTS "import_token"')
    migrator.migrate(
        migrator.drop_index("key", "key_valid_to"),
        migrator.drop_column("key", "valid_to"),
        migrator.drop_column("key", "expiration_model"),
    )
