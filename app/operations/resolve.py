"""Finding the key a request names, and the material of one of its versions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.crypto.ciphertext import SymmetricKey
from app.crypto.material import KeyMaterial
from app.crypto.typed_material import AnyMaterial, unseal_any
from app.errors import InvalidStateError, NotFoundError
from app.keys.identifiers import alias_arn, key_arn, parse_key_reference
from app.keys.model import Key
from app.operations.context import OperationContext
from app.operations.key_stores import token_key
from app.operations.services import Services


@dataclass(frozen=True)
class ResolvedKey:
    key: Key
    #: The alias name the caller used, if any (``kms:RequestAlias``).
    alias_name: str | None = None


def resolve_key(
    services: Services, ctx: OperationContext, key_id: str, *, allow_alias: bool
) -> ResolvedKey:
    settings = services.settings
    ref = parse_key_reference(
        key_id,
        caller_account=ctx.principal.account,
        partition=settings.partition,
        region=settings.region,
        allow_alias=allow_alias,
    )
    if ref.alias_name is not None:
        alias = services.keys.get_alias(ref.account, ref.alias_name)
        if alias is None:
            arn = alias_arn(settings.partition, settings.region, ref.account, ref.alias_name)
            raise NotFoundError(f"Alias {arn} is not found.")
        key = services.keys.get_key(ref.account, alias.key_id)
        if key is None:  # pragma: no cover - the alias row cascades with its key
            raise NotFoundError(f"Alias {ref.alias_name} is not found.")
        return ResolvedKey(key, alias_name=ref.alias_name)
    assert ref.key_id is not None
    key = services.keys.get_key(ref.account, ref.key_id)
    if key is None:
        arn = key_arn(settings.partition, settings.region, ref.account, ref.key_id)
        raise NotFoundError(f"Key '{arn}' does not exist")
    return ResolvedKey(key)


def load_material(services: Services, key: Key, version: int) -> SymmetricKey | None:
    """What encrypts for symmetric ``key`` at ``version``: its unsealed
    material (cached briefly), or the key object in its custom key store's
    token; ``None`` if that version does not exist."""
    if key.custom_key_store_id is not None:
        return token_key(services, key, version)
    material = load_any_material(services, key, version)
    if material is not None and not isinstance(material, KeyMaterial):
        raise TypeError(f"{key.arn} is not a symmetric key")
    return material


def load_any_material(services: Services, key: Key, version: int) -> AnyMaterial | None:
    """The unsealed material of ``key`` (of any spec) at ``version``, cached
    briefly; ``None`` if that version does not exist (or its imported
    material was deleted). Imported material past its ``ValidTo`` is refused
    at once, before the scheduler deletes it."""
    if key.material_expired(services.now()):
        raise InvalidStateError(f"{key.arn} is pending import.")
    cached = services.materials.get(key.arn, version)
    if cached is not None:
        return cached
    sealed = services.keys.sealed_version(key.key_id, version)
    if sealed is None:
        return None
    material = unseal_any(
        services.root_key, sealed, key_arn=key.arn, version=version, key_spec=key.key_spec
    )
    services.materials.put(key.arn, version, material)
    return material


def key_uuid(key: Key) -> uuid.UUID:
    return uuid.UUID(key.key_id)
