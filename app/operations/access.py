"""Authorization of every operation, as ARCHITECTURE.md §5 describes it.

A key operation is decided on the key policy, the caller's identity policies
and root delegation: an explicit Deny anywhere wins; otherwise the key policy
must allow the caller directly, or allow the caller's account root while an
identity policy allows the caller. Account-level operations (CreateKey,
ListKeys, ListAliases, GenerateRandom, reading the audit log) are decided on
identity policies alone, and the account root may do them unless denied.

Denials name the principal, the action and the resource, and never which
statement matched or why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import policies
from app.errors import AccessDeniedError, MalformedPolicyDocumentError
from app.keys.model import Key
from app.operations.context import OperationContext
from app.operations.services import Services
from app.store import identity_policies as identity_store

#: Parsed policies by document text. Parsing is a pure function of the text,
#: so a cache keyed by it can never be stale.
_PARSE_CACHE_SIZE = 4096


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parsed_key_policy(document: str) -> policies.Policy:
    return policies.parse_key_policy(document)


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parsed_identity_policy(document: str) -> policies.Policy:
    return policies.parse_identity_policy(document)


def identity_policies_of(ctx: OperationContext) -> list[policies.Policy]:
    documents = identity_store.documents_for([ctx.principal.arn])
    result = []
    for _, document in documents:
        try:
            result.append(parsed_identity_policy(document))
        except policies.PolicyDocumentError:
            # Stored documents were validated on the way in; one that no longer
            # parses (a stricter parser) must fail closed, not be skipped.
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
    and the operation's own keys."""
    principal = ctx.principal
    now = services.now()
    values: dict[str, Any] = {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalType": "Account" if principal.is_root else "User",
        "aws:SecureTransport": ctx.request.secure_transport,
        "aws:CurrentTime": datetime.fromtimestamp(now, UTC),
        "aws:EpochTime": int(now),
        "kms:CallerAccount": principal.account,
    }
    if principal.type == "user" and principal.name:
        values["aws:username"] = principal.name
    for tag_key, tag_value in principal.tags.items():
        values[f"aws:PrincipalTag/{tag_key}"] = tag_value
    if ctx.request.source_ip:
        try:
            values["aws:SourceIp"] = ipaddress.ip_address(ctx.request.source_ip)
        except ValueError:
            pass
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


def _denied(ctx: OperationContext, action: str, resource: str) -> AccessDeniedError:
    return AccessDeniedError(
        f"User: {ctx.principal.arn} is not authorized to perform: {action} on resource: {resource}"
    )


def authorize_key_action(
    services: Services,
    ctx: OperationContext,
    action: str,
    key: Key,
    *,
    conditions: Mapping[str, object] | None = None,
    request_alias: str | None = None,
) -> None:
    """Allow ``action`` on ``key`` or raise :class:`AccessDeniedError`."""
    request = policies.Request(
        principal_arn=ctx.principal.arn,
        principal_account=ctx.principal.account,
        action=action,
        resource=key.arn,
        context=request_context(services, ctx, key, conditions, request_alias),
    )
    evaluation = policies.decide_key_access(
        parsed_key_policy(key.policy),
        identity_policies_of(ctx),
        request,
        key_account=key.account,
    )
    if evaluation.decision is not policies.Decision.ALLOWED:
        raise _denied(ctx, action, key.arn)


def authorize_account_action(
    services: Services,
    ctx: OperationContext,
    action: str,
    *,
    conditions: Mapping[str, object] | None = None,
) -> None:
    """Allow an account-level ``action`` (no key involved) or raise."""
    request = policies.Request(
        principal_arn=ctx.principal.arn,
        principal_account=ctx.principal.account,
        action=action,
        resource="*",
        context=request_context(services, ctx, None, conditions, None),
    )
    evaluation = policies.decide_account_action(
        identity_policies_of(ctx), request, is_root=ctx.principal.is_root
    )
    if evaluation.decision is not policies.Decision.ALLOWED:
        raise _denied(ctx, action, f"arn:{ctx.principal.partition}:kms:*:{ctx.principal.account}:*")
