"""The audit indexes of the columns most events leave empty (``error_code``,
``cross_account``, and ``principal_account`` with ``error_code``) hold only
the events that have a value: a search always asks for one, and the writer
no longer updates three indexes for every successful call (mirrors
``app.store.audit.models``).
"""

from __future__ import annotations

from typing import Any

#: The columns of each index (then ``seq``); the last one must be set. The
#: old index name is the columns and ``seq``; the new one adds ``_where_set``.
_SPARSE = (("error_code",), ("cross_account",), ("principal_account", "error_code"))


def _name(columns: tuple[str, ...]) -> str:
    return "audit_event_" + "_".join(columns) + "_seq"


def _listed(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in (*columns, "seq"))


def up(migrator: Any, db: Any) -> None:
    for columns in _SPARSE:
        db.execute_sql(f'DROP INDEX IF EXISTS "{_name(columns)}"')
        db.execute_sql(
            f'CREATE INDEX IF NOT EXISTS "{_name(columns)}_where_set" '
            f'ON "audit_event" ({_listed(columns)}) WHERE "{columns[-1]}" IS NOT NULL'
        )


def down(migrator: Any, db: Any) -> None:
    for columns in _SPARSE:
        db.execute_sql(f'DROP INDEX IF EXISTS "{_name(columns)}_where_set"')
        db.execute_sql(
            f'CREATE INDEX IF NOT EXISTS "{_name(columns)}" ON "audit_event" ({_listed(columns)})'
        )
