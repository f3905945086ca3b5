"""Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

Authorization: AWS asks for the alias action on the alias (an IAM policy) and
on the key (its key policy). Trent decides alias operations on the key, with
the key policy, root delegation and identity policies as for any key
operation, so that key administrators named in a key policy can manage its
aliases without a separate identity policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.errors import InvalidStateError, LimitExceededError, NotFoundError, ValidationError
from app.keys.identifiers import ALIAS_ARN_RE, alias_arn, validate_alias_name
from app.keys.model import Alias, Key, KeyState, require_state
from app.operations import access
from app.operations.context import OperationContext
from app.operations.kinds import read_only
from app.operations.resolve import resolve_key
from app.operations.services import Services

MAX_ALIASES_PER_KEY = 50


def _arn(services: Services, account: str, name: str) -> str:
    return alias_arn(services.settings.partition, services.settings.region, account, name)


def _require_key_target(target_key_id: str) -> None:
    """An alias names a key, never another alias (AWS's ValidationException)."""
    if target_key_id.startswith("alias/") or ALIAS_ARN_RE.match(target_key_id):
        raise ValidationError("Aliases must refer to keys. Not aliases", field="TargetKeyId")


@dataclass(frozen=True)
class CreateAliasRequest:
    alias_name: str
    target_key_id: str


def create_alias(services: Services, ctx: OperationContext, req: CreateAliasRequest) -> None:
    validate_alias_name(req.alias_name)
    _require_key_target(req.target_key_id)
    with services.unit_of_work():
        key = resolve_key(services, ctx, req.target_key_id, allow_alias=False).key
        access.authorize_key_action(services, ctx, "kms:CreateAlias", key)
        require_state("CreateAlias", key)
        if services.keys.count_aliases(key.key_id) >= MAX_ALIASES_PER_KEY:
            raise LimitExceededError(
                f"The key {key.arn} already has {MAX_ALIASES_PER_KEY} aliases."
            )
        now = services.now()
        services.keys.insert_alias(
            Alias(key.account, req.alias_name, key.key_id, now, now),
            _arn(services, key.account, req.alias_name),
        )


@dataclass(frozen=True)
class UpdateAliasRequest:
    alias_name: str
    target_key_id: str


def update_alias(services: Services, ctx: OperationContext, req: UpdateAliasRequest) -> None:
    validate_alias_name(req.alias_name)
    _require_key_target(req.target_key_id)
    account = ctx.principal.account
    with services.unit_of_work():
        alias = _existing_alias(services, account, req.alias_name)
        current = services.keys.get_key(account, alias.key_id)
        new = resolve_key(services, ctx, req.target_key_id, allow_alias=False).key
        if current is None:  # pragma: no cover - alias rows go with their key
            raise NotFoundError(f"Alias {_arn(services, account, req.alias_name)} is not found.")
        access.authorize_key_action(services, ctx, "kms:UpdateAlias", current)
        access.authorize_key_action(services, ctx, "kms:UpdateAlias", new)
        if new.state is KeyState.PENDING_DELETION:
            raise InvalidStateError(f"{new.arn} is pending deletion.")
        _require_same_type(current, new)
        services.keys.retarget_alias(account, req.alias_name, new.key_id, services.now())


def _require_same_type(current: Key, new: Key) -> None:
    if (current.key_spec, current.key_usage) != (new.key_spec, new.key_usage):
        raise ValidationError(
            "An alias can only be moved to a key of the same type and key usage.",
            field="TargetKeyId",
        )


@dataclass(frozen=True)
class DeleteAliasRequest:
    alias_name: str


def delete_alias(services: Services, ctx: OperationContext, req: DeleteAliasRequest) -> None:
    validate_alias_name(req.alias_name)
    account = ctx.principal.account
    with services.unit_of_work():
        alias = _existing_alias(services, account, req.alias_name)
        key = services.keys.get_key(account, alias.key_id)
        if key is not None:
            access.authorize_key_action(services, ctx, "kms:DeleteAlias", key)
        services.keys.delete_alias(account, req.alias_name)


def _existing_alias(services: Services, account: str, name: str) -> Alias:
    alias = services.keys.get_alias(account, name)
    if alias is None:
        raise NotFoundError(f"Alias {_arn(services, account, name)} is not found.")
    return alias


@dataclass(frozen=True)
class ListAliasesRequest:
    key_id: str | None = None
    limit: int = 50
    marker: str | None = None


@read_only
def list_aliases(
    services: Services, ctx: OperationContext, req: ListAliasesRequest
) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, "kms:ListAliases")
    account = ctx.principal.account
    key_id = None
    if req.key_id is not None:
        key_id = resolve_key(services, ctx, req.key_id, allow_alias=False).key.key_id
    page, next_marker = services.keys.list_aliases(account, key_id, req.limit, req.marker)
    result: dict[str, Any] = {
        "Aliases": [
            {
                "AliasName": a.name,
                "AliasArn": _arn(services, account, a.name),
                "TargetKeyId": a.key_id,
                "CreationDate": a.created_at,
                "LastUpdatedDate": a.updated_at,
            }
            for a in page
        ],
        "Truncated": next_marker is not None,
    }
    if next_marker is not None:
        result["NextMarker"] = next_marker
    return result
