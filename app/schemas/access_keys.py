"""Request schemas for ``/v1/access-keys``."""

from __future__ import annotations

from app.operations import access_keys
from app.schemas.base import RequestSchema, StrictSchema, Text

ACCESS_KEY_ID_PATTERN = r"[\w]+"


class CreateAccessKeySchema(StrictSchema):
    """No members: a key is always created for the caller itself."""


class ListAccessKeysSchema(RequestSchema):
    builds = access_keys.ListAccessKeysRequest

    principal_arn = Text(min_length=20, max_length=2048, data_key="PrincipalArn")


class AccessKeySchema(RequestSchema):
    builds = access_keys.AccessKeyRequest

    access_key_id = Text(
        required=True,
        min_length=16,
        max_length=128,
        pattern=ACCESS_KEY_ID_PATTERN,
        data_key="AccessKeyId",
    )
