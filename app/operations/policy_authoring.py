"""Tools for policy authors: validate (with lint findings) and simulate.

Both are pure computations on documents the caller sends; they read the
service's state only when a simulation names a stored key (``KeyId``), and
then only after ``kms:GetKeyPolicy`` on that key is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import policies
from app.errors import AccessDeniedError, LimitExceededError, ValidationError
from app.keys.model import Key
from app.operations import access
from app.operations.context import OperationContext
from app.operations.kinds import read_only
from app.operations.resolve import resolve_key
from app.operations.services import Services


def _issue(issue: policies.Issue) -> dict[str, Any]:
    return {
        "Code": issue.code,
        "Message": issue.message,
        "Pointer": issue.pointer,
        "Line": issue.line,
        "Column": issue.column,
    }


def _finding(finding: policies.Finding) -> dict[str, Any]:
    return {
        "Code": finding.code,
        "Severity": str(finding.severity),
        "Message": finding.message,
        "Pointer": finding.pointer,
        "Line": finding.line,
        "Column": finding.column,
    }


@dataclass(frozen=True)
class ValidatePolicyRequest:
    policy: str
    policy_type: str = "KEY"


@read_only
def validate_policy(
    services: Services, ctx: OperationContext, req: ValidatePolicyRequest
) -> dict[str, Any]:
    kind = policies.PolicyKind.KEY if req.policy_type == "KEY" else policies.PolicyKind.IDENTITY
    try:
        parsed = policies.parse_policy(
            req.policy, kind, source="policy", partition=services.settings.partition
        )
    except policies.PolicyTooLargeError as exc:
        raise LimitExceededError(str(exc)) from None
    except policies.PolicyError as exc:
        return {"Valid": False, "Errors": [_issue(i) for i in exc.issues], "Findings": []}
    findings = policies.lint_policy(parsed)
    return {"Valid": True, "Errors": [], "Findings": [_finding(f) for f in findings]}


@dataclass(frozen=True)
class SimulatePolicyRequest:
    principal: str
    actions: list[str]
    policy: str | None = None
    key_id: str | None = None
    identity_policies: dict[str, str] = field(default_factory=dict)
    principal_tags: dict[str, str] = field(default_factory=dict)
    resource: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    #: Grants in AWS's ``GrantListEntry`` shape; ``None``: with ``KeyId``, the
    #: key's own grants for the principal (if the caller may list them).
    grants: list[dict[str, Any]] | None = None


@read_only
def simulate_policy(
    services: Services, ctx: OperationContext, req: SimulatePolicyRequest
) -> dict[str, Any]:
    if (req.policy is None) == (req.key_id is None):
        raise ValidationError("Give exactly one of Policy and KeyId.", field="Policy")
    document = req.policy
    resource = req.resource
    key_account = None
    grants: list[policies.Grant | dict[str, Any]] = list(req.grants or [])
    if req.key_id is not None:
        key = resolve_key(services, ctx, req.key_id, allow_alias=True).key
        access.authorize_key_action(services, ctx, "kms:GetKeyPolicy", key)
        document = key.policy
        resource = resource or key.arn
        key_account = key.account
        if req.grants is None:
            grants = list(_stored_grants(services, ctx, key, req.principal))
    try:
        return policies.simulate(
            document,
            dict(req.identity_policies),
            req.principal,
            req.actions,
            resource,
            req.context,
            principal_tags=req.principal_tags,
            key_account=key_account,
            grants=grants,
        )
    except policies.PolicyTooLargeError as exc:
        raise LimitExceededError(str(exc)) from None
    except policies.PolicyError as exc:
        first = exc.issues[0]
        raise ValidationError(
            f"A policy is not valid: {first.message} (at {first.pointer or '/'}, "
            f"line {first.line} column {first.column})",
            field="Policy",
        ) from None
    except ValueError as exc:
        # ContextError, unknown action patterns, grants that cannot be: the caller's input.
        raise ValidationError(str(exc)) from None


def _stored_grants(
    services: Services, ctx: OperationContext, key: Key, principal: str
) -> list[policies.Grant]:
    """The key's grants that could name ``principal``, when the caller may list the
    key's grants (otherwise none: the simulation then shows policies alone)."""
    try:
        access.authorize_key_action(services, ctx, "kms:ListGrants", key)
    except AccessDeniedError:
        return []
    try:
        caller = policies.describe_caller(principal)
    except ValueError:
        return []
    grantees = [arn for arn in (caller.arn, caller.role_arn, caller.account_root) if arn]
    return services.grants.for_grantees(key.key_id, grantees)
