"""Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext and GenerateRandom.

Plaintext, data keys and key material pass through these functions and go
back to the caller only; they are never logged, stored or put in an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.crypto import ciphertext as ciphertext_format
from app.crypto.ciphertext import SymmetricKey
from app.crypto.data_keys import generate_data_key as new_data_key
from app.crypto.material import KeyMaterial, material_id
from app.errors import (
    AccessDeniedError,
    IncorrectKeyError,
    InvalidCiphertextError,
    InvalidKeyUsageError,
    ValidationError,
)
from app.keys.model import ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT, Key, require_state
from app.operations import access, asymmetric_encryption
from app.operations.context import OperationContext
from app.operations.grant_tokens import check_grant_tokens
from app.operations.key_stores import random_from_store
from app.operations.kinds import read_only
from app.operations.resolve import ResolvedKey, key_uuid, load_material, resolve_key
from app.operations.services import Services

DATA_KEY_SPECS = {"AES_128": 16, "AES_256": 32}
NO_SUCH_KEY_MESSAGE = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in "
    "this region, or you are not allowed to access."
)


def context_conditions(context: Mapping[str, str]) -> dict[str, object]:
    """The ``kms:EncryptionContext*`` condition keys of a request."""
    conditions: dict[str, object] = {f"kms:EncryptionContext:{k}": v for k, v in context.items()}
    conditions["kms:EncryptionContextKeys"] = sorted(context)
    conditions["kms:EncryptionAlgorithm"] = "SYMMETRIC_DEFAULT"
    return conditions


def _check_algorithm(key: Key, algorithm: str | None) -> None:
    if algorithm is not None and algorithm != "SYMMETRIC_DEFAULT":
        raise InvalidKeyUsageError(
            f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}."
        )


def _check_symmetric(key: Key, operation: str) -> None:
    if key.key_usage == ENCRYPT_DECRYPT and key.key_spec != SYMMETRIC_DEFAULT:
        # An RSA encryption key: its usage fits, the (default) algorithm does not.
        raise InvalidKeyUsageError(
            f"Algorithm SYMMETRIC_DEFAULT is incompatible with key spec {key.key_spec}."
        )
    if key.key_spec != SYMMETRIC_DEFAULT or key.key_usage != ENCRYPT_DECRYPT:
        raise InvalidKeyUsageError(
            f"{key.arn} key usage is {key.key_usage} which is not valid for {operation}."
        )


def _usable_key(
    services: Services,
    ctx: OperationContext,
    key_id: str,
    operation: str,
    action: str,
    context: Mapping[str, str],
    algorithm: str | None,
) -> ResolvedKey:
    resolved = resolve_key(services, ctx, key_id, allow_alias=True)
    key = resolved.key
    access.authorize_key_action(
        services,
        ctx,
        action,
        key,
        conditions=context_conditions(context),
        request_alias=resolved.alias_name,
    )
    require_state(operation, key)
    _check_symmetric(key, operation)
    _check_algorithm(key, algorithm)
    return resolved


def _current_material(services: Services, key: Key) -> SymmetricKey:
    material = load_material(services, key, key.current_version)
    if material is None:  # pragma: no cover - the current version always exists
        raise InvalidCiphertextError()
    return material


@dataclass(frozen=True)
class EncryptRequest:
    key_id: str
    plaintext: bytes = field(repr=False)
    encryption_context: dict[str, str] = field(default_factory=dict)
    grant_tokens: list[str] = field(default_factory=list)
    encryption_algorithm: str | None = None


@read_only
def encrypt(services: Services, ctx: OperationContext, req: EncryptRequest) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    if req.encryption_algorithm in asymmetric_encryption.ASYMMETRIC_ENCRYPTION_ALGORITHMS:
        return asymmetric_encryption.encrypt(
            services,
            ctx,
            key_id=req.key_id,
            plaintext=req.plaintext,
            algorithm=req.encryption_algorithm,
            context=req.encryption_context,
        )
    key = _usable_key(
        services,
        ctx,
        req.key_id,
        "Encrypt",
        "kms:Encrypt",
        req.encryption_context,
        req.encryption_algorithm,
    ).key
    ctx.notes.encryption_context = dict(req.encryption_context)
    ctx.notes.key_version = key.current_version
    blob = ciphertext_format.encrypt(
        _current_material(services, key),
        key_id=key_uuid(key),
        key_version=key.current_version,
        plaintext=req.plaintext,
        context=req.encryption_context,
    )
    return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


@dataclass(frozen=True)
class DecryptRequest:
    ciphertext_blob: bytes = field(repr=False)
    encryption_context: dict[str, str] = field(default_factory=dict)
    grant_tokens: list[str] = field(default_factory=list)
    key_id: str | None = None
    encryption_algorithm: str | None = None


def _open(
    services: Services,
    ctx: OperationContext,
    *,
    blob: bytes,
    context: Mapping[str, str],
    key_id: str | None,
    algorithm: str | None,
    action: str,
    operation: str,
    extra_conditions: Mapping[str, object] | None = None,
) -> tuple[Key, bytes, str]:
    """Find the key a ciphertext names, authorize, and decrypt it: the key,
    the plaintext and the id of the key material that decrypted it."""
    header = ciphertext_format.parse_header(blob)
    ctx.notes.encryption_context = dict(context)
    ctx.notes.key_version = header.key_version
    key = services.keys.get_key_by_id(str(header.key_id))
    expected: ResolvedKey | None = None
    if key_id is not None:
        expected = resolve_key(services, ctx, key_id, allow_alias=True)
    if key is None:
        raise AccessDeniedError(NO_SUCH_KEY_MESSAGE)
    if expected is not None and expected.key.key_id != key.key_id:
        raise IncorrectKeyError()
    access.authorize_key_action(
        services,
        ctx,
        action,
        key,
        conditions={**context_conditions(context), **(extra_conditions or {})},
        request_alias=expected.alias_name if expected else None,
    )
    require_state(operation, key)
    _check_symmetric(key, operation)
    _check_algorithm(key, algorithm)
    material = load_material(services, key, header.key_version)
    if material is None:
        raise InvalidCiphertextError()
    plaintext = ciphertext_format.decrypt(material, header, blob, context)
    if header.key_version == key.current_version and key.current_material_id is not None:
        used = key.current_material_id
    elif isinstance(material, KeyMaterial):
        used = material_id(key_uuid(key), material)
    else:  # pragma: no cover - a key in a custom key store has one version only
        used = key.current_material_id or ""
    return key, plaintext, used


@read_only
def decrypt(services: Services, ctx: OperationContext, req: DecryptRequest) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    if req.encryption_algorithm in asymmetric_encryption.ASYMMETRIC_ENCRYPTION_ALGORITHMS:
        return asymmetric_encryption.decrypt(
            services,
            ctx,
            key_id=req.key_id,
            ciphertext=req.ciphertext_blob,
            algorithm=req.encryption_algorithm,
            context=req.encryption_context,
        )
    key, plaintext, used_material = _open(
        services,
        ctx,
        blob=req.ciphertext_blob,
        context=req.encryption_context,
        key_id=req.key_id,
        algorithm=req.encryption_algorithm,
        action="kms:Decrypt",
        operation="Decrypt",
    )
    return {
        "KeyId": key.arn,
        "Plaintext": plaintext,
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "KeyMaterialId": used_material,
    }


@dataclass(frozen=True)
class ReEncryptRequest:
    ciphertext_blob: bytes = field(repr=False)
    destination_key_id: str
    source_encryption_context: dict[str, str] = field(default_factory=dict)
    destination_encryption_context: dict[str, str] = field(default_factory=dict)
    source_key_id: str | None = None
    source_encryption_algorithm: str | None = None
    destination_encryption_algorithm: str | None = None
    grant_tokens: list[str] = field(default_factory=list)


@read_only
def re_encrypt(services: Services, ctx: OperationContext, req: ReEncryptRequest) -> dict[str, Any]:
    """Decrypt under the source key and encrypt under the destination key in one
    call; the plaintext never leaves the service."""
    check_grant_tokens(services, req.grant_tokens)
    destination = _usable_key(
        services,
        ctx,
        req.destination_key_id,
        "ReEncrypt",
        "kms:ReEncryptTo",
        req.destination_encryption_context,
        req.destination_encryption_algorithm,
    ).key
    header = ciphertext_format.parse_header(req.ciphertext_blob)
    same_key = str(header.key_id) == destination.key_id
    source, plaintext, source_material = _open(
        services,
        ctx,
        blob=req.ciphertext_blob,
        context=req.source_encryption_context,
        key_id=req.source_key_id,
        algorithm=req.source_encryption_algorithm,
        action="kms:ReEncryptFrom",
        operation="ReEncrypt",
        extra_conditions={"kms:ReEncryptOnSameKey": same_key},
    )
    blob = ciphertext_format.encrypt(
        _current_material(services, destination),
        key_id=key_uuid(destination),
        key_version=destination.current_version,
        plaintext=plaintext,
        context=req.destination_encryption_context,
    )
    result: dict[str, Any] = {
        "CiphertextBlob": blob,
        "SourceKeyId": source.arn,
        "KeyId": destination.arn,
        "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "SourceKeyMaterialId": source_material,
    }
    if destination.current_material_id is not None:
        result["DestinationKeyMaterialId"] = destination.current_material_id
    return result


@dataclass(frozen=True)
class GenerateDataKeyRequest:
    key_id: str
    encryption_context: dict[str, str] = field(default_factory=dict)
    number_of_bytes: int | None = None
    key_spec: str | None = None
    grant_tokens: list[str] = field(default_factory=list)
    with_plaintext: bool = True


@read_only
def generate_data_key(
    services: Services, ctx: OperationContext, req: GenerateDataKeyRequest
) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    if (req.number_of_bytes is None) == (req.key_spec is None):
        raise ValidationError(
            "Exactly one of KeySpec and NumberOfBytes must be specified.", field="KeySpec"
        )
    size = req.number_of_bytes if req.key_spec is None else DATA_KEY_SPECS[req.key_spec]
    assert size is not None
    operation = "GenerateDataKey" if req.with_plaintext else "GenerateDataKeyWithoutPlaintext"
    key = _usable_key(
        services, ctx, req.key_id, operation, f"kms:{operation}", req.encryption_context, None
    ).key
    ctx.notes.encryption_context = dict(req.encryption_context)
    ctx.notes.key_version = key.current_version
    data_key = new_data_key(
        _current_material(services, key),
        key_id=key_uuid(key),
        key_version=key.current_version,
        number_of_bytes=size,
        context=req.encryption_context,
    )
    result: dict[str, Any] = {"CiphertextBlob": data_key.ciphertext, "KeyId": key.arn}
    if req.with_plaintext:
        result["Plaintext"] = data_key.plaintext
    if key.current_material_id is not None:
        result["KeyMaterialId"] = key.current_material_id
    return result


@dataclass(frozen=True)
class GenerateRandomRequest:
    number_of_bytes: int | None = None
    #: Draw the bytes from this custom key store's token.
    custom_key_store_id: str | None = None


@read_only
def generate_random(
    services: Services, ctx: OperationContext, req: GenerateRandomRequest
) -> dict[str, Any]:
    if req.number_of_bytes is None:
        raise ValidationError("NumberOfBytes is required.", field="NumberOfBytes")
    access.authorize_account_action(services, ctx, "kms:GenerateRandom")
    if req.custom_key_store_id is not None:
        return {
            "Plaintext": random_from_store(
                services, ctx, req.custom_key_store_id, req.number_of_bytes
            )
        }
    return {"Plaintext": services.random_bytes(req.number_of_bytes)}
