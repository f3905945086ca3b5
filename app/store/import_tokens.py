"""Import tokens: the server's half of GetParametersForImport's answers.

Each row holds the wrapping private key sealed under the root key, so a
reader of the database learns no wrapping key; and it is found by the
SHA-256 of the token, so the database holds no usable token either.
"""

from __future__ import annotations

from app.keys.model import ImportToken
from app.store.database import Store
from app.store.models import ImportTokenRow


class SqlImportTokenRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"SqlImportTokenRepository({self._store!r})"

    def insert(self, token: ImportToken) -> None:
        ImportTokenRow.create(
            digest=token.digest,
            key=token.key_id,
            wrapping_algorithm=token.wrapping_algorithm,
            wrapping_key_spec=token.wrapping_key_spec,
            sealed_wrapping_key=token.sealed_wrapping_key,
            created_at=token.created_at,
            expires_at=token.expires_at,
        )

    def get(self, digest: str) -> ImportToken | None:
        row = ImportTokenRow.get_or_none(ImportTokenRow.digest == digest)
        if row is None:
            return None
        return ImportToken(
            digest=row.digest,
            key_id=str(row.__data__["key"]),
            wrapping_algorithm=row.wrapping_algorithm,
            wrapping_key_spec=row.wrapping_key_spec,
            sealed_wrapping_key=bytes(row.sealed_wrapping_key),
            created_at=row.created_at,
            expires_at=row.expires_at,
        )

    def delete_expired(self, now: float) -> int:
        """Forget tokens past their validity (they could never be used again)."""
        return int(ImportTokenRow.delete().where(ImportTokenRow.expires_at <= now).execute())
