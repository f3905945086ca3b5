"""Encrypt and Decrypt with RSA keys of usage ENCRYPT_DECRYPT (RSAES-OAEP).

:mod:`app.operations.encryption` hands a request here when it names an
asymmetric ``EncryptionAlgorithm``. As AWS: there is no encryption context,
the ciphertext is the bare RSA output, and Decrypt must name the key and the
algorithm again, because nothing in the ciphertext says which they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.crypto.private_keys import PrivateKeyMaterial
from app.crypto.rsa_encryption import rsa_decrypt, rsa_encrypt
from app.errors import ValidationError
from app.keys.model import Key
from app.keys.specs import ENCRYPT_DECRYPT, RSA_ENCRYPTION_ALGORITHMS
from app.operations.context import OperationContext
from app.operations.key_use import current_material, require_algorithm, require_usage, usable_key
from app.operations.services import Services

#: ``EncryptionAlgorithm`` values that take this path (SM2PKE is refused here).
ASYMMETRIC_ENCRYPTION_ALGORITHMS = frozenset({*RSA_ENCRYPTION_ALGORITHMS, "SM2PKE"})


def _rsa_key(
    services: Services,
    ctx: OperationContext,
    key_id: str,
    operation: str,
    algorithm: str,
    context: Mapping[str, str],
) -> tuple[Key, PrivateKeyMaterial]:
    if context:
        raise ValidationError(
            "EncryptionContext is supported only with symmetric encryption keys.",
            field="EncryptionContext",
        )
    key = usable_key(
        services, ctx, key_id, operation, conditions={"kms:EncryptionAlgorithm": algorithm}
    ).key
    require_usage(key, ENCRYPT_DECRYPT, operation)
    require_algorithm(key, algorithm)
    ctx.notes.key_version = key.current_version
    material = current_material(services, key)
    if not isinstance(material, PrivateKeyMaterial):  # pragma: no cover - spec says so
        raise TypeError(f"{key.arn} holds no private key")
    return key, material


def encrypt(
    services: Services,
    ctx: OperationContext,
    *,
    key_id: str,
    plaintext: bytes,
    algorithm: str,
    context: Mapping[str, str],
) -> dict[str, Any]:
    key, material = _rsa_key(services, ctx, key_id, "Encrypt", algorithm, context)
    blob = rsa_encrypt(material, key_spec=key.key_spec, algorithm=algorithm, plaintext=plaintext)
    return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": algorithm}


def decrypt(
    services: Services,
    ctx: OperationContext,
    *,
    key_id: str | None,
    ciphertext: bytes,
    algorithm: str,
    context: Mapping[str, str],
) -> dict[str, Any]:
    if key_id is None:
        raise ValidationError(
            "KeyId is required to decrypt with an asymmetric encryption algorithm.",
            field="KeyId",
        )
    key, material = _rsa_key(services, ctx, key_id, "Decrypt", algorithm, context)
    plaintext = rsa_decrypt(
        material, key_spec=key.key_spec, algorithm=algorithm, ciphertext=ciphertext
    )
    return {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
