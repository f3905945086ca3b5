"""Identity: who the caller is, and the identity policies of principals.

Identity policies are IAM-style policies attached to a principal ARN of an
account. They are managed by the account root, or by whoever an identity
policy allows ``iam:PutPrincipalPolicy`` / ``iam:GetPrincipalPolicy`` /
``iam:DeletePrincipalPolicy`` / ``iam:ListPrincipalPolicies`` on that ARN.
Principals are named by ARN, not by a registry: any well-formed ARN of the
caller's account may be given a policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import policies
from app.errors import (
    LimitExceededError,
    MalformedPolicyDocumentError,
    NotFoundError,
    ValidationError,
)
from app.operations import access
from app.operations.context import OperationContext
from app.operations.kinds import read_only
from app.operations.policy_documents import issue_text
from app.operations.services import Services

PRINCIPAL_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):"
    r"(root|user/[\w+=,.@-]{1,64}|role/[\w+=,.@-]{1,64})$"
)
POLICY_NAME_RE = re.compile(r"^[\w+=,.@-]{1,128}$")
MAX_POLICIES_PER_PRINCIPAL = 10


@read_only
def whoami(services: Services, ctx: OperationContext, _: None) -> dict[str, Any]:
    return ctx.principal.as_dict()


@dataclass(frozen=True)
class PrincipalPolicyRequest:
    principal_arn: str
    policy_name: str | None = None
    policy_document: str | None = None


def _target(services: Services, ctx: OperationContext, arn: str, action: str) -> None:
    match = PRINCIPAL_ARN_RE.match(arn)
    if match is None or match["partition"] != services.settings.partition:
        raise ValidationError(
            f"{arn} is not a principal ARN of this partition.", field="PrincipalArn"
        )
    if match["account"] != ctx.principal.account:
        raise ValidationError(
            "Identity policies can only be attached to principals of the caller's account.",
            field="PrincipalArn",
        )
    access.authorize_account_action(services, ctx, action, resource=arn)
    ctx.notes.add_resource(arn)


def _name(name: str | None) -> str:
    if name is None or not POLICY_NAME_RE.match(name):
        raise ValidationError(
            "PolicyName must be 1-128 characters of [\\w+=,.@-].", field="PolicyName"
        )
    return name


def put_principal_policy(
    services: Services, ctx: OperationContext, req: PrincipalPolicyRequest
) -> None:
    name = _name(req.policy_name)
    document = req.policy_document or ""
    _target(services, ctx, req.principal_arn, "iam:PutPrincipalPolicy")
    try:
        access.parsed_identity_policy(document, name, services.settings.partition, strict=True)
    except policies.PolicyTooLargeError:
        raise LimitExceededError(
            "The identity policy is larger than the 32768-byte quota."
        ) from None
    except policies.PolicyError as exc:
        raise MalformedPolicyDocumentError(issue_text(exc.issues[0])) from None
    with services.unit_of_work():
        existing = services.identity_policies.names(req.principal_arn)
        if name not in existing and len(existing) >= MAX_POLICIES_PER_PRINCIPAL:
            raise LimitExceededError(
                f"A principal can have at most {MAX_POLICIES_PER_PRINCIPAL} identity policies."
            )
        services.identity_policies.put(
            ctx.principal.account, req.principal_arn, name, document, services.now()
        )


@read_only
def get_principal_policy(
    services: Services, ctx: OperationContext, req: PrincipalPolicyRequest
) -> dict[str, Any]:
    name = _name(req.policy_name)
    _target(services, ctx, req.principal_arn, "iam:GetPrincipalPolicy")
    document = services.identity_policies.get(req.principal_arn, name)
    if document is None:
        raise NotFoundError(f"No policy {name} is attached to {req.principal_arn}.")
    return {"PrincipalArn": req.principal_arn, "PolicyName": name, "PolicyDocument": document}


def delete_principal_policy(
    services: Services, ctx: OperationContext, req: PrincipalPolicyRequest
) -> None:
    name = _name(req.policy_name)
    _target(services, ctx, req.principal_arn, "iam:DeletePrincipalPolicy")
    with services.unit_of_work():
        if not services.identity_policies.delete(req.principal_arn, name):
            raise NotFoundError(f"No policy {name} is attached to {req.principal_arn}.")


@read_only
def list_principal_policies(
    services: Services, ctx: OperationContext, req: PrincipalPolicyRequest
) -> dict[str, Any]:
    _target(services, ctx, req.principal_arn, "iam:ListPrincipalPolicies")
    return {
        "PrincipalArn": req.principal_arn,
        "PolicyNames": services.identity_policies.names(req.principal_arn),
    }
