"""What every operation on a key of a particular usage checks first.

The order is AWS's: the key is found, the caller authorized (with the
operation's condition keys), the key's state checked, and only then its
usage and the algorithm asked for; so a caller who may not use a key learns
nothing about what kind of key it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.crypto.typed_material import AnyMaterial
from app.errors import InvalidKeyUsageError, InvalidStateError
from app.keys.model import ORIGIN_EXTERNAL, Key, require_state
from app.keys.specs import spec_info
from app.operations import access
from app.operations.context import OperationContext
from app.operations.resolve import ResolvedKey, load_any_material, resolve_key
from app.operations.services import Services


def usable_key(
    services: Services,
    ctx: OperationContext,
    key_id: str,
    operation: str,
    *,
    conditions: Mapping[str, object] | None = None,
) -> ResolvedKey:
    """The key ``key_id`` names, once ``kms:<operation>`` is allowed on it and
    its state allows ``operation``."""
    resolved = resolve_key(services, ctx, key_id, allow_alias=True)
    access.authorize_key_action(
        services,
        ctx,
        f"kms:{operation}",
        resolved.key,
        conditions=conditions,
        request_alias=resolved.alias_name,
    )
    require_state(operation, resolved.key)
    return resolved


def require_usage(key: Key, usage: str, operation: str) -> None:
    if key.key_usage != usage:
        raise InvalidKeyUsageError(
            f"{key.arn} key usage is {key.key_usage} which is not valid for {operation}."
        )


def require_algorithm(key: Key, algorithm: str) -> None:
    """``algorithm`` must be one the key's spec lists for its usage."""
    if algorithm not in spec_info(key.key_spec).algorithms(key.key_usage):
        raise InvalidKeyUsageError(
            f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}."
        )


def current_material(services: Services, key: Key) -> AnyMaterial:
    """The unsealed material of the key's current version."""
    material = load_any_material(services, key, key.current_version)
    if material is None and key.origin == ORIGIN_EXTERNAL:
        # Imported material deleted by another process since the key was read.
        raise InvalidStateError(f"{key.arn} is pending import.")
    if material is None:  # pragma: no cover - the current version always exists
        raise LookupError(f"{key.arn} has no version {key.current_version}")
    return material
