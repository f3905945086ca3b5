"""Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

A grant lets one grantee use one key for some operations, under optional
encryption-context constraints, without a policy change (:mod:`policies.grants`
decides what a grant allows). Grants take effect as soon as CreateGrant
commits and stop the moment RetireGrant or RevokeGrant commits: they are never
read from a cache. Every event of these operations, and of every operation a
grant allowed, records the grant id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import policies
from app import markers
from app.errors import (
    AccessDeniedError,
    DryRunOperationError,
    InvalidArnError,
    InvalidGrantIdError,
    InvalidGrantTokenError,
    LimitExceededError,
    NotFoundError,
    ValidationError,
)
from app.keys.model import ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT, Key, require_state
from app.operations import access
from app.operations.context import OperationContext
from app.operations.grant_tokens import check_grant_tokens, grant_id_of, new_grant_id, new_token
from app.operations.kinds import read_only
from app.operations.resolve import resolve_key
from app.operations.services import Services

#: AWS's quota of grants on one key.
MAX_GRANTS_PER_KEY = 50_000
_GRANT_ID = re.compile(r"^[0-9a-f]{64}$")
_ALWAYS = frozenset({"DescribeKey", "CreateGrant", "RetireGrant"})
_DATA_KEYS = frozenset(
    {
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    }
)
_ENCRYPTION = frozenset({"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo"})


def grant_operations_for(key: Key) -> frozenset[str]:
    """The grant operations that make sense for the key's spec and usage (AWS's table)."""
    if key.key_spec == SYMMETRIC_DEFAULT:
        return _ALWAYS | _ENCRYPTION | _DATA_KEYS
    if key.key_spec.startswith("HMAC_"):
        return _ALWAYS | {"GenerateMac", "VerifyMac"}
    if key.key_usage == ENCRYPT_DECRYPT:
        return _ALWAYS | _ENCRYPTION | {"GetPublicKey"}
    if key.key_usage == "SIGN_VERIFY":
        return _ALWAYS | {"Sign", "Verify", "GetPublicKey"}
    if key.key_usage == "KEY_AGREEMENT":
        return _ALWAYS | {"DeriveSharedSecret", "GetPublicKey"}
    return _ALWAYS


def _refuse_dry_run(dry_run: bool) -> None:
    """Called where the operation would go on to change something: a dry run
    that got this far would have succeeded."""
    if dry_run:
        raise DryRunOperationError()


def _principal(value: str, member: str) -> str:
    """An IAM principal a grant can name: an account, user, role, assumed role or
    federated user (never a group or a service)."""
    try:
        caller = policies.describe_caller(value)
    except ValueError:
        raise ValidationError(
            f"{member} {value!r} is not an IAM principal ARN (an account root, user, role, "
            "assumed role or federated user).",
            field=member,
        ) from None
    if caller.kind is policies.PrincipalKind.SERVICE:
        raise ValidationError(f"{member} cannot be a service principal.", field=member)
    return value


@dataclass(frozen=True)
class CreateGrantRequest:
    key_id: str
    operations: list[str]
    grantee_principal: str | None = None
    retiring_principal: str | None = None
    constraints: policies.GrantConstraints | None = None
    grant_tokens: list[str] = field(default_factory=list)
    name: str | None = None
    dry_run: bool = False
    bypass_separation_of_duties_check: bool = False
    grantee_service_principal: str | None = None
    retiring_service_principal: str | None = None


def _grant_conditions(grant: policies.Grant) -> dict[str, object]:
    """The condition keys of a CreateGrant request (AWS's ``kms:Grant*``; the
    ``kms:EncryptionContext*`` keys describe the grant's constraints)."""
    conditions: dict[str, object] = {
        "kms:GrantOperations": sorted(grant.operations),
        "kms:GranteePrincipal": grant.grantee_principal,
        "kms:GrantIsForAWSResource": False,
    }
    if grant.retiring_principal is not None:
        conditions["kms:RetiringPrincipal"] = grant.retiring_principal
    if grant.constraints is not None:
        pairs = grant.constraints.pairs
        conditions["kms:GrantConstraintType"] = grant.constraints.kind
        conditions.update({f"kms:EncryptionContext:{k}": v for k, v in pairs.items()})
        conditions["kms:EncryptionContextKeys"] = sorted(pairs)
    return conditions


def _check_grant_shape(key: Key, req: CreateGrantRequest) -> None:
    if req.grantee_service_principal is not None or req.retiring_service_principal is not None:
        raise ValidationError(
            "GranteeServicePrincipal and RetiringServicePrincipal can be used only by AWS "
            "service principals.",
            field="GranteeServicePrincipal",
        )
    if req.grantee_principal is None:
        raise ValidationError("GranteePrincipal is required.", field="GranteePrincipal")
    _principal(req.grantee_principal, "GranteePrincipal")
    if req.retiring_principal is not None:
        _principal(req.retiring_principal, "RetiringPrincipal")
    unknown = [op for op in req.operations if op not in policies.GRANT_OPERATIONS]
    if unknown or not req.operations:
        raise ValidationError(
            "Operations must name grant operations: " + ", ".join(policies.GRANT_OPERATIONS),
            field="Operations",
        )
    invalid = sorted(set(req.operations) - grant_operations_for(key))
    if invalid:
        raise ValidationError(
            f"Grant operations {', '.join(invalid)} are not valid for a key with key spec "
            f"{key.key_spec} and key usage {key.key_usage}.",
            field="Operations",
        )
    if req.constraints is not None and key.key_spec != SYMMETRIC_DEFAULT:
        raise ValidationError(
            "Grant constraints are valid only for symmetric encryption keys.",
            field="Constraints",
        )


def _check_separation_of_duties(
    ctx: OperationContext, key: Key, grant: policies.Grant, bypass: bool
) -> None:
    """A grant must not hand a key administrator the use of the key (the same
    rule the key policy is held to; ``BypassSeparationOfDutiesCheck`` lifts it)."""
    if bypass:
        return
    use = sorted(op for op in grant.operations if f"kms:{op}" in policies.USAGE_ACTIONS)
    if not use:
        return
    policy = access.parsed_key_policy(key.policy, ctx.principal.partition)
    manages = sorted(policies.management_actions_of(policy, grant.grantee_principal))
    if manages:
        raise ValidationError(
            f"{grant.grantee_principal} administers the key ({', '.join(manages[:3])}) and the "
            f"grant would let it use the key ({', '.join(use)}); separation of duties keeps "
            "the two apart. Set BypassSeparationOfDutiesCheck to allow it.",
            field="GranteePrincipal",
        )


def _same_grant(a: policies.Grant, b: policies.Grant) -> bool:
    return (
        a.grantee_principal == b.grantee_principal
        and a.retiring_principal == b.retiring_principal
        and a.operations == b.operations
        and a.constraints == b.constraints
    )


def create_grant(
    services: Services, ctx: OperationContext, req: CreateGrantRequest
) -> dict[str, Any]:
    check_grant_tokens(services, req.grant_tokens)
    key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
    ctx.notes.add_resource(key.arn)
    _check_grant_shape(key, req)
    assert req.grantee_principal is not None
    grant = policies.Grant(
        grant_id=new_grant_id(services),
        key_arn=key.arn,
        grantee_principal=req.grantee_principal,
        operations=frozenset(req.operations),
        constraints=req.constraints,
        retiring_principal=req.retiring_principal,
        name=req.name,
        issuing_account=policies.root_arn(ctx.principal.partition, ctx.principal.account),
        created_at=services.now(),
    )
    access.authorize_key_action(
        services, ctx, "kms:CreateGrant", key, conditions=_grant_conditions(grant), new_grant=grant
    )
    require_state("CreateGrant", key)
    _check_separation_of_duties(ctx, key, grant, req.bypass_separation_of_duties_check)
    if req.name is not None:
        for existing in services.grants.named(key.key_id, req.name):
            if _same_grant(existing, grant):
                # A retry: the same grant, a new token (all its tokens are equivalent).
                _refuse_dry_run(req.dry_run)
                ctx.notes.add_grants([existing.grant_id])
                return {
                    "GrantId": existing.grant_id,
                    "GrantToken": new_token(services, existing.grant_id),
                }
    if services.grants.count_for_key(key.key_id) >= MAX_GRANTS_PER_KEY:
        raise LimitExceededError(
            f"The key {key.arn} has {MAX_GRANTS_PER_KEY} grants, the most a key may have. "
            "Retire or revoke grants that are no longer used."
        )
    _refuse_dry_run(req.dry_run)
    services.grants.insert(key.key_id, grant)
    ctx.notes.add_grants([grant.grant_id])
    return {"GrantId": grant.grant_id, "GrantToken": new_token(services, grant.grant_id)}


def _grant_id(grant_id: str) -> str:
    if not _GRANT_ID.fullmatch(grant_id):
        raise InvalidGrantIdError(f"Invalid grant ID: {grant_id!r} is not a grant ID.")
    return grant_id


def _page(rows: list[tuple[int, policies.Grant]], limit: int) -> dict[str, Any]:
    shown = rows[:limit]
    result: dict[str, Any] = {
        "Grants": [policies.grant_json(grant) for _, grant in shown],
        "Truncated": len(rows) > limit,
    }
    if len(rows) > limit:
        result["NextMarker"] = markers.encode(markers.GRANTS, shown[-1][0])
    return result


def _after(marker: str | None) -> int:
    return 0 if marker is None else markers.decode_position(marker, markers.GRANTS)


@dataclass(frozen=True)
class ListGrantsRequest:
    key_id: str
    limit: int = 50
    marker: str | None = None
    grant_id: str | None = None
    grantee_principal: str | None = None
    grantee_service_principal: str | None = None


@read_only
def list_grants(
    services: Services, ctx: OperationContext, req: ListGrantsRequest
) -> dict[str, Any]:
    key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
    access.authorize_key_action(services, ctx, "kms:ListGrants", key)
    require_state("ListGrants", key)
    if req.grantee_service_principal is not None:
        # No grant here names a service principal (CreateGrant refuses them).
        return {"Grants": [], "Truncated": False}
    grant_id = None if req.grant_id is None else _grant_id(req.grant_id)
    rows = services.grants.list_for_key(
        key.key_id,
        after=_after(req.marker),
        limit=req.limit + 1,
        grant_id=grant_id,
        grantee=req.grantee_principal,
    )
    return _page(rows, req.limit)


@dataclass(frozen=True)
class ListRetirableGrantsRequest:
    retiring_principal: str | None = None
    limit: int = 50
    marker: str | None = None
    retiring_service_principal: str | None = None


@read_only
def list_retirable_grants(
    services: Services, ctx: OperationContext, req: ListRetirableGrantsRequest
) -> dict[str, Any]:
    if req.retiring_principal is None:
        raise ValidationError("RetiringPrincipal is required.", field="RetiringPrincipal")
    principal = _principal(req.retiring_principal, "RetiringPrincipal")
    access.authorize_account_action(
        services, ctx, "kms:ListRetirableGrants", conditions={"kms:RetiringPrincipal": principal}
    )
    if policies.describe_caller(principal).account != ctx.principal.account:
        raise AccessDeniedError(
            f"User: {ctx.principal.arn} is not authorized to list the grants that "
            f"{principal} can retire: it is in another account."
        )
    rows = services.grants.list_retirable(principal, after=_after(req.marker), limit=req.limit + 1)
    return _page(rows, req.limit)


@dataclass(frozen=True)
class RetireGrantRequest:
    grant_token: str | None = field(default=None, repr=False)
    key_id: str | None = None
    grant_id: str | None = None
    dry_run: bool = False


def _retire_target(
    services: Services, ctx: OperationContext, req: RetireGrantRequest
) -> tuple[policies.Grant, Key]:
    if req.grant_token is not None:
        grant = services.grants.get(grant_id_of(req.grant_token))
        if grant is None:
            raise InvalidGrantTokenError("The grant token is not valid.")
        key = services.keys.get_key_by_id(grant.key_arn.rpartition("/")[2])
        if key is None:  # pragma: no cover - a grant is deleted with its key
            raise NotFoundError(f"Grant id {grant.grant_id} not found.")
        return grant, key
    if req.key_id is None or req.grant_id is None:
        raise ValidationError(
            "RetireGrant takes a GrantToken, or a KeyId (the key ARN) with a GrantId.",
            field="GrantToken",
        )
    if not req.key_id.startswith("arn:"):
        raise InvalidArnError("KeyId must be the key ARN when a grant is retired by its id.")
    grant_id = _grant_id(req.grant_id)
    key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
    grant = services.grants.get(grant_id)
    if grant is None or grant.key_arn != key.arn:
        raise NotFoundError(f"Grant id {grant_id} not found.")
    return grant, key


def retire_grant(services: Services, ctx: OperationContext, req: RetireGrantRequest) -> None:
    grant, key = _retire_target(services, ctx, req)
    ctx.notes.add_resource(key.arn)
    ctx.notes.add_grants([grant.grant_id])
    request = access.build_request(services, ctx, "kms:RetireGrant", key.arn, key, None, None)
    evaluation = policies.decide_retire_grant(
        grant, access.identity_policies_of(services, ctx), request
    )
    if not evaluation.allowed:
        raise AccessDeniedError(
            f"User: {ctx.principal.arn} is not authorized to perform: kms:RetireGrant on "
            f"resource: {key.arn}"
        )
    require_state("RetireGrant", key)
    _refuse_dry_run(req.dry_run)
    services.grants.delete(grant.grant_id)


@dataclass(frozen=True)
class RevokeGrantRequest:
    key_id: str
    grant_id: str
    dry_run: bool = False


def revoke_grant(services: Services, ctx: OperationContext, req: RevokeGrantRequest) -> None:
    key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
    grant_id = _grant_id(req.grant_id)
    ctx.notes.add_grants([grant_id])
    access.authorize_key_action(services, ctx, "kms:RevokeGrant", key)
    require_state("RevokeGrant", key)
    grant = services.grants.get(grant_id)
    if grant is None or grant.key_arn != key.arn:
        raise NotFoundError(f"Grant id {grant_id} not found.")
    _refuse_dry_run(req.dry_run)
    services.grants.delete(grant_id)


def constraints_member(
    value: Mapping[str, Mapping[str, str]] | None,
) -> policies.GrantConstraints | None:
    """The ``Constraints`` member as the domain's value (the schema checked its shape)."""
    try:
        return policies.constraints_from_json(value)
    except ValueError as error:
        raise ValidationError(f"Constraints: {error}", field="Constraints") from None
