"""The identity-policy repository: IAM-style policies stored per principal ARN."""

from __future__ import annotations

from collections.abc import Iterator

from app.store.database import Store
from app.store.models import IdentityPolicyRow

_DOCUMENTS_SQL = (
    "SELECT name, document FROM identity_policy WHERE principal_arn = {p} ORDER BY name"
)


class SqlIdentityPolicyRepository:
    """Identity policies in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._documents_sql = _DOCUMENTS_SQL.format(p=store.param)

    def __repr__(self) -> str:
        return f"SqlIdentityPolicyRepository({self._store!r})"

    def put(self, account: str, principal_arn: str, name: str, document: str, now: float) -> None:
        (
            IdentityPolicyRow.insert(
                account=account,
                principal_arn=principal_arn,
                name=name,
                document=document,
                updated_at=now,
            )
            .on_conflict(
                conflict_target=[IdentityPolicyRow.principal_arn, IdentityPolicyRow.name],
                update={IdentityPolicyRow.document: document, IdentityPolicyRow.updated_at: now},
            )
            .execute()
        )

    def get(self, principal_arn: str, name: str) -> str | None:
        row = IdentityPolicyRow.get_or_none(
            (IdentityPolicyRow.principal_arn == principal_arn) & (IdentityPolicyRow.name == name)
        )
        return None if row is None else str(row.document)

    def delete(self, principal_arn: str, name: str) -> bool:
        deleted = (
            IdentityPolicyRow.delete()
            .where(
                (IdentityPolicyRow.principal_arn == principal_arn)
                & (IdentityPolicyRow.name == name)
            )
            .execute()
        )
        return int(deleted) == 1

    def names(self, principal_arn: str) -> list[str]:
        rows = (
            IdentityPolicyRow.select(IdentityPolicyRow.name)
            .where(IdentityPolicyRow.principal_arn == principal_arn)
            .order_by(IdentityPolicyRow.name)
        )
        return [r.name for r in rows]

    def documents_for(self, principal_arn: str) -> tuple[tuple[str, str], ...]:
        """``(name, document)`` of every policy attached to ``principal_arn``.

        Read on every authorized request: outside a write transaction it may
        come from the read cache, and the statement is written out once
        instead of being built by the query builder each time.
        """
        return self._store.cached(
            ("identity-policies", principal_arn), lambda: self._load_documents(principal_arn)
        )

    def _load_documents(self, principal_arn: str) -> tuple[tuple[str, str], ...]:
        rows = self._store.execute_sql(self._documents_sql, (principal_arn,))
        return tuple((name, document) for name, document in rows)

    def all_documents(self) -> Iterator[tuple[str, str, str]]:
        """``(principal ARN, policy name, document)`` of every identity policy."""
        query = (
            IdentityPolicyRow.select(
                IdentityPolicyRow.principal_arn, IdentityPolicyRow.name, IdentityPolicyRow.document
            )
            .order_by(IdentityPolicyRow.principal_arn, IdentityPolicyRow.name)
            .tuples()
        )
        for principal_arn, name, document in query.iterator():
            yield str(principal_arn), str(name), str(document)
