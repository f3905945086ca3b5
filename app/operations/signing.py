"""Sign, Verify and GetPublicKey: asymmetric keys of usage SIGN_VERIFY
(and, for GetPublicKey, ENCRYPT_DECRYPT).

The message and the signature go back to the caller only; the private key
never leaves the service (GetPublicKey returns the public half alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.crypto.private_keys import PrivateKeyMaterial, public_key_der
from app.crypto.signatures import sign as sign_message
from app.crypto.signatures import verify as verify_signature
from app.errors import KMSInvalidSignatureError, UnsupportedOperationError
from app.keys.model import Key
from app.keys.specs import RAW, SIGN_VERIFY, describe_algorithms, spec_info
from app.operations.context import OperationContext
from app.operations.grant_tokens import check_grant_tokens
from app.operations.key_use import current_material, require_algorithm, require_usage, usable_key
from app.operations.kinds import read_only
from app.operations.services import Services


@dataclass(frozen=True)
class SignRequest:
    key_id: str
    message: bytes = field(repr=False)
    signing_algorithm: str
    message_type: str = RAW
    grant_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyRequest:
    key_id: str
    message: bytes = field(repr=False)
    signature: bytes
    signing_algorithm: str
    message_type: str = RAW
    grant_tokens: list[str] = field(default_factory=list)


def _signing_key(
    services: Services,
    ctx: OperationContext,
    key_id: str,
    operation: str,
    algorithm: str,
    message_type: str,
) -> Key:
    key = usable_key(
        services,
        ctx,
        key_id,
        operation,
        conditions={"kms:SigningAlgorithm": algorithm, "kms:MessageType": message_type},
    ).key
    require_usage(key, SIGN_VERIFY, operation)
    require_algorithm(key, algorithm)
    ctx.notes.key_version = key.current_version
    return key


def _private_key(services: Services, key: Key) -> PrivateKeyMaterial:
    material = current_material(services, key)
    if not isinstance(material, PrivateKeyMaterial):  # pragma: no cover - spec says so
        raise TypeError(f"{key.arn} holds no private key")
    return material


@read_only
def sign(services: Services, ctx: OperationContext, req: SignRequest) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    key = _signing_key(services, ctx, req.key_id, "Sign", req.signing_algorithm, req.message_type)
    signature = sign_message(
        _private_key(services, key),
        key_spec=key.key_spec,
        algorithm=req.signing_algorithm,
        message=req.message,
        message_type=req.message_type,
    )
    return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": req.signing_algorithm}


@read_only
def verify(services: Services, ctx: OperationContext, req: VerifyRequest) -> dict[str, Any]:
    """``SignatureValid`` is always true: an invalid signature is an error
    (``KMSInvalidSignatureException``, empty message), as AWS answers."""
    check_grant_tokens(services, req.grant_tokens)
    key = _signing_key(services, ctx, req.key_id, "Verify", req.signing_algorithm, req.message_type)
    valid = verify_signature(
        _private_key(services, key),
        key_spec=key.key_spec,
        algorithm=req.signing_algorithm,
        message=req.message,
        signature=req.signature,
        message_type=req.message_type,
    )
    if not valid:
        raise KMSInvalidSignatureError()
    return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": req.signing_algorithm}


@dataclass(frozen=True)
class GetPublicKeyRequest:
    key_id: str
    grant_tokens: list[str] = field(default_factory=list)


@read_only
def get_public_key(
    services: Services, ctx: OperationContext, req: GetPublicKeyRequest
) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    key = usable_key(services, ctx, req.key_id, "GetPublicKey").key
    if not spec_info(key.key_spec).asymmetric:
        raise UnsupportedOperationError(
            f"{key.arn} key spec is {key.key_spec} which is not valid for GetPublicKey."
        )
    ctx.notes.key_version = key.current_version
    return {
        "KeyId": key.arn,
        "PublicKey": public_key_der(_private_key(services, key)),
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        "KeyUsage": key.key_usage,
        **describe_algorithms(key.key_spec, key.key_usage),
    }
