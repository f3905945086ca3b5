"""GenerateMac and VerifyMac: HMAC keys (usage GENERATE_VERIFY_MAC).

A MAC carries no version, so VerifyMac tries the current version first and
then every older one: a MAC made before an automatic rotation still verifies
until the key is deleted, as a symmetric ciphertext still decrypts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.crypto.hmac_keys import HmacKeyMaterial
from app.crypto.hmac_keys import generate_mac as hmac_of
from app.crypto.hmac_keys import verify_mac as hmac_matches
from app.errors import InvalidMacError
from app.keys.model import Key
from app.keys.specs import GENERATE_VERIFY_MAC
from app.operations.context import OperationContext
from app.operations.grant_tokens import check_grant_tokens
from app.operations.key_use import current_material, require_algorithm, require_usage, usable_key
from app.operations.kinds import read_only
from app.operations.resolve import load_any_material
from app.operations.services import Services


@dataclass(frozen=True)
class GenerateMacRequest:
    key_id: str
    message: bytes = field(repr=False)
    mac_algorithm: str
    grant_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyMacRequest:
    key_id: str
    message: bytes = field(repr=False)
    mac: bytes
    mac_algorithm: str
    grant_tokens: list[str] = field(default_factory=list)


def _mac_key(
    services: Services, ctx: OperationContext, key_id: str, operation: str, algorithm: str
) -> Key:
    key = usable_key(
        services, ctx, key_id, operation, conditions={"kms:MacAlgorithm": algorithm}
    ).key
    require_usage(key, GENERATE_VERIFY_MAC, operation)
    require_algorithm(key, algorithm)
    return key


def _hmac_material(material: object, key: Key) -> HmacKeyMaterial:
    if not isinstance(material, HmacKeyMaterial):  # pragma: no cover - spec says so
        raise TypeError(f"{key.arn} holds no HMAC key")
    return material


@read_only
def generate_mac(
    services: Services, ctx: OperationContext, req: GenerateMacRequest
) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    key = _mac_key(services, ctx, req.key_id, "GenerateMac", req.mac_algorithm)
    ctx.notes.key_version = key.current_version
    mac = hmac_of(
        _hmac_material(current_material(services, key), key),
        key_spec=key.key_spec,
        algorithm=req.mac_algorithm,
        message=req.message,
    )
    return {"Mac": mac, "MacAlgorithm": req.mac_algorithm, "KeyId": key.arn}


@read_only
def verify_mac(services: Services, ctx: OperationContext, req: VerifyMacRequest) -> dict[str, Any]:
    """``MacValid`` is always true: a MAC no version makes is an error
    (``KMSInvalidMacException``, empty message), as AWS answers."""
    check_grant_tokens(services, req.grant_tokens)
    key = _mac_key(services, ctx, req.key_id, "VerifyMac", req.mac_algorithm)
    for version in _versions_newest_first(services, key):
        material = load_any_material(services, key, version)
        if material is not None and hmac_matches(
            _hmac_material(material, key),
            key_spec=key.key_spec,
            algorithm=req.mac_algorithm,
            message=req.message,
            mac=req.mac,
        ):
            ctx.notes.key_version = version
            return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": req.mac_algorithm}
    raise InvalidMacError()


def _versions_newest_first(services: Services, key: Key) -> list[int]:
    """The current version, then the older ones (listed only if a key was rotated)."""
    if key.current_version == 1:
        return [1]
    older = [v.version for v in services.keys.list_versions(key.key_id)]
    return [
        key.current_version,
        *sorted((v for v in older if v != key.current_version), reverse=True),
    ]
