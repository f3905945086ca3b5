"""Custom key stores in the database: which token, the sealed PIN, the state.

The connection state lives here, not in a process: every worker reads it, so
a store disconnected through one worker refuses its keys' use in all of them.
"""

from __future__ import annotations

from app.keys.key_stores import ConnectionState, CustomKeyStore
from app.store.database import Store
from app.store.models import CustomKeyStoreRow, KeyRow


def _to_store(row: CustomKeyStoreRow) -> CustomKeyStore:
    return CustomKeyStore(
        store_id=row.id,
        account=row.account,
        name=row.name,
        cluster_id=row.cluster_id,
        token_label=row.token_label,
        trust_anchor=row.trust_anchor,
        sealed_password=bytes(row.sealed_password),
        state=ConnectionState(row.connection_state),
        created_at=row.created_at,
        error_code=row.connection_error,
    )


def _changeable(store: CustomKeyStore) -> dict[str, object]:
    """The columns a store's updates may change (all but its id, account and creation)."""
    return {
        "name": store.name,
        "cluster_id": store.cluster_id,
        "token_label": store.token_label,
        "trust_anchor": store.trust_anchor,
        "sealed_password": store.sealed_password,
        "connection_state": store.state.value,
        "connection_error": store.error_code,
    }


class SqlKeyStoreRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"SqlKeyStoreRepository({self._store!r})"

    def insert(self, store: CustomKeyStore) -> None:
        CustomKeyStoreRow.create(
            id=store.store_id,
            account=store.account,
            created_at=store.created_at,
            **_changeable(store),
        )

    def get(self, store_id: str) -> CustomKeyStore | None:
        row = CustomKeyStoreRow.get_or_none(CustomKeyStoreRow.id == store_id)
        return None if row is None else _to_store(row)

    def all_stores(self) -> list[CustomKeyStore]:
        """Every store of every account (a token backs at most one)."""
        return [_to_store(row) for row in CustomKeyStoreRow.select().order_by(CustomKeyStoreRow.id)]

    def list_for(self, account: str) -> list[CustomKeyStore]:
        """The account's stores, oldest first."""
        rows = (
            CustomKeyStoreRow.select()
            .where(CustomKeyStoreRow.account == account)
            .order_by(CustomKeyStoreRow.created_at, CustomKeyStoreRow.id)
        )
        return [_to_store(row) for row in rows]

    def update(self, store: CustomKeyStore) -> None:
        CustomKeyStoreRow.update(**_changeable(store)).where(
            CustomKeyStoreRow.id == store.store_id
        ).execute()

    def delete(self, store_id: str) -> None:
        CustomKeyStoreRow.delete().where(CustomKeyStoreRow.id == store_id).execute()

    def count_keys(self, store_id: str) -> int:
        """Keys in the store, whatever their state (pending deletion included)."""
        return int(KeyRow.select().where(KeyRow.custom_key_store_id == store_id).count())

    def keys_in(self, store_id: str) -> list[tuple[str, str]]:
        """``(key id, key ARN)`` of every key in the store."""
        rows = (
            KeyRow.select(KeyRow.id, KeyRow.arn)
            .where(KeyRow.custom_key_store_id == store_id)
            .order_by(KeyRow.id)
        )
        return [(row.id, row.arn) for row in rows]
