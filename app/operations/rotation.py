"""Rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
RotateKeyOnDemand, ListKeyRotations, and the automatic rotation job.

Rotation adds a key version and makes it current; every older version stays
and keeps decrypting until the key itself is deleted. The new version is
committed durably before it becomes current (one transaction), and two
processes rotating the same key at once cannot both succeed: versions are
unique per key and the key row is updated with a compare-and-set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app import markers
from app.crypto.material import material_id
from app.crypto.typed_material import new_material, seal_any
from app.errors import ConflictError, LimitExceededError, UnsupportedOperationError
from app.keys.model import (
    ORIGIN_AWS_KMS,
    SYMMETRIC_DEFAULT,
    Key,
    KeyState,
    VersionTaken,
    require_state,
)
from app.keys.specs import Family, family_of
from app.operations import access
from app.operations.context import OperationContext
from app.operations.key_updates import DAY, apply_changes, service_event
from app.operations.kinds import read_only
from app.operations.resolve import key_uuid, resolve_key
from app.operations.services import Services

log = logging.getLogger("trent.rotation")

DEFAULT_ROTATION_PERIOD_DAYS = 365
MAX_ON_DEMAND_ROTATIONS = 25
ON_DEMAND_CONFLICT_WINDOW = 20 * 60.0

#: Key families whose material is rotated automatically: symmetric and HMAC
#: keys (a new version of an asymmetric key would be a new public key, which
#: every verifier and encryptor holding the old one would need to learn).
AUTOMATIC_ROTATION_FAMILIES = frozenset({Family.SYMMETRIC, Family.HMAC})


def _require_rotatable(key: Key, operation: str) -> None:
    """Automatic rotation (and its status and history) for symmetric and HMAC
    keys; RotateKeyOnDemand for symmetric keys only, as AWS allows."""
    if operation == "RotateKeyOnDemand":
        allowed = key.key_spec == SYMMETRIC_DEFAULT
    else:
        allowed = family_of(key.key_spec) in AUTOMATIC_ROTATION_FAMILIES
    if not allowed:
        raise UnsupportedOperationError(
            f"{key.arn} key spec is {key.key_spec} which is not valid for this operation."
        )


def _require_generated(key: Key, operation: str) -> None:
    """Imported material, and a custom key store's, is never rotated by the
    service (AWS's rule [6]/[7]); its rotation history may still be listed."""
    if key.origin != ORIGIN_AWS_KMS and operation != "ListKeyRotations":
        # EXTERNAL (imported) and AWS_CLOUDHSM (a custom key store's) keys.
        raise UnsupportedOperationError(
            f"{key.arn} origin is {key.origin} which is not valid for this operation."
        )


def _rotatable_key(services: Services, ctx: OperationContext, key_id: str, operation: str) -> Key:
    key = resolve_key(services, ctx, key_id, allow_alias=False).key
    access.authorize_key_action(services, ctx, f"kms:{operation}", key)
    _require_generated(key, operation)
    require_state(operation, key)
    _require_rotatable(key, operation)
    return key


def add_version(services: Services, key: Key, rotation_type: str) -> int:
    """Create the next version of ``key`` and make it current (inside the
    caller's unit of work). Returns the new version number."""
    version = key.current_version + 1
    material = new_material(key.key_spec, services.random_bytes)
    sealed = seal_any(
        services.root_key, material, key_arn=key.arn, version=version, key_spec=key.key_spec
    )
    services.keys.add_version(
        key.key_id,
        version,
        sealed,
        material_id(key_uuid(key), material),
        services.now(),
        rotation_type,
    )
    return version


@dataclass(frozen=True)
class EnableKeyRotationRequest:
    key_id: str
    rotation_period_in_days: int = DEFAULT_ROTATION_PERIOD_DAYS


def enable_key_rotation(
    services: Services, ctx: OperationContext, req: EnableKeyRotationRequest
) -> None:
    with services.unit_of_work():
        key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
        access.authorize_key_action(
            services,
            ctx,
            "kms:EnableKeyRotation",
            key,
            conditions={"kms:RotationPeriodInDays": req.rotation_period_in_days},
        )
        _require_generated(key, "EnableKeyRotation")
        require_state("EnableKeyRotation", key)
        _require_rotatable(key, "EnableKeyRotation")
        apply_changes(
            services,
            key,
            rotation_enabled=True,
            rotation_period_days=req.rotation_period_in_days,
            next_rotation_at=services.now() + req.rotation_period_in_days * DAY,
        )


@dataclass(frozen=True)
class KeyRotationRequest:
    key_id: str


def disable_key_rotation(
    services: Services, ctx: OperationContext, req: KeyRotationRequest
) -> None:
    with services.unit_of_work():
        key = _rotatable_key(services, ctx, req.key_id, "DisableKeyRotation")
        apply_changes(services, key, rotation_enabled=False, next_rotation_at=None)


@read_only
def get_key_rotation_status(
    services: Services, ctx: OperationContext, req: KeyRotationRequest
) -> dict[str, Any]:
    key = _rotatable_key(services, ctx, req.key_id, "GetKeyRotationStatus")
    # While a key is pending deletion AWS reports rotation as off; the setting
    # itself is kept and shows again if the deletion is cancelled.
    enabled = key.rotation_enabled and key.state is not KeyState.PENDING_DELETION
    result: dict[str, Any] = {"KeyId": key.arn, "KeyRotationEnabled": enabled}
    if enabled:
        result["RotationPeriodInDays"] = key.rotation_period_days
        result["NextRotationDate"] = key.next_rotation_at
    return result


def rotate_key_on_demand(
    services: Services, ctx: OperationContext, req: KeyRotationRequest
) -> dict[str, Any]:
    with services.unit_of_work():
        key = _rotatable_key(services, ctx, req.key_id, "RotateKeyOnDemand")
        if key.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS:
            raise LimitExceededError(
                "The on-demand rotations limit has been reached for the given keyId. "
                f"No more on-demand rotations can be performed for this key: {key.arn}"
            )
        if (
            key.rotation_enabled
            and key.next_rotation_at is not None
            and key.next_rotation_at - services.now() < ON_DEMAND_CONFLICT_WINDOW
        ):
            raise ConflictError(
                f"An automatic rotation of {key.arn} is due within 20 minutes; retry later."
            )
        version = add_version(services, key, "ON_DEMAND")
        apply_changes(
            services, key, current_version=version, on_demand_rotations=key.on_demand_rotations + 1
        )
    return {"KeyId": key.arn}


@dataclass(frozen=True)
class ListKeyRotationsRequest:
    key_id: str
    include_key_material: str = "ROTATIONS_ONLY"
    limit: int = 100
    marker: str | None = None


@read_only
def list_key_rotations(
    services: Services, ctx: OperationContext, req: ListKeyRotationsRequest
) -> dict[str, Any]:
    key = _rotatable_key(services, ctx, req.key_id, "ListKeyRotations")
    versions = services.keys.list_versions(key.key_id)
    if req.include_key_material == "ROTATIONS_ONLY":
        versions = [v for v in versions if v.rotation_type is not None]
    start = 0
    if req.marker is not None:
        after = markers.decode_position(req.marker, markers.ROTATIONS)
        start = next((i for i, v in enumerate(versions) if v.version > after), len(versions))
    page = versions[start : start + req.limit]
    entries = []
    for v in page:
        entry: dict[str, Any] = {
            "KeyId": key.arn,
            "KeyMaterialId": v.material_id,
            "KeyMaterialState": "CURRENT" if v.version == key.current_version else "NON_CURRENT",
        }
        if v.rotation_type is not None:
            entry["RotationDate"] = v.created_at
            entry["RotationType"] = v.rotation_type
        entries.append(entry)
    result: dict[str, Any] = {"Rotations": entries, "Truncated": start + req.limit < len(versions)}
    if result["Truncated"]:
        result["NextMarker"] = markers.encode(markers.ROTATIONS, page[-1].version)
    return result


def rotate_due_keys(services: Services) -> list[str]:
    """The automatic rotation job: rotate every enabled key whose rotation is due.

    Several processes may run it at the same moment: each rotation happens in
    one transaction that re-reads the key and updates it with a compare-and-set,
    and a second process that raced it fails on the unique (key, version) pair,
    rolls back, and moves on.
    """
    rotated: list[str] = []
    now = services.now()
    for key_id, account in services.keys.keys_due_for_rotation(now):
        try:
            with services.unit_of_work():
                key = services.keys.get_key(account, key_id)
                if (
                    key is None
                    or not key.rotation_enabled
                    or key.state is not KeyState.ENABLED
                    or key.next_rotation_at is None
                    or key.next_rotation_at > now
                    or key.rotation_period_days is None
                ):
                    continue
                version = add_version(services, key, "AUTOMATIC")
                apply_changes(
                    services,
                    key,
                    current_version=version,
                    next_rotation_at=now + key.rotation_period_days * DAY,
                )
                services.audit.append(service_event(services, "RotateKey", key.arn, version))
        except (ConflictError, VersionTaken):
            # Another process changed or rotated the key first.
            continue
        log.info("rotated %s to version %d", key.arn, version)
        rotated.append(key.arn)
    return rotated
