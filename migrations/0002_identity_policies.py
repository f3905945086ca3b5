"""Identity policies attached to principals (IAM-style, by principal ARN)."""

from __future__ import annotations

from typing import Any

import peewee


def up(migrator: Any, db: Any) -> None:
    class IdentityPolicy(peewee.Model):
        account = peewee.CharField(max_length=12)
        principal_arn = peewee.CharField(max_length=2048)
        name = peewee.CharField(max_length=128)
        document = peewee.TextField()
        updated_at = peewee.DoubleField()

        class Meta:
            database = db
            table_name = "identity_policy"
            indexes = ((("principal_arn", "name"), True),)

    db.create_tables([IdentityPolicy])


def down(migrator: Any, db: Any) -> None:
    db.execute_sql('DROP TABLE IF EXISTS "identity_policy"')
