"""The key repository: keys, their sealed versions, aliases and tags.

Methods read and write rows inside the caller's unit of work; they never
commit. They speak the domain types of :mod:`app.keys.model`; the only
material they handle is :class:`~app.crypto.sealed.SealedMaterial`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import peewee

from app import markers
from app.crypto.sealed import SealedMaterial
from app.errors import AlreadyExistsError
from app.keys.model import Alias, Key, KeyState, KeyVersionInfo, VersionTaken
from app.store.database import Store
from app.store.models import AliasRow, ImportTokenRow, KeyRow, KeyTagRow, KeyVersionRow

_KEY_FIELDS = {
    "description",
    "state",
    "deletion_date",
    "pending_window_days",
    "policy",
    "rotation_enabled",
    "rotation_period_days",
    "next_rotation_at",
    "on_demand_rotations",
    "current_version",
    "expiration_model",
    "valid_to",
}

# Every request reads its key: these two statements are written out once
# rather than built by the query builder each time (its cost dominated the
# request). ``{p}`` is the driver's parameter placeholder.
_KEY_SQL = (
    "SELECT k.id, k.account, k.arn, k.description, k.key_usage, k.key_spec, k.origin, k.state, "
    "k.created_at, k.policy, k.current_version, k.rotation_enabled, k.rotation_period_days, "
    "k.next_rotation_at, k.on_demand_rotations, k.deletion_date, k.pending_window_days, "
    "v.material_id, k.revision, k.expiration_model, k.valid_to, k.custom_key_store_id "
    'FROM "key" k LEFT JOIN key_version v '
    "ON v.key_id = k.id AND v.version = k.current_version WHERE k.id = {p}"
)
_TAGS_SQL = "SELECT tag_key, tag_value FROM key_tag WHERE key_id = {p}"


def _to_alias(row: AliasRow) -> Alias:
    return Alias(
        account=row.account,
        name=row.name,
        key_id=str(row.__data__["key"]),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _due(condition: Any, soonest: Any, limit: int) -> list[tuple[str, str]]:
    """``(key id, account)`` of the keys a scheduler job is due for, soonest first."""
    rows = KeyRow.select(KeyRow.id, KeyRow.account).where(condition).order_by(soonest).limit(limit)
    return [(r.id, r.account) for r in rows]


class SqlKeyRepository:
    """Keys, versions, aliases and tags in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._key_sql = _KEY_SQL.format(p=store.param)
        self._tags_sql = _TAGS_SQL.format(p=store.param)

    def __repr__(self) -> str:
        return f"SqlKeyRepository({self._store!r})"

    # -- keys --

    def insert_key(
        self,
        key: Key,
        sealed: SealedMaterial | None,
        material_id: str | None,
        tags: Mapping[str, str],
    ) -> None:
        """``sealed`` is ``None`` for a key whose material is to be imported:
        it has no version until ImportKeyMaterial adds one."""
        if sealed is not None and not isinstance(sealed, SealedMaterial):
            raise TypeError("only sealed material may be stored")
        KeyRow.create(
            id=key.key_id,
            account=key.account,
            arn=key.arn,
            description=key.description,
            key_usage=key.key_usage,
            key_spec=key.key_spec,
            origin=key.origin,
            state=key.state.value,
            created_at=key.created_at,
            policy=key.policy,
            rotation_enabled=key.rotation_enabled,
            rotation_period_days=key.rotation_period_days,
            next_rotation_at=key.next_rotation_at,
            current_version=key.current_version,
            expiration_model=key.expiration_model,
            valid_to=key.valid_to,
            custom_key_store_id=key.custom_key_store_id,
        )
        if sealed is None or material_id is None:
            self.replace_tags(key.key_id, tags)
            return
        KeyVersionRow.create(
            key=key.key_id,
            version=key.current_version,
            sealed_material=sealed.blob,
            material_id=material_id,
            created_at=key.created_at,
            rotation_type=None,
        )
        self.replace_tags(key.key_id, tags)

    def get_key(self, account: str, key_id: str) -> Key | None:
        """The key with this id in ``account``."""
        key = self.get_key_by_id(key_id)
        return key if key is not None and key.account == account else None

    def get_key_by_id(self, key_id: str) -> Key | None:
        """The key with this id in any account (a ciphertext names its key by id).

        Outside a write transaction the committed row may come from the read
        cache (:meth:`app.store.database.Store.cached`)."""
        return self._store.cached(("key", key_id), lambda: self._load_key(key_id))

    def _load_key(self, key_id: str) -> Key | None:
        row = self._store.execute_sql(self._key_sql, (key_id,)).fetchone()
        if row is None:
            return None
        tags = dict(self._store.execute_sql(self._tags_sql, (key_id,)).fetchall())
        return Key(
            key_id=row[0],
            account=row[1],
            arn=row[2],
            description=row[3],
            key_usage=row[4],
            key_spec=row[5],
            origin=row[6],
            state=KeyState(row[7]),
            created_at=row[8],
            policy=row[9],
            current_version=row[10],
            rotation_enabled=bool(row[11]),
            rotation_period_days=row[12],
            next_rotation_at=row[13],
            on_demand_rotations=row[14],
            deletion_date=row[15],
            pending_window_days=row[16],
            current_material_id=row[17],
            revision=row[18],
            expiration_model=row[19],
            valid_to=row[20],
            custom_key_store_id=row[21],
            tags=MappingProxyType(tags),
        )

    def update_key(
        self, key_id: str, *, expected_revision: int | None = None, **changes: Any
    ) -> bool:
        """Apply ``changes``; with ``expected_revision``, only if nobody changed the
        key since it was read (compare-and-set). Returns whether a row changed."""
        unknown = set(changes) - _KEY_FIELDS
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        values: dict[Any, Any] = {getattr(KeyRow, name): value for name, value in changes.items()}
        if "state" in changes and isinstance(changes["state"], KeyState):
            values[KeyRow.state] = changes["state"].value
        values[KeyRow.revision] = KeyRow.revision + 1
        condition = KeyRow.id == key_id
        if expected_revision is not None:
            condition &= KeyRow.revision == expected_revision
        return int(KeyRow.update(values).where(condition).execute()) == 1

    def count_keys(self, account: str) -> int:
        return int(KeyRow.select().where(KeyRow.account == account).count())

    def list_keys(
        self, account: str, limit: int, marker: str | None
    ) -> tuple[list[tuple[str, str]], str | None]:
        query = KeyRow.select(KeyRow.id, KeyRow.arn).where(KeyRow.account == account)
        if marker is not None:
            query = query.where(KeyRow.id > markers.decode(marker, markers.KEYS))
        rows = list(query.order_by(KeyRow.id).limit(limit + 1))
        page = [(r.id, r.arn) for r in rows[:limit]]
        next_marker = markers.encode(markers.KEYS, page[-1][0]) if len(rows) > limit else None
        return page, next_marker

    def delete_key(self, key_id: str) -> None:
        """Remove the key and everything hanging off it: versions (the sealed
        material), aliases and tags. Explicit deletes, so the outcome does not
        depend on foreign-key cascades being enabled."""
        KeyVersionRow.delete().where(KeyVersionRow.key == key_id).execute()
        ImportTokenRow.delete().where(ImportTokenRow.key == key_id).execute()
        AliasRow.delete().where(AliasRow.key == key_id).execute()
        KeyTagRow.delete().where(KeyTagRow.key == key_id).execute()
        KeyRow.delete().where(KeyRow.id == key_id).execute()

    def keys_due_for_rotation(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        return _due(
            (KeyRow.rotation_enabled == True)  # noqa: E712  (peewee expression)
            & (KeyRow.state == KeyState.ENABLED.value)
            & (KeyRow.next_rotation_at <= now),
            KeyRow.next_rotation_at,
            limit,
        )

    def keys_due_for_deletion(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        return _due(
            (KeyRow.state == KeyState.PENDING_DELETION.value) & (KeyRow.deletion_date <= now),
            KeyRow.deletion_date,
            limit,
        )

    def keys_with_expired_material(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        return _due(KeyRow.valid_to <= now, KeyRow.valid_to, limit)

    def all_key_policies(self) -> Iterator[tuple[str, str]]:
        """``(key ARN, policy document)`` of every key, in ARN order."""
        query = KeyRow.select(KeyRow.arn, KeyRow.policy).order_by(KeyRow.arn).tuples()
        for arn, document in query.iterator():
            yield str(arn), str(document)

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
        """Store a new version; :class:`~app.keys.model.VersionTaken` if that
        version exists already (another process rotated the key first)."""
        if not isinstance(sealed, SealedMaterial):
            raise TypeError("only sealed material may be stored")
        try:
            KeyVersionRow.create(
                key=key_id,
                version=version,
                sealed_material=sealed.blob,
                material_id=material_id,
                created_at=created_at,
                rotation_type=rotation_type,
            )
        except peewee.IntegrityError as exc:
            raise VersionTaken(f"version {version} of {key_id} exists already") from exc

    def sealed_version(self, key_id: str, version: int) -> SealedMaterial | None:
        """``None`` also for a version whose imported material was deleted
        (its row keeps only the material id, an empty blob in its place)."""
        row = (
            KeyVersionRow.select(KeyVersionRow.sealed_material)
            .where((KeyVersionRow.key == key_id) & (KeyVersionRow.version == version))
            .first()
        )
        if row is None or not row.sealed_material:
            return None
        return SealedMaterial(bytes(row.sealed_material))

    def set_version_material(
        self, key_id: str, version: int, sealed: SealedMaterial | None
    ) -> None:
        """Put imported material back into a version (``None``: delete it,
        keeping the version and its material id)."""
        if sealed is not None and not isinstance(sealed, SealedMaterial):
            raise TypeError("only sealed material may be stored")
        blob = b"" if sealed is None else sealed.blob
        KeyVersionRow.update(sealed_material=blob).where(
            (KeyVersionRow.key == key_id) & (KeyVersionRow.version == version)
        ).execute()

    def list_versions(self, key_id: str) -> list[KeyVersionInfo]:
        rows = (
            KeyVersionRow.select(
                KeyVersionRow.version,
                KeyVersionRow.material_id,
                KeyVersionRow.created_at,
                KeyVersionRow.rotation_type,
            )
            .where(KeyVersionRow.key == key_id)
            .order_by(KeyVersionRow.version)
        )
        return [
            KeyVersionInfo(r.version, r.material_id, r.created_at, r.rotation_type) for r in rows
        ]

    # -- aliases --

    def get_alias(self, account: str, name: str) -> Alias | None:
        return self._store.cached(("alias", account, name), lambda: self._load_alias(account, name))

    def _load_alias(self, account: str, name: str) -> Alias | None:
        row = AliasRow.get_or_none((AliasRow.account == account) & (AliasRow.name == name))
        return None if row is None else _to_alias(row)

    def aliases_named(self, name: str, limit: int = 10) -> list[Alias]:
        """The aliases called ``name`` in any account (for operators' tools
        on the server's host, which see every account), by account."""
        query = AliasRow.select().where(AliasRow.name == name).order_by(AliasRow.account)
        return [_to_alias(row) for row in query.limit(limit)]

    def insert_alias(self, alias: Alias, alias_arn: str) -> None:
        try:
            # A savepoint: on PostgreSQL a failed insert would otherwise
            # abort the caller's whole transaction.
            with self._store.database.atomic():
                AliasRow.create(
                    account=alias.account,
                    name=alias.name,
                    key=alias.key_id,
                    created_at=alias.created_at,
                    updated_at=alias.updated_at,
                )
        except peewee.IntegrityError:
            raise AlreadyExistsError(f"An alias with the name {alias_arn} already exists") from None

    def retarget_alias(self, account: str, name: str, key_id: str, now: float) -> None:
        AliasRow.update(key=key_id, updated_at=now).where(
            (AliasRow.account == account) & (AliasRow.name == name)
        ).execute()

    def delete_alias(self, account: str, name: str) -> bool:
        deleted = (
            AliasRow.delete().where((AliasRow.account == account) & (AliasRow.name == name))
        ).execute()
        return int(deleted) == 1

    def count_aliases(self, key_id: str) -> int:
        return int(AliasRow.select().where(AliasRow.key == key_id).count())

    def list_aliases(
        self, account: str, key_id: str | None, limit: int, marker: str | None
    ) -> tuple[list[Alias], str | None]:
        query = AliasRow.select().where(AliasRow.account == account)
        if key_id is not None:
            query = query.where(AliasRow.key == key_id)
        if marker is not None:
            query = query.where(AliasRow.name > markers.decode(marker, markers.ALIASES))
        rows = list(query.order_by(AliasRow.name).limit(limit + 1))
        page = [_to_alias(r) for r in rows[:limit]]
        next_marker = markers.encode(markers.ALIASES, page[-1].name) if len(rows) > limit else None
        return page, next_marker

    # -- tags --

    def replace_tags(self, key_id: str, tags: Mapping[str, str]) -> None:
        for tag_key, tag_value in tags.items():
            (
                KeyTagRow.insert(key=key_id, tag_key=tag_key, tag_value=tag_value)
                .on_conflict(
                    conflict_target=[KeyTagRow.key, KeyTagRow.tag_key],
                    update={KeyTagRow.tag_value: tag_value},
                )
                .execute()
            )

    def remove_tags(self, key_id: str, tag_keys: Sequence[str]) -> None:
        if tag_keys:
            KeyTagRow.delete().where(
                (KeyTagRow.key == key_id) & (KeyTagRow.tag_key.in_(list(tag_keys)))
            ).execute()

    def list_tags(
        self, key_id: str, limit: int, marker: str | None
    ) -> tuple[list[tuple[str, str]], str | None]:
        query = KeyTagRow.select(KeyTagRow.tag_key, KeyTagRow.tag_value).where(
            KeyTagRow.key == key_id
        )
        if marker is not None:
            query = query.where(KeyTagRow.tag_key > markers.decode(marker, markers.TAGS))
        rows = list(query.order_by(KeyTagRow.tag_key).limit(limit + 1))
        page = [(r.tag_key, r.tag_value) for r in rows[:limit]]
        next_marker = markers.encode(markers.TAGS, page[-1][0]) if len(rows) > limit else None
        return page, next_marker
