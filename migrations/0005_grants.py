"""Grants: the ``grant`` table (one row per grant on a key; deleted with the key)."""

from __future__ import annotations

from typing import Any

import peewee


def up(migrator: Any, db: Any) -> None:
    class KeyStub(peewee.Model):
        id = peewee.CharField(primary_key=True, max_length=36)

        class Meta:
            database = db
            table_name = "key"

    class Grant(peewee.Model):
        seq = peewee.AutoField()
        grant_id = peewee.CharField(max_length=128, unique=True)
        key = peewee.ForeignKeyField(KeyStub, on_delete="CASCADE")
        key_arn = peewee.CharField(max_length=256)
        grantee_principal = peewee.CharField(max_length=256)
        retiring_principal = peewee.CharField(max_length=256, null=True, index=True)
        operations = peewee.TextField()
        constraints = peewee.TextField(null=True)
        name = peewee.CharField(max_length=256, null=True)
        issuing_account = peewee.CharField(max_length=256)
        created_at = peewee.DoubleField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "grant"
            indexes = ((("key", "grantee_principal"), False), (("key", "name"), False))

    db.create_tables([Grant])


def down(migrator: Any, db: Any) -> None:
    db.execute_sql('DROP TABLE IF EXISTS "grant"')
