"""GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext.

A new RSA or EC key pair, made for the caller: the private key is returned
encrypted under a symmetric key, with the request's encryption context (an
ordinary ciphertext: Decrypt gives back its DER PKCS#8), and in plaintext
too unless the caller asked for it without. Trent keeps nothing of the pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.crypto.key_pairs import generate_data_key_pair as new_key_pair
from app.errors import UnsupportedOperationError
from app.keys.specs import KEY_PAIR_SPECS
from app.operations.context import OperationContext
from app.operations.encryption import _check_symmetric, context_conditions
from app.operations.grant_tokens import check_grant_tokens
from app.operations.key_use import usable_key
from app.operations.kinds import read_only
from app.operations.resolve import key_uuid, load_material
from app.operations.services import Services


@dataclass(frozen=True)
class GenerateDataKeyPairRequest:
    key_id: str
    key_pair_spec: str
    encryption_context: dict[str, str] = field(default_factory=dict)
    grant_tokens: list[str] = field(default_factory=list)
    with_plaintext: bool = True


@read_only
def generate_data_key_pair(
    services: Services, ctx: OperationContext, req: GenerateDataKeyPairRequest
) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    operation = (
        "GenerateDataKeyPair" if req.with_plaintext else "GenerateDataKeyPairWithoutPlaintext"
    )
    key = usable_key(
        services,
        ctx,
        req.key_id,
        operation,
        conditions={
            **context_conditions(req.encryption_context),
            "kms:DataKeyPairSpec": req.key_pair_spec,
        },
    ).key
    _check_symmetric(key, operation)
    if key.custom_key_store_id is not None:
        raise UnsupportedOperationError(
            f"{key.arn} is in a custom key store, which is not valid for {operation}."
        )
    if req.key_pair_spec not in KEY_PAIR_SPECS:
        raise UnsupportedOperationError(
            f"KeyPairSpec {req.key_pair_spec} is not supported by this service."
        )
    ctx.notes.encryption_context = dict(req.encryption_context)
    ctx.notes.key_version = key.current_version
    material = load_material(services, key, key.current_version)
    if material is None:  # pragma: no cover - the current version always exists
        raise LookupError(f"{key.arn} has no version {key.current_version}")
    pair = new_key_pair(
        material,
        key_id=key_uuid(key),
        key_version=key.current_version,
        key_pair_spec=req.key_pair_spec,
        context=req.encryption_context,
    )
    result: dict[str, Any] = {
        "PrivateKeyCiphertextBlob": pair.private_ciphertext,
        "PublicKey": pair.public_key,
        "KeyId": key.arn,
        "KeyPairSpec": req.key_pair_spec,
    }
    if req.with_plaintext:
        result["PrivateKeyPlaintext"] = pair.private_plaintext
    if key.current_material_id is not None:
        result["KeyMaterialId"] = key.current_material_id
    return result
