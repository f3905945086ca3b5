"""Imported key material (``Origin=EXTERNAL``): GetParametersForImport,
ImportKeyMaterial, DeleteImportedKeyMaterial, and the expiry of material
whose ``ValidTo`` has passed.

A key created with ``Origin=EXTERNAL`` has no material and stays
``PendingImport`` until ImportKeyMaterial brings some. The material's id
(a PRF of the material, :func:`app.crypto.material.material_id`) is kept when
the material is deleted or expires, so a later import is checked against it
without the service holding the material: the same material makes every old
ciphertext decryptable again, any other is ``IncorrectKeyMaterialException``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.crypto.key_import import (
    WRAPPING_ALGORITHMS,
    WRAPPING_KEY_SPECS,
    imported_material,
    new_wrapping_key,
    seal_wrapping_key,
    unseal_wrapping_key,
    unwrap_key_material,
)
from app.crypto.material import material_id
from app.crypto.root_key import RootKeyError
from app.crypto.typed_material import seal_any
from app.errors import (
    ExpiredImportTokenError,
    IncorrectKeyMaterialError,
    InvalidImportTokenError,
    NotFoundError,
    UnsupportedOperationError,
    ValidationError,
)
from app.keys.model import (
    KEY_MATERIAL_DOES_NOT_EXPIRE,
    KEY_MATERIAL_EXPIRES,
    ORIGIN_EXTERNAL,
    ImportToken,
    Key,
    KeyState,
    require_state,
)
from app.keys.specs import Family, family_of
from app.operations import access
from app.operations.context import OperationContext
from app.operations.key_updates import DAY, apply_changes, service_event
from app.operations.kinds import read_only
from app.operations.resolve import key_uuid, resolve_key
from app.operations.services import Services

#: How long GetParametersForImport's public key and token may be used.
IMPORT_TOKEN_SECONDS = 1 * DAY
#: The furthest ahead ``ValidTo`` may be.
MAX_VALID_TO_SECONDS = 365 * DAY
NEW_KEY_MATERIAL = "NEW_KEY_MATERIAL"


def _import_key(
    services: Services,
    ctx: OperationContext,
    key_id: str,
    operation: str,
    conditions: dict[str, object] | None = None,
) -> Key:
    """The EXTERNAL key ``key_id`` names, authorized for ``operation`` and in a
    state that allows it. Other origins are refused whatever their state."""
    key = resolve_key(services, ctx, key_id, allow_alias=False).key
    access.authorize_key_action(services, ctx, f"kms:{operation}", key, conditions=conditions)
    if key.origin != ORIGIN_EXTERNAL:
        raise UnsupportedOperationError(
            f"{key.arn} origin is {key.origin} which is not valid for this operation."
        )
    require_state(operation, key)
    return key


@dataclass(frozen=True)
class GetParametersForImportRequest:
    key_id: str
    wrapping_algorithm: str
    wrapping_key_spec: str


@read_only
def get_parameters_for_import(
    services: Services, ctx: OperationContext, req: GetParametersForImportRequest
) -> dict[str, Any]:
    """A wrapping key pair and its import token. Marked read-only so that the
    RSA key generation (up to a second or more for RSA_4096) runs outside any
    transaction: only the token's insert takes the database's write lock."""
    if req.wrapping_algorithm not in WRAPPING_ALGORITHMS:
        raise ValidationError(
            f"WrappingAlgorithm {req.wrapping_algorithm} is not supported by this service.",
            field="WrappingAlgorithm",
        )
    if req.wrapping_key_spec not in WRAPPING_KEY_SPECS:
        raise ValidationError(
            f"WrappingKeySpec {req.wrapping_key_spec} is not supported by this service.",
            field="WrappingKeySpec",
        )
    key = _import_key(
        services,
        ctx,
        req.key_id,
        "GetParametersForImport",
        {
            "kms:WrappingAlgorithm": req.wrapping_algorithm,
            "kms:WrappingKeySpec": req.wrapping_key_spec,
        },
    )
    if family_of(key.key_spec) is Family.RSA and req.wrapping_algorithm.startswith("RSAES_OAEP"):
        # An RSA private key does not fit in one RSA-OAEP block (AWS's rule).
        raise ValidationError(
            f"WrappingAlgorithm {req.wrapping_algorithm} cannot wrap {key.key_spec} key "
            "material; use RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.",
            field="WrappingAlgorithm",
        )
    private, public = new_wrapping_key(req.wrapping_key_spec)
    token = services.random_bytes(32)
    digest = _digest(token)
    now = services.now()
    expires_at = now + IMPORT_TOKEN_SECONDS
    sealed_wrapping_key = seal_wrapping_key(
        services.root_key, private, key_arn=key.arn, token_digest=digest
    )
    with services.unit_of_work():
        services.import_tokens.insert(
            ImportToken(
                digest=digest,
                key_id=key.key_id,
                wrapping_algorithm=req.wrapping_algorithm,
                wrapping_key_spec=req.wrapping_key_spec,
                sealed_wrapping_key=sealed_wrapping_key,
                created_at=now,
                expires_at=expires_at,
            )
        )
    return {
        "KeyId": key.arn,
        "ImportToken": token,
        "PublicKey": public,
        "ParametersValidTo": expires_at,
    }


@dataclass(frozen=True)
class ImportKeyMaterialRequest:
    key_id: str
    import_token: bytes
    encrypted_key_material: bytes
    valid_to: float | None = None
    expiration_model: str | None = None
    import_type: str | None = None
    key_material_description: str | None = None
    key_material_id: str | None = None


def import_key_material(
    services: Services, ctx: OperationContext, req: ImportKeyMaterialRequest
) -> dict[str, Any]:
    model = req.expiration_model or KEY_MATERIAL_EXPIRES
    conditions: dict[str, object] = {"kms:ExpirationModel": model}
    if req.valid_to is not None:
        conditions["kms:ValidTo"] = datetime.fromtimestamp(req.valid_to, UTC)
    key = _import_key(services, ctx, req.key_id, "ImportKeyMaterial", conditions)
    now = services.now()
    valid_to = _valid_to(model, req.valid_to, now)
    versions = services.keys.list_versions(key.key_id)
    if req.import_type == NEW_KEY_MATERIAL and versions:
        raise UnsupportedOperationError(
            "Importing new key material into a key that has material (on-demand rotation of "
            "imported material) is not supported by this service."
        )
    material = imported_material(key.key_spec, _unwrap(services, key, req.import_token, req))
    new_id = material_id(key_uuid(key), material)
    expected = versions[-1].material_id if versions else req.key_material_id
    if expected is not None and not hmac.compare_digest(expected, new_id):
        raise IncorrectKeyMaterialError(
            "The key material is not the key material previously imported into this KMS key."
        )
    version = key.current_version
    sealed = seal_any(
        services.root_key, material, key_arn=key.arn, version=version, key_spec=key.key_spec
    )
    if versions:
        services.keys.set_version_material(key.key_id, version, sealed)
    else:
        services.keys.add_version(key.key_id, version, sealed, new_id, now, None)
    state = KeyState.ENABLED if key.state is KeyState.PENDING_IMPORT else key.state
    apply_changes(services, key, state=state, expiration_model=model, valid_to=valid_to)
    services.materials.invalidate(key.arn)
    return {"KeyId": key.arn, "KeyMaterialId": new_id}


def _valid_to(model: str, valid_to: float | None, now: float) -> float | None:
    """AWS's rules for ``ExpirationModel`` and ``ValidTo``."""
    if model == KEY_MATERIAL_DOES_NOT_EXPIRE:
        if valid_to is not None:
            raise ValidationError(
                "A validTo date must not be set if the ExpirationModel is "
                "KEY_MATERIAL_DOES_NOT_EXPIRE",
                field="ValidTo",
            )
        return None
    if valid_to is None:
        raise ValidationError(
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
            field="ValidTo",
        )
    if valid_to <= now:
        raise ValidationError("The validTo date must be in the future.", field="ValidTo")
    if valid_to > now + MAX_VALID_TO_SECONDS:
        raise ValidationError(
            "The validTo date must be at most 365 days in the future.", field="ValidTo"
        )
    return valid_to


def _unwrap(
    services: Services, key: Key, token_bytes: bytes, req: ImportKeyMaterialRequest
) -> bytes:
    """The material in ``req``, unwrapped with the private key of its token."""
    token = services.import_tokens.get(_digest(token_bytes))
    if token is None or not hmac.compare_digest(token.key_id, key.key_id):
        raise InvalidImportTokenError()
    if services.now() >= token.expires_at:
        raise ExpiredImportTokenError()
    try:
        private = unseal_wrapping_key(
            services.root_key, token.sealed_wrapping_key, key_arn=key.arn, token_digest=token.digest
        )
    except RootKeyError:
        # A token row that does not unseal for this key is no token of it.
        raise InvalidImportTokenError() from None
    return unwrap_key_material(private, token.wrapping_algorithm, req.encrypted_key_material)


def _digest(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()


@dataclass(frozen=True)
class DeleteImportedKeyMaterialRequest:
    key_id: str
    key_material_id: str | None = None


def delete_imported_key_material(
    services: Services, ctx: OperationContext, req: DeleteImportedKeyMaterialRequest
) -> dict[str, Any]:
    key = _import_key(services, ctx, req.key_id, "DeleteImportedKeyMaterial")
    current = key.current_material_id
    if req.key_material_id is not None and (
        current is None or not hmac.compare_digest(req.key_material_id, current)
    ):
        raise NotFoundError(f"Key material {req.key_material_id} is not found in {key.arn}.")
    result: dict[str, Any] = {"KeyId": key.arn}
    if current is not None:
        result["KeyMaterialId"] = current
    if key.state is not KeyState.PENDING_IMPORT:
        _delete_material(services, key)
    services.materials.invalidate(key.arn)
    return result


def _delete_material(services: Services, key: Key) -> None:
    """Forget the key's material (not its id): the key is ``PendingImport``
    until the same material is imported again (``PendingDeletion`` stays)."""
    for version in services.keys.list_versions(key.key_id):
        services.keys.set_version_material(key.key_id, version.version, None)
    state = KeyState.PENDING_IMPORT if key.state is not KeyState.PENDING_DELETION else key.state
    apply_changes(services, key, state=state, valid_to=None)


def expire_imported_material(services: Services) -> list[str]:
    """Delete imported material whose ``ValidTo`` has passed, each key in its
    own transaction with its audit event (``DeleteExpiredKeyMaterial``, as AWS
    names it); forget expired import tokens. Returns the key ARNs.

    Safe in several processes at once: each key is re-checked inside its
    transaction, and the change is a compare-and-set on the key's revision.
    """
    expired: list[str] = []
    for key_id, account in services.keys.keys_with_expired_material(services.now()):
        with services.unit_of_work():
            key = services.keys.get_key(account, key_id)
            if key is None or not key.material_expired(services.now()):
                continue
            _delete_material(services, key)
            services.audit.append(service_event(services, "DeleteExpiredKeyMaterial", key.arn))
        services.materials.invalidate(key.arn)
        expired.append(key.arn)
    # Import tokens are never cached: forgetting them leaves the read caches valid.
    with services.unit_of_work(audit_only=True):
        services.import_tokens.delete_expired(services.now())
    return expired
