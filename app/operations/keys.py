"""Key lifecycle: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription,
EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, and the
deletion of keys whose waiting period has ended."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.crypto.material import material_id
from app.crypto.typed_material import new_material, seal_any
from app.errors import LimitExceededError, UnsupportedOperationError, ValidationError
from app.keys.identifiers import key_arn
from app.keys.key_stores import ORIGIN_AWS_CLOUDHSM
from app.keys.model import (
    ENCRYPT_DECRYPT,
    ORIGIN_AWS_KMS,
    ORIGIN_EXTERNAL,
    SYMMETRIC_DEFAULT,
    Key,
    KeyState,
    require_state,
)
from app.keys.specs import KEY_SPECS, Family, describe_algorithms
from app.operations import access, key_stores, policy_documents
from app.operations.context import OperationContext
from app.operations.grant_tokens import check_grant_tokens
from app.operations.key_updates import DAY, apply_changes, service_event
from app.operations.kinds import read_only
from app.operations.resolve import resolve_key
from app.operations.services import Services
from app.operations.tags import validate_new_tags

MAX_KEYS_PER_ACCOUNT = 100_000


@dataclass(frozen=True)
class CreateKeyRequest:
    description: str = ""
    #: ``None``: not given (only a symmetric key may leave it out).
    key_usage: str | None = None
    key_spec: str = SYMMETRIC_DEFAULT
    origin: str = ORIGIN_AWS_KMS
    policy: str | None = None
    bypass_policy_lockout_safety_check: bool = False
    bypass_separation_of_duties_check: bool = False
    tags: list[tuple[str, str]] = field(default_factory=list)
    administrators: list[str] | None = None
    users: list[str] | None = None
    multi_region: bool = False
    custom_key_store_id: str | None = None


def key_metadata(key: Key, cluster_id: str | None = None) -> dict[str, Any]:
    """``KeyMetadata`` exactly as AWS shapes it: the algorithm list of the
    key's usage, and the current material id for symmetric keys only."""
    metadata: dict[str, Any] = {
        "AWSAccountId": key.account,
        "KeyId": key.key_id,
        "Arn": key.arn,
        "CreationDate": key.created_at,
        "Enabled": key.enabled,
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "KeyState": key.state.value,
        "Origin": key.origin,
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        **describe_algorithms(key.key_spec, key.key_usage),
        "MultiRegion": False,
    }
    if key.current_material_id is not None and key.key_spec == SYMMETRIC_DEFAULT:
        metadata["CurrentKeyMaterialId"] = key.current_material_id
    if key.state is KeyState.PENDING_DELETION and key.deletion_date is not None:
        metadata["DeletionDate"] = key.deletion_date
    if key.origin == ORIGIN_EXTERNAL and key.expiration_model is not None:
        metadata["ExpirationModel"] = key.expiration_model
    if key.origin == ORIGIN_EXTERNAL and key.valid_to is not None:
        metadata["ValidTo"] = key.valid_to
    if key.custom_key_store_id is not None:
        metadata["CustomKeyStoreId"] = key.custom_key_store_id
        if cluster_id is not None:
            metadata["CloudHsmClusterId"] = cluster_id
    return metadata


def _check_origin(req: CreateKeyRequest) -> None:
    if req.origin not in (ORIGIN_AWS_KMS, ORIGIN_EXTERNAL, ORIGIN_AWS_CLOUDHSM):
        raise ValidationError(
            f"Origin {req.origin} is not supported by this service; use AWS_KMS, EXTERNAL or "
            "AWS_CLOUDHSM.",
            field="Origin",
        )
    if req.origin == ORIGIN_AWS_CLOUDHSM and req.custom_key_store_id is None:
        raise ValidationError(
            "A key of origin AWS_CLOUDHSM needs the CustomKeyStoreId of the store to hold it.",
            field="CustomKeyStoreId",
        )
    if req.custom_key_store_id is not None and req.origin != ORIGIN_AWS_CLOUDHSM:
        raise ValidationError(
            "CustomKeyStoreId requires Origin AWS_CLOUDHSM.", field="CustomKeyStoreId"
        )
    if req.origin == ORIGIN_AWS_CLOUDHSM and req.key_spec != SYMMETRIC_DEFAULT:
        raise UnsupportedOperationError(
            f"KeySpec {req.key_spec} is not supported in a custom key store: it holds "
            "SYMMETRIC_DEFAULT keys only."
        )


def create_key(services: Services, ctx: OperationContext, req: CreateKeyRequest) -> dict[str, Any]:
    settings = services.settings
    account = ctx.principal.account
    key_usage = _key_usage(req)
    _check_origin(req)
    if req.multi_region:
        raise ValidationError("Multi-Region keys are not supported.", field="MultiRegion")
    tags = validate_new_tags(req.tags, existing={})
    access.authorize_account_action(
        services,
        ctx,
        "kms:CreateKey",
        conditions={
            "kms:KeySpec": req.key_spec,
            "kms:KeyUsage": key_usage,
            "kms:KeyOrigin": req.origin,
            "kms:MultiRegion": req.multi_region,
            "kms:BypassPolicyLockoutSafetyCheck": req.bypass_policy_lockout_safety_check,
            **access.request_tag_conditions(tags),
        },
    )
    if tags:
        access.authorize_account_action(
            services, ctx, "kms:TagResource", conditions=access.request_tag_conditions(tags)
        )

    key_uuid = services.new_uuid()
    key_id = str(key_uuid)
    arn = key_arn(settings.partition, settings.region, account, key_id)
    policy = policy_documents.policy_for_new_key(services, ctx, req, arn)
    ctx.notes.add_resource(arn)
    now = services.now()
    store = made = None
    if req.custom_key_store_id is not None:
        # AWS_CLOUDHSM: the store's token generates the material and keeps it.
        store = key_stores.connected_store(services, ctx, req.custom_key_store_id)
        made = key_stores.new_token_key(services, store, key_uuid=key_uuid, arn=arn)
        sealed, current_material_id = made.sealed, made.material_id
    elif req.origin == ORIGIN_EXTERNAL:
        # No material until ImportKeyMaterial brings it.
        sealed, current_material_id = None, None
    else:
        material = new_material(req.key_spec, services.random_bytes)
        sealed = seal_any(
            services.root_key, material, key_arn=arn, version=1, key_spec=req.key_spec
        )
        current_material_id = material_id(key_uuid, material)
    key = Key(
        key_id=key_id,
        account=account,
        arn=arn,
        description=req.description,
        key_usage=key_usage,
        key_spec=req.key_spec,
        origin=req.origin,
        state=KeyState.PENDING_IMPORT if req.origin == ORIGIN_EXTERNAL else KeyState.ENABLED,
        created_at=now,
        policy=policy,
        current_version=1,
        current_material_id=current_material_id,
        tags=tags,
        custom_key_store_id=None if store is None else store.store_id,
    )
    try:
        with services.unit_of_work():
            if services.keys.count_keys(account) >= MAX_KEYS_PER_ACCOUNT:
                raise LimitExceededError(
                    "The number of keys in this account has reached its quota."
                )
            services.keys.insert_key(key, sealed, current_material_id, tags)
    except BaseException:
        if store is not None and made is not None:
            key_stores.discard_token_key(services, store, made.ref)
        raise
    return {"KeyMetadata": key_metadata(key, None if store is None else store.cluster_id)}


def _key_usage(req: CreateKeyRequest) -> str:
    """The usage of the new key, after AWS's checks of KeySpec and KeyUsage."""
    spec = KEY_SPECS.get(req.key_spec)
    if spec is None:
        raise ValidationError(
            f"KeySpec {req.key_spec} is not supported by this service.", field="KeySpec"
        )
    if req.key_usage is None:
        if spec.family is not Family.SYMMETRIC:
            raise ValidationError(
                "You must specify a KeyUsage value for all KMS keys except for symmetric "
                "encryption keys.",
                field="KeyUsage",
            )
        return ENCRYPT_DECRYPT
    if req.key_usage == "KEY_AGREEMENT":
        raise ValidationError(
            "KeyUsage KEY_AGREEMENT is not supported by this service.", field="KeyUsage"
        )
    if not spec.allows(req.key_usage):
        raise ValidationError(
            f"KeyUsage {req.key_usage} is not compatible with KeySpec {req.key_spec}",
            field="KeyUsage",
        )
    return req.key_usage


@dataclass(frozen=True)
class KeyIdRequest:
    key_id: str


@dataclass(frozen=True)
class DescribeKeyRequest:
    key_id: str
    grant_tokens: list[str] = field(default_factory=list)


@read_only
def describe_key(
    services: Services, ctx: OperationContext, req: DescribeKeyRequest
) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    resolved = resolve_key(services, ctx, req.key_id, allow_alias=True)
    access.authorize_key_action(
        services, ctx, "kms:DescribeKey", resolved.key, request_alias=resolved.alias_name
    )
    return {
        "KeyMetadata": key_metadata(resolved.key, key_stores.cluster_of(services, resolved.key))
    }


@dataclass(frozen=True)
class ListRequest:
    limit: int = 100
    marker: str | None = None


@read_only
def list_keys(services: Services, ctx: OperationContext, req: ListRequest) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, "kms:ListKeys")
    page, next_marker = services.keys.list_keys(ctx.principal.account, req.limit, req.marker)
    result: dict[str, Any] = {
        "Keys": [{"KeyId": key_id, "KeyArn": arn} for key_id, arn in page],
        "Truncated": next_marker is not None,
    }
    if next_marker is not None:
        result["NextMarker"] = next_marker
    return result


@dataclass(frozen=True)
class UpdateKeyDescriptionRequest:
    key_id: str
    description: str


def update_key_description(
    services: Services, ctx: OperationContext, req: UpdateKeyDescriptionRequest
) -> None:
    with services.unit_of_work():
        key = _managed_key(services, ctx, req.key_id, "UpdateKeyDescription")
        apply_changes(services, key, description=req.description)


def enable_key(services: Services, ctx: OperationContext, req: KeyIdRequest) -> None:
    with services.unit_of_work():
        key = _managed_key(services, ctx, req.key_id, "EnableKey")
        if key.state is KeyState.DISABLED:
            # A key that missed a rotation while disabled is rotated by the next
            # scheduler run: its next_rotation_at is already in the past.
            apply_changes(services, key, state=KeyState.ENABLED)


def disable_key(services: Services, ctx: OperationContext, req: KeyIdRequest) -> None:
    with services.unit_of_work():
        key = _managed_key(services, ctx, req.key_id, "DisableKey")
        if key.state is KeyState.ENABLED:
            apply_changes(services, key, state=KeyState.DISABLED)


@dataclass(frozen=True)
class ScheduleKeyDeletionRequest:
    key_id: str
    pending_window_in_days: int = 30


def schedule_key_deletion(
    services: Services, ctx: OperationContext, req: ScheduleKeyDeletionRequest
) -> dict[str, Any]:
    deletion_date = services.now() + req.pending_window_in_days * DAY
    with services.unit_of_work():
        key = _managed_key(
            services,
            ctx,
            req.key_id,
            "ScheduleKeyDeletion",
            conditions={"kms:ScheduleKeyDeletionPendingWindowInDays": req.pending_window_in_days},
        )
        apply_changes(
            services,
            key,
            state=KeyState.PENDING_DELETION,
            deletion_date=deletion_date,
            pending_window_days=req.pending_window_in_days,
        )
    return {
        "KeyId": key.arn,
        "DeletionDate": deletion_date,
        "KeyState": KeyState.PENDING_DELETION.value,
        "PendingWindowInDays": req.pending_window_in_days,
    }


def cancel_key_deletion(
    services: Services, ctx: OperationContext, req: KeyIdRequest
) -> dict[str, Any]:
    with services.unit_of_work():
        key = _managed_key(services, ctx, req.key_id, "CancelKeyDeletion")
        # AWS leaves a key whose deletion was cancelled Disabled, never Enabled;
        # an EXTERNAL key whose material was deleted meanwhile is PendingImport.
        state = KeyState.DISABLED
        if key.origin == ORIGIN_EXTERNAL and (
            services.keys.sealed_version(key.key_id, key.current_version) is None
        ):
            state = KeyState.PENDING_IMPORT
        apply_changes(services, key, state=state, deletion_date=None, pending_window_days=None)
    return {"KeyId": key.arn}


def delete_expired_keys(services: Services) -> list[str]:
    """Delete every key whose waiting period has ended: its material, versions,
    aliases and tags go; its ciphertexts can never be decrypted again.

    Safe to run in several processes at once: each deletion re-checks the key
    inside its own transaction.
    """
    deleted: list[str] = []
    for key_id, account in services.keys.keys_due_for_deletion(services.now()):
        with services.unit_of_work():
            key = services.keys.get_key(account, key_id)
            if (
                key is None
                or key.state is not KeyState.PENDING_DELETION
                or key.deletion_date is None
                or key.deletion_date > services.now()
            ):
                continue
            if key.custom_key_store_id is not None:
                # Its material goes with it (if its store is connected).
                key_stores.destroy_token_keys(services, key)
            services.grants.delete_for_key(key_id)
            services.keys.delete_key(key_id)
            services.audit.append(service_event(services, "DeleteKey", key.arn))
        services.materials.invalidate(key.arn)
        deleted.append(key.arn)
    return deleted


def _managed_key(
    services: Services,
    ctx: OperationContext,
    key_id: str,
    operation: str,
    *,
    conditions: Mapping[str, object] | None = None,
) -> Key:
    """Resolve a key id/ARN (no aliases), authorize ``operation``, check its state."""
    key = resolve_key(services, ctx, key_id, allow_alias=False).key
    access.authorize_key_action(services, ctx, f"kms:{operation}", key, conditions=conditions)
    require_state(operation, key)
    return key
