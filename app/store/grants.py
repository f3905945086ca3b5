"""The grant repository: grants on keys, as :class:`Grant` values.

Grants are never read through the read cache: a revoked or retired grant must
stop allowing at once, on every host, so each lookup asks the database. A
request only looks its grants up when no policy allowed it (the common case
never does), and the lookups go by an index on ``(key, grantee)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.store.database import Store
from app.store.models import GrantRow
from policies.grants import (
    GRANT_OPERATIONS,
    Grant,
    constraints_from_json,
    constraints_json,
)

# The two lookups a request may make are written out once (building them with
# the query builder cost more than the rest of a grant-allowed request).
# ``{p}`` is the driver's parameter placeholder.
_COLUMNS = (
    "grant_id, key_arn, grantee_principal, retiring_principal, operations, constraints, "
    "name, issuing_account, created_at"
)
_GET_SQL = f'SELECT {_COLUMNS} FROM "grant" WHERE grant_id = {{p}}'
_FOR_GRANTEES_SQL = (
    f'SELECT {_COLUMNS} FROM "grant" WHERE key_id = {{p}} AND grantee_principal IN ({{ps}}) '
    "ORDER BY seq"
)


def _from_columns(row: tuple[Any, ...]) -> Grant:
    grant_id, key_arn, grantee, retiring, operations, constraints, name, issuer, created = row
    return Grant(
        grant_id=grant_id,
        key_arn=key_arn,
        grantee_principal=grantee,
        operations=frozenset(json.loads(operations)),
        constraints=constraints_from_json(None if constraints is None else json.loads(constraints)),
        retiring_principal=retiring,
        name=name,
        issuing_account=issuer,
        created_at=created,
    )


def _to_grant(row: GrantRow) -> Grant:
    return Grant(
        grant_id=row.grant_id,
        key_arn=row.key_arn,
        grantee_principal=row.grantee_principal,
        operations=frozenset(json.loads(row.operations)),
        constraints=constraints_from_json(
            None if row.constraints is None else json.loads(row.constraints)
        ),
        retiring_principal=row.retiring_principal,
        name=row.name,
        issuing_account=row.issuing_account,
        created_at=row.created_at,
    )


def _operations_json(grant: Grant) -> str:
    return json.dumps([op for op in GRANT_OPERATIONS if op in grant.operations])


class SqlGrantRepository:
    """Grants in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._get_sql = _GET_SQL.format(p=store.param)

    def __repr__(self) -> str:
        return f"SqlGrantRepository({self._store!r})"

    def insert(self, key_id: str, grant: Grant) -> None:
        constraints = constraints_json(grant.constraints)
        GrantRow.create(
            grant_id=grant.grant_id,
            key=key_id,
            key_arn=grant.key_arn,
            grantee_principal=grant.grantee_principal,
            retiring_principal=grant.retiring_principal,
            operations=_operations_json(grant),
            constraints=None if constraints is None else json.dumps(constraints, sort_keys=True),
            name=grant.name,
            issuing_account=grant.issuing_account or "",
            created_at=grant.created_at or 0.0,
        )

    def get(self, grant_id: str) -> Grant | None:
        row = self._store.execute_sql(self._get_sql, (grant_id,)).fetchone()
        return None if row is None else _from_columns(row)

    def for_grantees(self, key_id: str, grantees: Sequence[str]) -> list[Grant]:
        if not grantees:
            return []
        p = self._store.param
        sql = _FOR_GRANTEES_SQL.format(p=p, ps=", ".join([p] * len(grantees)))
        rows = self._store.execute_sql(sql, (key_id, *grantees)).fetchall()
        return [_from_columns(row) for row in rows]

    def named(self, key_id: str, name: str) -> list[Grant]:
        rows = (
            GrantRow.select()
            .where((GrantRow.key == key_id) & (GrantRow.name == name))
            .order_by(GrantRow.seq)
        )
        return [_to_grant(row) for row in rows]

    def count_for_key(self, key_id: str) -> int:
        return int(GrantRow.select().where(GrantRow.key == key_id).count())

    def list_for_key(
        self,
        key_id: str,
        *,
        after: int,
        limit: int,
        grant_id: str | None = None,
        grantee: str | None = None,
    ) -> list[tuple[int, Grant]]:
        """Up to ``limit`` grants after position ``after``, with their positions."""
        condition = (GrantRow.key == key_id) & (GrantRow.seq > after)
        if grant_id is not None:
            condition &= GrantRow.grant_id == grant_id
        if grantee is not None:
            condition &= GrantRow.grantee_principal == grantee
        rows = GrantRow.select().where(condition).order_by(GrantRow.seq).limit(limit)
        return [(int(row.seq), _to_grant(row)) for row in rows]

    def list_retirable(
        self, retiring_principal: str, *, after: int, limit: int
    ) -> list[tuple[int, Grant]]:
        rows = (
            GrantRow.select()
            .where((GrantRow.retiring_principal == retiring_principal) & (GrantRow.seq > after))
            .order_by(GrantRow.seq)
            .limit(limit)
        )
        return [(int(row.seq), _to_grant(row)) for row in rows]

    def delete(self, grant_id: str) -> bool:
        return int(GrantRow.delete().where(GrantRow.grant_id == grant_id).execute()) == 1

    def delete_for_key(self, key_id: str) -> int:
        return int(GrantRow.delete().where(GrantRow.key == key_id).execute())
