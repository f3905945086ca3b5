"""Key policies: the policy a new key gets, GetKeyPolicy, PutKeyPolicy,
ListKeyPolicies, and the checks every new key policy passes.

Checks, in order: size (32 KiB, LimitExceededException), the grammar,
including the names of actions and condition keys
(MalformedPolicyDocumentException with the JSON pointer and line/column of
the first problem), the separation-of-duties check (no principal but the
account root may both manage and use the key, unless
``BypassSeparationOfDutiesCheck``), and the lockout safety check (the caller
must keep ``kms:PutKeyPolicy`` under the new policy, unless
``BypassPolicyLockoutSafetyCheck``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import policies
from app import markers
from app.errors import (
    LimitExceededError,
    MalformedPolicyDocumentError,
    NotFoundError,
    ValidationError,
)
from app.keys.model import Key, require_state
from app.operations import access
from app.operations.context import OperationContext
from app.operations.key_updates import apply_changes
from app.operations.kinds import read_only
from app.operations.repositories import IdentityPolicyRepository, KeyRepository
from app.operations.resolve import resolve_key
from app.operations.services import Services

if TYPE_CHECKING:
    from app.operations.keys import CreateKeyRequest

POLICY_NAME = "default"
_TEMPLATE_FIELDS = {"administrators": "Administrators", "users": "Users"}
LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."


def issue_text(issue: policies.Issue) -> str:
    return f"{issue.message} (at {issue.pointer or '/'}, line {issue.line} column {issue.column})"


def parse_new_key_policy(document: str, partition: str) -> policies.Policy:
    try:
        return access.parsed_key_policy(document, partition, strict=True)
    except policies.PolicyTooLargeError:
        raise LimitExceededError(
            "The key policy is larger than the 32768-byte quota for key policies."
        ) from None
    except policies.PolicyError as exc:
        raise MalformedPolicyDocumentError(issue_text(exc.issues[0])) from None


def check_new_key_policy(
    services: Services,
    ctx: OperationContext,
    *,
    document: str,
    key_arn: str,
    key_account: str,
    bypass_lockout: bool,
    bypass_separation_of_duties: bool,
) -> None:
    policy = parse_new_key_policy(document, ctx.principal.partition)
    if not bypass_separation_of_duties:
        violations = policies.separation_of_duties_violations(policy)
        if violations:
            raise MalformedPolicyDocumentError(
                f"{violations[0].message} Set BypassSeparationOfDutiesCheck to allow it."
            )
    if not bypass_lockout:
        request = access.build_request(services, ctx, "kms:PutKeyPolicy", key_arn, None, None, None)
        evaluation = policies.decide_key_access(
            policy, access.identity_policies_of(services, ctx), request, key_account
        )
        if not evaluation.allowed:
            raise MalformedPolicyDocumentError(LOCKOUT_MESSAGE)


def policy_for_new_key(
    services: Services, ctx: OperationContext, req: CreateKeyRequest, key_arn: str
) -> str:
    """The policy document a new key starts with: the caller's ``Policy``
    (checked), the administrators/users template, or AWS's default policy."""
    settings = services.settings
    account = ctx.principal.account
    shortcut = req.administrators is not None or req.users is not None
    if req.policy is not None:
        if shortcut:
            raise ValidationError(
                "Give either Policy or Administrators/Users, not both.", field="Policy"
            )
        check_new_key_policy(
            services,
            ctx,
            document=req.policy,
            key_arn=key_arn,
            key_account=account,
            bypass_lockout=req.bypass_policy_lockout_safety_check,
            bypass_separation_of_duties=req.bypass_separation_of_duties_check,
        )
        return req.policy
    if shortcut:
        administrators = list(req.administrators or [])
        users = list(req.users or [])
        both = sorted(set(administrators) & set(users))
        if both:
            # The template never gives one principal both roles; a key that
            # needs that must say so in its own Policy (and bypass the check).
            raise MalformedPolicyDocumentError(
                f"{both[0]} is both a key administrator and a key user; the "
                "administrators/users template keeps the two apart."
            )
        # The template always keeps the root delegation statement, so the
        # account root can always repair the policy: no lockout is possible.
        try:
            return policies.administrators_users_policy(
                settings.partition, account, administrators, users
            )
        except policies.TemplatePrincipalError as exc:
            field = _TEMPLATE_FIELDS.get(exc.role, "Administrators and Users")
            raise MalformedPolicyDocumentError(
                f"Invalid principal in {field}: {exc.principal!r} {exc.reason}."
            ) from None
    return policies.default_key_policy(settings.partition, account)


@dataclass(frozen=True)
class GetKeyPolicyRequest:
    key_id: str
    policy_name: str = POLICY_NAME


def _policy_name(name: str) -> None:
    if name != POLICY_NAME:
        raise NotFoundError("No such policy exists")


@read_only
def get_key_policy(
    services: Services, ctx: OperationContext, req: GetKeyPolicyRequest
) -> dict[str, Any]:
    key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
    access.authorize_key_action(services, ctx, "kms:GetKeyPolicy", key)
    _policy_name(req.policy_name)
    return {"Policy": key.policy, "PolicyName": POLICY_NAME}


@dataclass(frozen=True)
class PutKeyPolicyRequest:
    key_id: str
    policy: str
    policy_name: str = POLICY_NAME
    bypass_policy_lockout_safety_check: bool = False
    bypass_separation_of_duties_check: bool = False


def put_key_policy(services: Services, ctx: OperationContext, req: PutKeyPolicyRequest) -> None:
    with services.unit_of_work():
        key: Key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
        access.authorize_key_action(
            services,
            ctx,
            "kms:PutKeyPolicy",
            key,
            conditions={
                "kms:BypassPolicyLockoutSafetyCheck": req.bypass_policy_lockout_safety_check
            },
        )
        require_state("PutKeyPolicy", key)
        _policy_name(req.policy_name)
        check_new_key_policy(
            services,
            ctx,
            document=req.policy,
            key_arn=key.arn,
            key_account=key.account,
            bypass_lockout=req.bypass_policy_lockout_safety_check,
            bypass_separation_of_duties=req.bypass_separation_of_duties_check,
        )
        apply_changes(services, key, policy=req.policy)


@dataclass(frozen=True)
class ListKeyPoliciesRequest:
    key_id: str
    limit: int = 100
    marker: str | None = None


@read_only
def list_key_policies(
    services: Services, ctx: OperationContext, req: ListKeyPoliciesRequest
) -> dict[str, Any]:
    key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
    access.authorize_key_action(services, ctx, "kms:ListKeyPolicies", key)
    names = [POLICY_NAME]
    if req.marker is not None:
        after = markers.decode(req.marker, markers.POLICIES)
        names = [name for name in names if name > after]
    page = names[: req.limit]
    result: dict[str, Any] = {"PolicyNames": page, "Truncated": len(names) > req.limit}
    if result["Truncated"]:
        result["NextMarker"] = markers.encode(markers.POLICIES, page[-1])
    return result


@dataclass(frozen=True)
class StaleDocument:
    """A stored policy that a write would refuse today (see
    :func:`stored_documents_refused_now`)."""

    #: ``key policy of <key ARN>`` or ``identity policy <name> of <principal ARN>``.
    where: str
    #: The first problem, with its JSON pointer.
    problem: str


def stored_documents_refused_now(
    keys: KeyRepository, identity_policies: IdentityPolicyRepository, partition: str
) -> list[StaleDocument]:
    """Stored key and identity policies that the checks of a write would now
    refuse (names of actions and condition keys added since they were stored).

    They are enforced as stored, read without those checks so that no key is
    locked out; but a Deny whose condition key is misspelt never matches, so
    an operator must be told which ones to rewrite."""
    found: list[StaleDocument] = []
    for arn, document in keys.all_key_policies():
        problem = _refused(document, policies.PolicyKind.KEY, partition)
        if problem is not None:
            found.append(StaleDocument(f"key policy of {arn}", problem))
    for principal_arn, name, document in identity_policies.all_documents():
        problem = _refused(document, policies.PolicyKind.IDENTITY, partition)
        if problem is not None:
            found.append(StaleDocument(f"identity policy {name} of {principal_arn}", problem))
    return found


def _refused(document: str, kind: policies.PolicyKind, partition: str) -> str | None:
    try:
        policies.parse_policy(document, kind, partition=partition, strict=True)
    except policies.PolicyError as exc:
        issue = exc.issues[0]
        return f"{issue.message} (at {issue.pointer or '/'})"
    except policies.PolicyDocumentError as exc:
        return str(exc)
    return None
