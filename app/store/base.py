"""The base of every model: bound to the database proxy, snake_case tables."""

from __future__ import annotations

import peewee

from app.store.database import database_proxy


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False
