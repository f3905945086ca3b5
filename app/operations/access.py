"""Authorization of every operation, as docs/policies.md describes it.

A key operation is decided on the key policy, the caller's identity policies,
root delegation and the key's grants: an explicit Deny anywhere wins; otherwise
the key policy must allow the caller directly, or allow the caller's account
root while an identity policy allows the caller, or a grant on the key must
cover the request. Grants are read from the database (never a cache) and only
when no policy allowed: most requests never look. Account-level operations (CreateKey,
ListKeys, ListAliases, GenerateRandom, reading the audit log) are decided on
identity policies alone, and the account root may do them unless denied.

Denials name the principal, the action and the resource, and never which
statement matched or why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import policies
from app.errors import AccessDeniedError, MalformedPolicyDocumentError, ValidationError
from app.keys.model import Key
from app.operations.context import OperationContext
from app.operations.services import Services

#: Parsed policies by document text. Parsing is a pure function of the text
#: (and the arguments), so a cache keyed by them can never be stale.
_PARSE_CACHE_SIZE = 4096


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parsed_key_policy(
    document: str, partition: str = "aws", *, strict: bool = False
) -> policies.Policy:
    """A key policy. ``strict`` for a new document (CreateKey, PutKeyPolicy); a stored
    one is read without the name checks added after it may have been stored (unknown
    actions and condition keys), so that those checks never lock a key out."""
    return policies.parse_policy(
        document, policies.PolicyKind.KEY, source="key-policy", partition=partition, strict=strict
    )


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parsed_identity_policy(
    document: str, name: str, partition: str = "aws", *, strict: bool = False
) -> policies.Policy:
    """An identity policy; ``strict`` as for :func:`parsed_key_policy`."""
    return policies.parse_policy(
        document, policies.PolicyKind.IDENTITY, source=name, partition=partition, strict=strict
    )


def identity_policies_of(services: Services, ctx: OperationContext) -> list[policies.Policy]:
    documents = services.identity_policies.documents_for(ctx.principal.arn)
    result = []
    for name, document in documents:
        try:
            result.append(parsed_identity_policy(document, name, ctx.principal.partition))
        except policies.PolicyDocumentError:
            # Stored documents were validated on the way in; one that no longer
            # parses (a stricter grammar) must fail closed, not be skipped. (The
            # name checks are not applied on the way out: see parsed_key_policy.)
            raise MalformedPolicyDocumentError(
                "An identity policy of the caller is no longer valid."
            ) from None
    return result


def request_tag_conditions(tags: Mapping[str, str]) -> dict[str, object]:
    conditions: dict[str, object] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    conditions["aws:TagKeys"] = sorted(tags)
    return conditions


def request_context(
    services: Services,
    ctx: OperationContext,
    key: Key | None,
    conditions: Mapping[str, object] | None,
    request_alias: str | None,
) -> dict[str, Any]:
    """The condition keys of a request: AWS's globals, the key's properties
    and the operation's own keys. (The keys that follow from the caller's
    identity, such as ``aws:PrincipalArn`` and ``aws:PrincipalTag/*``, are
    derived by :class:`policies.Request` itself.)"""
    now = services.now()
    values: dict[str, Any] = {
        "aws:SecureTransport": ctx.request.secure_transport,
        "aws:CurrentTime": datetime.fromtimestamp(now, UTC),
        "aws:EpochTime": int(now),
    }
    if ctx.request.source_ip:
        source_ip = _ip_address(ctx.request.source_ip)
        if source_ip is not None:
            values["aws:SourceIp"] = source_ip
    if key is not None:
        values["kms:KeySpec"] = key.key_spec
        values["kms:KeyUsage"] = key.key_usage
        values["kms:KeyOrigin"] = key.origin
        values["kms:MultiRegion"] = False
        for tag_key, tag_value in key.tags.items():
            values[f"aws:ResourceTag/{tag_key}"] = tag_value
    if request_alias is not None:
        values["kms:RequestAlias"] = request_alias
    if conditions:
        values.update(conditions)
    return values


@lru_cache(maxsize=1024)
def _ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address parsed (cached: clients repeat, addresses are
    immutable), or ``None`` if it is not one."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def build_request(
    services: Services,
    ctx: OperationContext,
    action: str,
    resource: str,
    key: Key | None,
    conditions: Mapping[str, object] | None,
    request_alias: str | None,
) -> policies.Request:
    try:
        return policies.Request(
            principal=ctx.principal.arn,
            action=action,
            resource=resource,
            principal_account=ctx.principal.account,
            principal_tags=dict(ctx.principal.tags),
            context=request_context(services, ctx, key, conditions, request_alias),
        )
    except policies.ContextError as exc:
        # e.g. two encryption context keys that differ only by case: a policy
        # could not tell which one a condition means, so the request is refused.
        raise ValidationError(f"The request cannot be authorized as given: {exc}") from None


def _denied(ctx: OperationContext, action: str, resource: str) -> AccessDeniedError:
    return AccessDeniedError(
        f"User: {ctx.principal.arn} is not authorized to perform: {action} on resource: {resource}"
    )


def grants_for(
    services: Services, key: Key, request: policies.Request
) -> Callable[[], Sequence[policies.Grant]]:
    """The key's grants that could name the caller (itself, its role, its
    account), read only if the decision comes to grants."""
    caller = request.caller
    grantees = [arn for arn in (caller.arn, caller.role_arn, caller.account_root) if arn]
    return lambda: services.grants.for_grantees(key.key_id, grantees)


def authorize_key_action(
    services: Services,
    ctx: OperationContext,
    action: str,
    key: Key,
    *,
    conditions: Mapping[str, object] | None = None,
    request_alias: str | None = None,
    new_grant: policies.Grant | None = None,
) -> policies.Evaluation:
    """Allow ``action`` on ``key`` or raise :class:`AccessDeniedError`.

    ``new_grant`` is the grant a CreateGrant request would create: a grant
    allows CreateGrant only for grants no wider than itself."""
    request = build_request(services, ctx, action, key.arn, key, conditions, request_alias)
    evaluation = policies.decide_key_access(
        parsed_key_policy(key.policy, ctx.principal.partition),
        identity_policies_of(services, ctx),
        request,
        key.account,
        grants=grants_for(services, key, request),
        new_grant=new_grant,
    )
    ctx.notes.add_resource(key.arn)
    ctx.notes.decision_sids.extend(
        ref.sid or f"#{ref.index}" for ref in evaluation.decisive_statements
    )
    ctx.notes.add_grants(evaluation.decisive_grants)
    if not evaluation.allowed:
        raise _denied(ctx, action, key.arn)
    return evaluation


def authorize_account_action(
    services: Services,
    ctx: OperationContext,
    action: str,
    *,
    conditions: Mapping[str, object] | None = None,
    resource: str = "*",
) -> None:
    """Allow an account-level ``action`` (no key involved) or raise."""
    request = build_request(services, ctx, action, resource, None, conditions, None)
    evaluation = policies.decide_account_action(
        identity_policies_of(services, ctx), request, is_root=ctx.principal.is_root
    )
    ctx.notes.decision_sids.extend(
        ref.sid or f"#{ref.index}" for ref in evaluation.decisive_statements
    )
    if not evaluation.allowed:
        shown = (
            resource
            if resource != "*"
            else f"arn:{ctx.principal.partition}:kms:*:{ctx.principal.account}:*"
        )
        raise _denied(ctx, action, shown)
