"""Writing changes to a key row safely."""

from __future__ import annotations

from typing import Any

from app.errors import ConflictError
from app.keys.model import Key
from app.store import keys as key_store

DAY = 86400.0


def apply_changes(key: Key, **changes: Any) -> None:
    """Write ``changes`` to ``key`` only if nobody changed it since it was read.

    Inside a SQLite ``BEGIN IMMEDIATE`` transaction nobody can; on PostgreSQL a
    concurrent change makes this fail instead of silently overwriting it
    (a key being enabled while it is scheduled for deletion, say).
    """
    if not key_store.update_key(key.key_id, expected_revision=key.revision, **changes):
        raise ConflictError("The key was changed by another request at the same time; retry.")
