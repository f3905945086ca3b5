"""In-memory repositories, clock and randomness for unit tests of the operations.

Each fake keeps its rows in plain dictionaries and behaves as the SQL
repository does where an operation can tell: reads return the domain types,
a compare-and-set fails on a stale revision, a taken alias name or key
version is refused, pages come with the same opaque markers. The
:class:`FakeDatabase` gives the unit of work its meaning: a transaction that
raises puts every repository back as it was when it began.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import policies
from app import markers
from app.audit.repository import (
    GENESIS_HASH,
    AuditHeadMoved,
    ChainLink,
    EventFilter,
    Head,
    StoredCheckpoint,
    StoredEvent,
    StoredMacKey,
    StoredSigningKey,
)
from app.auth.access_keys import AccessKeyRecord
from app.config import Settings
from app.crypto.root_key import EnvRootKeyProvider
from app.crypto.sealed import SealedMaterial
from app.errors import AlreadyExistsError
from app.keys.key_stores import CustomKeyStore
from app.keys.model import Alias, ImportToken, Key, KeyState, KeyVersionInfo, VersionTaken
from app.operations.services import Services

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
#: 2027-01-15T08:00:00Z: tests never depend on the wall clock.
T0 = 1_800_000_000.0

_UPDATABLE = {
    "description",
    "expiration_model",
    "valid_to",
    "state",
    "deletion_date",
    "pending_window_days",
    "policy",
    "rotation_enabled",
    "rotation_period_days",
    "next_rotation_at",
    "on_demand_rotations",
    "current_version",
}


class FakeClock:
    """The service's clock, moved by the test."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SeededRandom:
    """Reproducible random bytes (never the same twice in one run)."""

    def __init__(self, seed: int = 7) -> None:
        self._random = random.Random(seed)
        self.drawn = 0

    def __call__(self, n: int) -> bytes:
        self.drawn += n
        return self._random.randbytes(n)


class _Rows:
    """A fake repository's state, copied when a transaction begins.

    Rows are immutable values (frozen records, tuples), so copying the
    containers (and the tag dictionaries inside one) is a full snapshot.
    """

    def snapshot(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for name, value in vars(self).items():
            if isinstance(value, dict):
                value = {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
            elif isinstance(value, list):
                value = list(value)
            state[name] = value
        return state

    def restore(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class FakeDatabase:
    """Connections cost nothing; a transaction is all-or-nothing over every
    repository it was given (their state is restored if it raises)."""

    def __init__(self) -> None:
        self.repositories: list[_Rows] = []
        self.connections = 0
        self.commits = 0
        self._depth = 0

    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def connection(self) -> Iterator[None]:
        self.connections += 1
        yield

    @contextmanager
    def connection_if_used(self) -> Iterator[None]:
        yield

    @contextmanager
    def transaction(self, *, invalidates: bool = True) -> Iterator[None]:
        saved = [r.snapshot() for r in self.repositories] if self._depth == 0 else None
        self._depth += 1
        try:
            yield
        except BaseException:
            if saved is not None:
                for repository, state in zip(self.repositories, saved, strict=True):
                    repository.restore(state)
            raise
        finally:
            self._depth -= 1
        if saved is not None:
            self.commits += 1

    def ping(self) -> None:
        return None


def _page(items: list[Any], limit: int, kind: str, position: Any) -> tuple[list[Any], str | None]:
    page = items[:limit]
    next_marker = markers.encode(kind, position(page[-1])) if len(items) > limit else None
    return page, next_marker


class FakeKeyRepository(_Rows):
    def __init__(self) -> None:
        #: Key rows as stored: without tags and material id (joined on read).
        self.keys: dict[str, Key] = {}
        #: A version's sealed material is ``None`` once its imported material is deleted.
        self.versions: dict[
            tuple[str, int], tuple[SealedMaterial | None, str, float, str | None]
        ] = {}
        self.aliases: dict[tuple[str, str], Alias] = {}
        self.tags: dict[str, dict[str, str]] = {}

    # -- keys --

    def insert_key(
        self,
        key: Key,
        sealed: SealedMaterial | None,
        material_id: str | None,
        tags: Mapping[str, str],
    ) -> None:
        if sealed is not None and not isinstance(sealed, SealedMaterial):
            raise TypeError("only sealed material may be stored")
        if key.key_id in self.keys:
            raise AlreadyExistsError(f"key {key.key_id} exists")
        self.keys[key.key_id] = dataclasses.replace(
            key, tags=MappingProxyType({}), current_material_id=None, revision=1
        )
        if sealed is not None and material_id is not None:
            self.versions[(key.key_id, key.current_version)] = (
                sealed,
                material_id,
                key.created_at,
                None,
            )
        self.tags[key.key_id] = {}
        self.replace_tags(key.key_id, tags)

    def get_key(self, account: str, key_id: str) -> Key | None:
        key = self.get_key_by_id(key_id)
        return key if key is not None and key.account == account else None

    def get_key_by_id(self, key_id: str) -> Key | None:
        row = self.keys.get(key_id)
        if row is None:
            return None
        version = self.versions.get((key_id, row.current_version))
        return dataclasses.replace(
            row,
            tags=MappingProxyType(dict(self.tags.get(key_id, {}))),
            current_material_id=version[1] if version else None,
        )

    def update_key(
        self, key_id: str, *, expected_revision: int | None = None, **changes: Any
    ) -> bool:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        row = self.keys.get(key_id)
        if row is None or (expected_revision is not None and row.revision != expected_revision):
            return False
        if "state" in changes:
            changes["state"] = KeyState(changes["state"])
        self.keys[key_id] = dataclasses.replace(row, revision=row.revision + 1, **changes)
        return True

    def count_keys(self, account: str) -> int:
        return sum(1 for k in self.keys.values() if k.account == account)

    def list_keys(
        self, account: str, limit: int, marker: str | None
    ) -> tuple[list[tuple[str, str]], str | None]:
        after = markers.decode(marker, markers.KEYS) if marker is not None else ""
        rows = sorted(
            (k.key_id, k.arn)
            for k in self.keys.values()
            if k.account == account and k.key_id > after
        )
        return _page(rows, limit, markers.KEYS, lambda r: r[0])

    def delete_key(self, key_id: str) -> None:
        self.keys.pop(key_id, None)
        self.tags.pop(key_id, None)
        self.versions = {k: v for k, v in self.versions.items() if k[0] != key_id}
        self.aliases = {k: a for k, a in self.aliases.items() if a.key_id != key_id}

    def keys_due_for_rotation(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        due = [
            k
            for k in self.keys.values()
            if k.rotation_enabled
            and k.state is KeyState.ENABLED
            and k.next_rotation_at is not None
            and k.next_rotation_at <= now
        ]
        due.sort(key=lambda k: k.next_rotation_at or 0.0)
        return [(k.key_id, k.account) for k in due[:limit]]

    def keys_due_for_deletion(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        due = [
            k
            for k in self.keys.values()
            if k.state is KeyState.PENDING_DELETION
            and k.deletion_date is not None
            and k.deletion_date <= now
        ]
        due.sort(key=lambda k: k.deletion_date or 0.0)
        return [(k.key_id, k.account) for k in due[:limit]]

    def keys_with_expired_material(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        due = [k for k in self.keys.values() if k.valid_to is not None and k.valid_to <= now]
        due.sort(key=lambda k: k.valid_to or 0.0)
        return [(k.key_id, k.account) for k in due[:limit]]

    def all_key_policies(self) -> Iterator[tuple[str, str]]:
        for key in sorted(self.keys.values(), key=lambda k: k.arn):
            yield key.arn, key.policy

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
        if not isinstance(sealed, SealedMaterial):
            raise TypeError("only sealed material may be stored")
        if (key_id, version) in self.versions:
            raise VersionTaken(f"version {version} of {key_id} exists already")
        self.versions[(key_id, version)] = (sealed, material_id, created_at, rotation_type)

    def sealed_version(self, key_id: str, version: int) -> SealedMaterial | None:
        found = self.versions.get((key_id, version))
        return None if found is None else found[0]

    def set_version_material(
        self, key_id: str, version: int, sealed: SealedMaterial | None
    ) -> None:
        found = self.versions.get((key_id, version))
        if found is not None:
            self.versions[(key_id, version)] = (sealed, *found[1:])

    def list_versions(self, key_id: str) -> list[KeyVersionInfo]:
        return [
            KeyVersionInfo(version, material_id, created_at, rotation_type)
            for (owner, version), (_, material_id, created_at, rotation_type) in sorted(
                self.versions.items()
            )
            if owner == key_id
        ]

    # -- aliases --

    def get_alias(self, account: str, name: str) -> Alias | None:
        return self.aliases.get((account, name))

    def insert_alias(self, alias: Alias, alias_arn: str) -> None:
        if (alias.account, alias.name) in self.aliases:
            raise AlreadyExistsError(f"An alias with the name {alias_arn} already exists")
        self.aliases[(alias.account, alias.name)] = alias

    def retarget_alias(self, account: str, name: str, key_id: str, now: float) -> None:
        alias = self.aliases.get((account, name))
        if alias is not None:
            self.aliases[(account, name)] = dataclasses.replace(
                alias, key_id=key_id, updated_at=now
            )

    def delete_alias(self, account: str, name: str) -> bool:
        return self.aliases.pop((account, name), None) is not None

    def count_aliases(self, key_id: str) -> int:
        return sum(1 for a in self.aliases.values() if a.key_id == key_id)

    def list_aliases(
        self, account: str, key_id: str | None, limit: int, marker: str | None
    ) -> tuple[list[Alias], str | None]:
        after = markers.decode(marker, markers.ALIASES) if marker is not None else ""
        rows = sorted(
            (
                a
                for a in self.aliases.values()
                if a.account == account
                and (key_id is None or a.key_id == key_id)
                and a.name > after
            ),
            key=lambda a: a.name,
        )
        return _page(rows, limit, markers.ALIASES, lambda a: a.name)

    # -- tags --

    def replace_tags(self, key_id: str, tags: Mapping[str, str]) -> None:
        self.tags.setdefault(key_id, {}).update(tags)

    def remove_tags(self, key_id: str, tag_keys: Sequence[str]) -> None:
        for tag_key in tag_keys:
            self.tags.get(key_id, {}).pop(tag_key, None)

    def list_tags(
        self, key_id: str, limit: int, marker: str | None
    ) -> tuple[list[tuple[str, str]], str | None]:
        after = markers.decode(marker, markers.TAGS) if marker is not None else ""
        rows = sorted((k, v) for k, v in self.tags.get(key_id, {}).items() if k > after)
        return _page(rows, limit, markers.TAGS, lambda r: r[0])


class FakeImportTokenRepository(_Rows):
    def __init__(self) -> None:
        self.tokens: dict[str, ImportToken] = {}

    def insert(self, token: ImportToken) -> None:
        self.tokens[token.digest] = token

    def get(self, digest: str) -> ImportToken | None:
        return self.tokens.get(digest)

    def delete_expired(self, now: float) -> int:
        gone = [d for d, t in self.tokens.items() if t.expires_at <= now]
        for digest in gone:
            del self.tokens[digest]
        return len(gone)


class FakeKeyStoreRepository(_Rows):
    def __init__(self, keys: FakeKeyRepository) -> None:
        self.stores: dict[str, CustomKeyStore] = {}
        self._keys = keys

    def snapshot(self) -> dict[str, Any]:
        return {"stores": dict(self.stores)}

    def insert(self, store: CustomKeyStore) -> None:
        self.stores[store.store_id] = store

    def get(self, store_id: str) -> CustomKeyStore | None:
        return self.stores.get(store_id)

    def all_stores(self) -> list[CustomKeyStore]:
        return sorted(self.stores.values(), key=lambda s: s.store_id)

    def list_for(self, account: str) -> list[CustomKeyStore]:
        found = [s for s in self.stores.values() if s.account == account]
        return sorted(found, key=lambda s: (s.created_at, s.store_id))

    def update(self, store: CustomKeyStore) -> None:
        if store.store_id in self.stores:
            self.stores[store.store_id] = store

    def delete(self, store_id: str) -> None:
        self.stores.pop(store_id, None)

    def count_keys(self, store_id: str) -> int:
        return len(self.keys_in(store_id))

    def keys_in(self, store_id: str) -> list[tuple[str, str]]:
        return sorted(
            (k.key_id, k.arn) for k in self._keys.keys.values() if k.custom_key_store_id == store_id
        )


class FakeAccessKeyRepository(_Rows):
    def __init__(self) -> None:
        self.records: dict[str, AccessKeyRecord] = {}

    def insert(self, record: AccessKeyRecord, *, max_per_principal: int) -> bool:
        owned = sum(1 for r in self.records.values() if r.principal_arn == record.principal_arn)
        if owned >= max_per_principal:
            return False
        self.records[record.access_key_id] = record
        return True

    def get(self, access_key_id: str) -> AccessKeyRecord | None:
        return self.records.get(access_key_id)

    def list_for(self, principal_arn: str) -> list[AccessKeyRecord]:
        return sorted(
            (r for r in self.records.values() if r.principal_arn == principal_arn),
            key=lambda r: (r.created_at, r.access_key_id),
        )

    def delete(self, access_key_id: str) -> bool:
        return self.records.pop(access_key_id, None) is not None

    def touch(self, access_key_id: str, now: float) -> None:
        record = self.records.get(access_key_id)
        if record is not None:
            self.records[access_key_id] = dataclasses.replace(record, last_used_at=now)


class FakeIdentityPolicyRepository(_Rows):
    def __init__(self) -> None:
        #: ``(principal ARN, name)`` → ``(account, document)``.
        self.policies: dict[tuple[str, str], tuple[str, str]] = {}

    def put(self, account: str, principal_arn: str, name: str, document: str, now: float) -> None:
        self.policies[(principal_arn, name)] = (account, document)

    def get(self, principal_arn: str, name: str) -> str | None:
        found = self.policies.get((principal_arn, name))
        return None if found is None else found[1]

    def delete(self, principal_arn: str, name: str) -> bool:
        return self.policies.pop((principal_arn, name), None) is not None

    def names(self, principal_arn: str) -> list[str]:
        return sorted(name for arn, name in self.policies if arn == principal_arn)

    def documents_for(self, principal_arn: str) -> tuple[tuple[str, str], ...]:
        return tuple(
            (name, self.policies[(principal_arn, name)][1]) for name in self.names(principal_arn)
        )

    def all_documents(self) -> Iterator[tuple[str, str, str]]:
        for (arn, name), (_, document) in sorted(self.policies.items()):
            yield arn, name, document


class FakeGrantRepository(_Rows):
    def __init__(self) -> None:
        #: grant id → (position, key id, grant), in insertion order.
        self.grants: dict[str, tuple[int, str, policies.Grant]] = {}
        self.next_position = 1
        #: How many times a lookup asked the store (grants are never cached).
        self.lookups = 0

    def insert(self, key_id: str, grant: policies.Grant) -> None:
        self.grants[grant.grant_id] = (self.next_position, key_id, grant)
        self.next_position += 1

    def get(self, grant_id: str) -> policies.Grant | None:
        self.lookups += 1
        found = self.grants.get(grant_id)
        return None if found is None else found[2]

    def _rows(self) -> list[tuple[int, str, policies.Grant]]:
        return sorted(self.grants.values(), key=lambda row: row[0])

    def for_grantees(self, key_id: str, grantees: Sequence[str]) -> list[policies.Grant]:
        self.lookups += 1
        return [g for _, k, g in self._rows() if k == key_id and g.grantee_principal in grantees]

    def named(self, key_id: str, name: str) -> list[policies.Grant]:
        return [g for _, k, g in self._rows() if k == key_id and g.name == name]

    def count_for_key(self, key_id: str) -> int:
        return sum(1 for _, k, _ in self.grants.values() if k == key_id)

    def list_for_key(
        self,
        key_id: str,
        *,
        after: int,
        limit: int,
        grant_id: str | None = None,
        grantee: str | None = None,
    ) -> list[tuple[int, policies.Grant]]:
        return [
            (position, g)
            for position, k, g in self._rows()
            if k == key_id
            and position > after
            and grant_id in (None, g.grant_id)
            and grantee in (None, g.grantee_principal)
        ][:limit]

    def list_retirable(
        self, retiring_principal: str, *, after: int, limit: int
    ) -> list[tuple[int, policies.Grant]]:
        return [
            (position, g)
            for position, _, g in self._rows()
            if g.retiring_principal == retiring_principal and position > after
        ][:limit]

    def delete(self, grant_id: str) -> bool:
        return self.grants.pop(grant_id, None) is not None

    def delete_for_key(self, key_id: str) -> int:
        doomed = [grant_id for grant_id, (_, k, _) in self.grants.items() if k == key_id]
        for grant_id in doomed:
            del self.grants[grant_id]
        return len(doomed)


class FakeAuditRepository(_Rows):
    """The audit log's records; its transactions are the :class:`FakeDatabase`'s."""

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database
        self.head = Head(0, GENESIS_HASH, 0)
        self.events: list[StoredEvent] = []
        self.checkpoints: list[StoredCheckpoint] = []
        self.keys: list[StoredSigningKey] = []
        self.stored_mac_key: StoredMacKey | None = None

    def transaction(self, *, invalidates: bool = False) -> Any:
        return self._database.transaction(invalidates=invalidates)

    def in_transaction(self) -> bool:
        return self._database.in_transaction()

    def lock_head(self) -> Head:
        return self.head

    def read_head(self) -> Head | None:
        return self.head

    def advance_head(
        self, expected_last_seq: int, last_seq: int, head_hash: bytes, recorded_at: int
    ) -> None:
        if self.head.last_seq != expected_last_seq:
            raise AuditHeadMoved(f"the head is no longer at {expected_last_seq}")
        self.head = Head(last_seq, head_hash, recorded_at)

    def insert_events(self, events: Sequence[StoredEvent]) -> None:
        self.events.extend(events)

    def events_in_order(
        self, after_seq: int, up_to_seq: int, batch_size: int
    ) -> Iterator[StoredEvent]:
        return iter([e for e in self.events if after_seq < e.seq <= up_to_seq])

    def chain_links(self, after_seq: int, up_to_seq: int, batch_size: int) -> Iterator[ChainLink]:
        return iter(
            [
                ChainLink(e.seq, e.prev_hash, e.body, e.body_mac, e.entry_hash)
                for e in self.events
                if after_seq < e.seq <= up_to_seq
            ]
        )

    def event_by_id(self, event_id: str) -> StoredEvent | None:
        return next((e for e in self.events if e.columns["event_id"] == event_id), None)

    def last_event_seq(self) -> int:
        return max((e.seq for e in self.events), default=0)

    def find_events(
        self,
        flt: EventFilter,
        *,
        newest_first: bool,
        limit: int,
        before_seq: int | None = None,
        after_seq: int | None = None,
    ) -> list[StoredEvent]:
        wanted = {
            name: value
            for name, value in dataclasses.asdict(flt).items()
            if value is not None and name not in ("since_us", "until_us")
        }

        def matches(event: StoredEvent) -> bool:
            recorded = event.columns["recorded_at"]
            return (
                all(event.columns[name] == value for name, value in wanted.items())
                and (flt.since_us is None or recorded >= flt.since_us)
                and (flt.until_us is None or recorded <= flt.until_us)
                and (before_seq is None or event.seq < before_seq)
                and (after_seq is None or event.seq > after_seq)
            )

        found = sorted((e for e in self.events if matches(e)), key=lambda e: e.seq)
        return (found[::-1] if newest_first else found)[:limit]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> bool:
        if any(c.checkpoint_no == checkpoint.checkpoint_no for c in self.checkpoints):
            return False
        self.checkpoints.append(checkpoint)
        return True

    def checkpoints_in_order(
        self, after_no: int = 0, batch_size: int = 1000
    ) -> Iterator[StoredCheckpoint]:
        return iter([c for c in self.checkpoints if c.checkpoint_no > after_no])

    def signing_keys(self) -> list[StoredSigningKey]:
        return sorted(self.keys, key=lambda k: k.version)

    def insert_signing_key(self, key: StoredSigningKey) -> bool:
        if any(k.version == key.version for k in self.keys):
            return False
        self.keys.append(key)
        return True

    def mac_key(self) -> StoredMacKey | None:
        return self.stored_mac_key

    def insert_mac_key(self, key: StoredMacKey) -> bool:
        if self.stored_mac_key is not None:
            return False
        self.stored_mac_key = key
        return True


@dataclasses.dataclass
class FakeWorld:
    """Services on fakes, and the fakes themselves for the test to look at."""

    services: Services
    database: FakeDatabase
    keys: FakeKeyRepository
    access_keys: FakeAccessKeyRepository
    identity_policies: FakeIdentityPolicyRepository
    grants: FakeGrantRepository
    import_tokens: FakeImportTokenRepository
    key_stores: FakeKeyStoreRepository
    audit: FakeAuditRepository
    clock: FakeClock
    random: SeededRandom


def fake_world(data_dir: Path) -> FakeWorld:
    """:class:`Services` with in-memory repositories, a fixed clock and seeded
    randomness. ``data_dir`` only holds what the audit log would export."""
    settings = Settings(data_dir=data_dir, audit_writer="thread", scheduler_interval_seconds=0)
    database = FakeDatabase()
    keys = FakeKeyRepository()
    access_keys = FakeAccessKeyRepository()
    identity_policies = FakeIdentityPolicyRepository()
    grants = FakeGrantRepository()
    import_tokens = FakeImportTokenRepository()
    key_stores = FakeKeyStoreRepository(keys)
    audit = FakeAuditRepository(database)
    database.repositories = [
        keys,
        access_keys,
        identity_policies,
        grants,
        import_tokens,
        key_stores,
        audit,
    ]
    clock = FakeClock()
    randomness = SeededRandom()
    services = Services(
        settings=settings,
        root_key=EnvRootKeyProvider(bytes(range(32))),
        database=database,
        keys=keys,
        access_keys=access_keys,
        identity_policies=identity_policies,
        grants=grants,
        import_tokens=import_tokens,
        key_stores=key_stores,
        audit_repository=audit,
        clock=clock,
        random_bytes=randomness,
    )
    return FakeWorld(
        services,
        database,
        keys,
        access_keys,
        identity_policies,
        grants,
        import_tokens,
        key_stores,
        audit,
        clock,
        randomness,
    )
