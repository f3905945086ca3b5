"""Schema migrations: numbered files in ``migrations/``, applied in order.

The runner is peewee's own (``playhouse.migrations``); it records applied
files in the ``schema_migration`` table. :func:`schema_drift` compares the
database with the models, so a test can prove the migrations build exactly the
schema the code expects. Each function works on the store it is given,
inside one of its connections.
"""

from __future__ import annotations

from pathlib import Path

from playhouse.migrations import Migration, Runner
from playhouse.schema_diff import diff_models

import migrations
from app.store.database import Store
from app.store.models import ALL_MODELS

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def _runner(store: Store) -> Runner:
    return Runner(store.database, directory=str(MIGRATIONS_DIR))


def apply_migrations(store: Store) -> list[str]:
    """Apply every pending migration; returns the names applied (maybe none)."""
    applied: list[str] = _runner(store).up()
    return applied


def known_migrations() -> list[str]:
    """The names of the migrations this version of Trent has, in order."""
    return [m.name for m in Migration.load_directory(str(MIGRATIONS_DIR))]


def pending_migrations(store: Store) -> list[str]:
    return [m.name for m in _runner(store).status() if m.applied is None and m.path is not None]


def schema_drift(store: Store) -> str:
    """A description of every difference between the database and the models
    (empty when they agree)."""
    return str(diff_models(store.database, list(ALL_MODELS)))
