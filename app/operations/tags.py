"""Tags: TagResource, UntagResource, ListResourceTags, with AWS's limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import TagError
from app.keys.model import require_state
from app.operations.access import authorize_key_action, request_tag_conditions
from app.operations.context import OperationContext
from app.operations.kinds import read_only
from app.operations.resolve import resolve_key
from app.operations.services import Services

MAX_TAGS_PER_KEY = 50


def validate_new_tags(
    tags: Sequence[tuple[str, str]], *, existing: Mapping[str, str]
) -> dict[str, str]:
    """The tags as a map, after AWS's checks: no duplicates, no ``aws:``
    prefix, at most 50 on the key once applied."""
    result: dict[str, str] = {}
    for tag_key, tag_value in tags:
        if tag_key in result:
            raise TagError("Duplicate tag keys")
        if tag_key.lower().startswith("aws:"):
            raise TagError("Tags beginning with aws: are reserved")
        result[tag_key] = tag_value
    if len(set(existing) | set(result)) > MAX_TAGS_PER_KEY:
        raise TagError("Too many tags")
    return result


@dataclass(frozen=True)
class TagResourceRequest:
    key_id: str
    tags: list[tuple[str, str]]


def tag_resource(services: Services, ctx: OperationContext, req: TagResourceRequest) -> None:
    with services.unit_of_work():
        key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
        tags = validate_new_tags(req.tags, existing={})
        authorize_key_action(
            services, ctx, "kms:TagResource", key, conditions=request_tag_conditions(tags)
        )
        require_state("TagResource", key)
        validate_new_tags(req.tags, existing=key.tags)
        services.keys.replace_tags(key.key_id, tags)


@dataclass(frozen=True)
class UntagResourceRequest:
    key_id: str
    tag_keys: list[str]


def untag_resource(services: Services, ctx: OperationContext, req: UntagResourceRequest) -> None:
    with services.unit_of_work():
        key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
        authorize_key_action(
            services, ctx, "kms:UntagResource", key, conditions={"aws:TagKeys": list(req.tag_keys)}
        )
        require_state("UntagResource", key)
        services.keys.remove_tags(key.key_id, req.tag_keys)


@dataclass(frozen=True)
class ListResourceTagsRequest:
    key_id: str
    limit: int = 50
    marker: str | None = None


@read_only
def list_resource_tags(
    services: Services, ctx: OperationContext, req: ListResourceTagsRequest
) -> dict[str, Any]:
    key = resolve_key(services, ctx, req.key_id, allow_alias=False).key
    authorize_key_action(services, ctx, "kms:ListResourceTags", key)
    page, next_marker = services.keys.list_tags(key.key_id, req.limit, req.marker)
    result: dict[str, Any] = {
        "Tags": [{"TagKey": k, "TagValue": v} for k, v in page],
        "Truncated": next_marker is not None,
    }
    if next_marker is not None:
        result["NextMarker"] = next_marker
    return result
