"""What the operations need of the store: one protocol per repository.

The app factory hands :class:`~app.operations.services.Services` the SQL
repositories of :mod:`app.store`; the unit tests hand it in-memory ones
(``tests/unit/operations/fakes.py``). Every method runs in the caller's
connection (``services.connection()``) and, for a change, inside its unit of
work (``services.unit_of_work()``); none commits. Reads outside a unit of
work may be served from a cache of committed rows
(:mod:`app.store.read_cache`); inside one they are read fresh.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import policies
from app.auth.access_keys import AccessKeyRecord
from app.crypto.sealed import SealedMaterial
from app.keys.key_stores import CustomKeyStore
from app.keys.model import Alias, ImportToken, Key, KeyVersionInfo


class KeyRepository(Protocol):
    """Keys, their sealed versions, aliases and tags."""

    # -- keys --

    def insert_key(
        self,
        key: Key,
        sealed: SealedMaterial | None,
        material_id: str | None,
        tags: Mapping[str, str],
    ) -> None:
        """Store a new key with its first version and its tags (no version
        when ``sealed`` is ``None``: material to be imported)."""
        ...

    def get_key(self, account: str, key_id: str) -> Key | None:
        """The key with this id in ``account``."""
        ...

    def get_key_by_id(self, key_id: str) -> Key | None:
        """The key with this id in any account (a ciphertext names its key by id)."""
        ...

    def update_key(
        self, key_id: str, *, expected_revision: int | None = None, **changes: Any
    ) -> bool:
        """Apply ``changes`` (and move the revision on); with
        ``expected_revision``, only if the key is still at that revision
        (compare-and-set). Returns whether the key changed."""
        ...

    def count_keys(self, account: str) -> int: ...

    def list_keys(
        self, account: str, limit: int, marker: str | None
    ) -> tuple[list[tuple[str, str]], str | None]:
        """A page of ``(key id, key ARN)``, in key id order."""
        ...

    def delete_key(self, key_id: str) -> None:
        """Remove the key with its versions (its material), aliases and tags."""
        ...

    def keys_due_for_rotation(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        """``(key id, account)`` of enabled keys whose automatic rotation is due."""
        ...

    def keys_due_for_deletion(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        """``(key id, account)`` of keys whose waiting period has ended."""
        ...

    def keys_with_expired_material(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        """``(key id, account)`` of keys whose imported material's ``ValidTo`` has passed."""
        ...

    def all_key_policies(self) -> Iterator[tuple[str, str]]:
        """``(key ARN, policy document)`` of every key, in ARN order."""
        ...

    # -- versions --

    def add_version(
        self,
        key_id: str,
        version: int,
        sealed: SealedMaterial,
        material_id: str,
        created_at: float,
        rotation_type: str | None,
    ) -> None:
        """Store a new version; :class:`~app.keys.model.VersionTaken` if it exists."""
        ...

    def sealed_version(self, key_id: str, version: int) -> SealedMaterial | None:
        """``None`` if the version does not exist or its imported material was deleted."""
        ...

    def set_version_material(
        self, key_id: str, version: int, sealed: SealedMaterial | None
    ) -> None:
        """Put imported material (back) into a version; ``None`` deletes it,
        keeping the version and its material id."""
        ...

    def list_versions(self, key_id: str) -> list[KeyVersionInfo]:
        """Every version of the key, oldest first."""
        ...

    # -- aliases --

    def get_alias(self, account: str, name: str) -> Alias | None: ...

    def insert_alias(self, alias: Alias, alias_arn: str) -> None:
        """Store a new alias; :class:`~app.errors.AlreadyExistsError` if the name is taken."""
        ...

    def retarget_alias(self, account: str, name: str, key_id: str, now: float) -> None: ...

    def delete_alias(self, account: str, name: str) -> bool: ...

    def count_aliases(self, key_id: str) -> int: ...

    def list_aliases(
        self, account: str, key_id: str | None, limit: int, marker: str | None
    ) -> tuple[list[Alias], str | None]:
        """A page of the account's aliases (of one key, if given), in name order."""
        ...

    # -- tags --

    def replace_tags(self, key_id: str, tags: Mapping[str, str]) -> None:
        """Set each of ``tags`` on the key, keeping its other tags."""
        ...

    def remove_tags(self, key_id: str, tag_keys: Sequence[str]) -> None: ...

    def list_tags(
        self, key_id: str, limit: int, marker: str | None
    ) -> tuple[list[tuple[str, str]], str | None]:
        """A page of ``(tag key, tag value)``, in tag key order."""
        ...


class ImportTokenRepository(Protocol):
    """GetParametersForImport's tokens, by the SHA-256 of the token."""

    def insert(self, token: ImportToken) -> None: ...

    def get(self, digest: str) -> ImportToken | None: ...

    def delete_expired(self, now: float) -> int:
        """Forget the tokens past their validity; returns how many."""
        ...


class KeyStoreRepository(Protocol):
    """Custom key stores (tokens of the PKCS#11 module), their PINs sealed."""

    def insert(self, store: CustomKeyStore) -> None: ...

    def get(self, store_id: str) -> CustomKeyStore | None: ...

    def all_stores(self) -> list[CustomKeyStore]: ...

    def list_for(self, account: str) -> list[CustomKeyStore]:
        """The account's stores, oldest first."""
        ...

    def update(self, store: CustomKeyStore) -> None: ...

    def delete(self, store_id: str) -> None: ...

    def count_keys(self, store_id: str) -> int: ...

    def keys_in(self, store_id: str) -> list[tuple[str, str]]:
        """``(key id, key ARN)`` of every key in the store."""
        ...


class AccessKeyRepository(Protocol):
    """SigV4 access keys, their secrets sealed."""

    def insert(self, record: AccessKeyRecord, *, max_per_principal: int) -> bool:
        """Store ``record``; ``False`` if its principal has ``max_per_principal`` keys."""
        ...

    def get(self, access_key_id: str) -> AccessKeyRecord | None: ...

    def list_for(self, principal_arn: str) -> list[AccessKeyRecord]:
        """Every key of ``principal_arn``, oldest first."""
        ...

    def delete(self, access_key_id: str) -> bool:
        """Delete the key; ``False`` if there was no such key."""
        ...

    def touch(self, access_key_id: str, now: float) -> None:
        """Record that the key was used at ``now``."""
        ...


class IdentityPolicyRepository(Protocol):
    """IAM-style identity policies, stored per principal ARN."""

    def put(self, account: str, principal_arn: str, name: str, document: str, now: float) -> None:
        """Attach (or replace) the policy ``name`` of ``principal_arn``."""
        ...

    def get(self, principal_arn: str, name: str) -> str | None: ...

    def delete(self, principal_arn: str, name: str) -> bool: ...

    def names(self, principal_arn: str) -> list[str]:
        """The principal's policy names, in order."""
        ...

    def documents_for(self, principal_arn: str) -> tuple[tuple[str, str], ...]:
        """``(name, document)`` of every policy of ``principal_arn``, in name order."""
        ...

    def all_documents(self) -> Iterator[tuple[str, str, str]]:
        """``(principal ARN, policy name, document)`` of every identity policy."""
        ...


class GrantRepository(Protocol):
    """Grants on keys. Never cached: a retired or revoked grant stops allowing at once."""

    def insert(self, key_id: str, grant: policies.Grant) -> None: ...

    def get(self, grant_id: str) -> policies.Grant | None: ...

    def for_grantees(self, key_id: str, grantees: Sequence[str]) -> list[policies.Grant]:
        """The key's grants whose grantee is one of ``grantees``."""
        ...

    def named(self, key_id: str, name: str) -> list[policies.Grant]:
        """The key's grants with this ``Name``, oldest first."""
        ...

    def count_for_key(self, key_id: str) -> int: ...

    def list_for_key(
        self,
        key_id: str,
        *,
        after: int,
        limit: int,
        grant_id: str | None = None,
        grantee: str | None = None,
    ) -> list[tuple[int, policies.Grant]]:
        """Up to ``limit`` of the key's grants after position ``after``, oldest
        first, each with its position (for the paging marker)."""
        ...

    def list_retirable(
        self, retiring_principal: str, *, after: int, limit: int
    ) -> list[tuple[int, policies.Grant]]: ...

    def delete(self, grant_id: str) -> bool: ...

    def delete_for_key(self, key_id: str) -> int:
        """Remove every grant of a key (the key is being deleted)."""
        ...
