"""Request schemas for ``/v1/access-keys``."""

from __future__ import annotations

from typing import Any

from marshmallow import post_load

from app.api.schemas.base import StrictSchema, Text
from app.operations import access_keys

ACCESS_KEY_ID_PATTERN = r"[\w]+"


class CreateAccessKeySchema(StrictSchema):
    """No members: a key is always created for the caller itself."""


class ListAccessKeysSchema(StrictSchema):
    principal_arn = Text(min_length=20, max_length=2048, data_key="PrincipalArn")

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> access_keys.ListAccessKeysRequest:
        return access_keys.ListAccessKeysRequest(**data)


class AccessKeySchema(StrictSchema):
    access_key_id = Text(
        required=True,
        min_length=16,
        max_length=128,
        pattern=ACCESS_KEY_ID_PATTERN,
        data_key="AccessKeyId",
    )

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> access_keys.AccessKeyRequest:
        return access_keys.AccessKeyRequest(**data)
