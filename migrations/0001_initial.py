"""Keys, key versions (sealed material), aliases and tags.

The models are frozen copies, deliberately independent of ``app.store.models``:
a migration must keep meaning what it meant when it was written.
"""

from __future__ import annotations

from typing import Any

import peewee


def up(migrator: Any, db: Any) -> None:
    class Base(peewee.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Key(Base):
        id = peewee.CharField(primary_key=True, max_length=36)
        account = peewee.CharField(max_length=12, index=True)
        arn = peewee.CharField(max_length=256, unique=True)
        description = peewee.TextField(default="")
        key_usage = peewee.CharField(max_length=32)
        key_spec = peewee.CharField(max_length=32)
        origin = peewee.CharField(max_length=32)
        state = peewee.CharField(max_length=32)
        created_at = peewee.DoubleField()
        deletion_date = peewee.DoubleField(null=True)
        pending_window_days = peewee.IntegerField(null=True)
        policy = peewee.TextField()
        rotation_enabled = peewee.BooleanField(default=False)
        rotation_period_days = peewee.IntegerField(null=True)
        next_rotation_at = peewee.DoubleField(null=True, index=True)
        on_demand_rotations = peewee.IntegerField(default=0)
        current_version = peewee.IntegerField()
        revision = peewee.IntegerField(default=1)

        class Meta:
            table_name = "key"

    class KeyVersion(Base):
        key = peewee.ForeignKeyField(Key, on_delete="CASCADE")
        version = peewee.IntegerField()
        sealed_material = peewee.BlobField()
        material_id = peewee.CharField(max_length=64)
        created_at = peewee.DoubleField()
        rotation_type = peewee.CharField(max_length=16, null=True)

        class Meta:
            table_name = "key_version"
            indexes = ((("key", "version"), True),)

    class Alias(Base):
        account = peewee.CharField(max_length=12)
        name = peewee.CharField(max_length=256)
        key = peewee.ForeignKeyField(Key, on_delete="CASCADE")
        created_at = peewee.DoubleField()
        updated_at = peewee.DoubleField()

        class Meta:
            table_name = "alias"
            indexes = ((("account", "name"), True),)

    class KeyTag(Base):
        key = peewee.ForeignKeyField(Key, on_delete="CASCADE")
        tag_key = peewee.CharField(max_length=128)
        tag_value = peewee.CharField(max_length=256)

        class Meta:
            table_name = "key_tag"
            indexes = ((("key", "tag_key"), True),)

    db.create_tables([Key, KeyVersion, Alias, KeyTag])


def down(migrator: Any, db: Any) -> None:
    for table in ("key_tag", "alias", "key_version", "key"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
