"""``/v1/access-keys``: the caller's SigV4 access keys (the secret is shown once)."""

from __future__ import annotations

from app.operations import access_keys
from app.pipeline.route import Route
from app.schemas.access_keys import (
    AccessKeySchema,
    CreateAccessKeySchema,
    ListAccessKeysSchema,
)

ROUTES = (
    Route(
        "CreateAccessKey",
        access_keys.create_access_key,
        CreateAccessKeySchema,
        "POST",
        "/v1/access-keys",
        "Create a SigV4 access key for the caller; the response is the only place the "
        "secret is ever shown.",
        produces={"AccessKeyId": "$response.body#/AccessKey/AccessKeyId"},
    ),
    Route(
        "ListAccessKeys",
        access_keys.list_access_keys,
        ListAccessKeysSchema,
        "GET",
        "/v1/access-keys",
        "The caller's access keys (ids and dates, never secrets); the account root may "
        "name another principal of its account with ?PrincipalArn=.",
        members="query",
    ),
    Route(
        "DeleteAccessKey",
        access_keys.delete_access_key,
        AccessKeySchema,
        "DELETE",
        "/v1/access-keys/<access_key_id>",
        "Delete one of the caller's access keys (the account root: any key of its account).",
        members="none",
    ),
)
