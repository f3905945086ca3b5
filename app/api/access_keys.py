"""``/v1/access-keys``: the caller's SigV4 access keys (the secret is shown once)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from app.api.endpoint import call, json_body, require_principal
from app.api.openapi import documented
from app.api.schemas.access_keys import (
    AccessKeySchema,
    CreateAccessKeySchema,
    ListAccessKeysSchema,
)
from app.errors import ValidationError
from app.operations import access_keys

blueprint = Blueprint("access_keys", __name__)
blueprint.before_request(require_principal)


def _query(*names: str) -> dict[str, str]:
    unknown = set(request.args) - set(names)
    if unknown:
        raise ValidationError(f"Unknown query parameter {sorted(unknown)[0]!r}.")
    result: dict[str, str] = {}
    for name in names:
        values = request.args.getlist(name)
        if len(values) > 1:
            raise ValidationError(f"The query parameter {name!r} is given more than once.")
        if values:
            result[name] = values[0]
    return result


@blueprint.post("/v1/access-keys")
@documented(
    "POST",
    "/v1/access-keys",
    "CreateAccessKey",
    "Create a SigV4 access key for the caller; the response is the only place the "
    "secret is ever shown.",
    CreateAccessKeySchema,
    produces={"AccessKeyId": "$response.body#/AccessKey/AccessKeyId"},
)
def create_access_key() -> Response:
    return call(access_keys.create_access_key, CreateAccessKeySchema(), json_body())


@blueprint.get("/v1/access-keys")
@documented(
    "GET",
    "/v1/access-keys",
    "ListAccessKeys",
    "The caller's access keys (ids and dates, never secrets); the account root may "
    "name another principal of its account with ?PrincipalArn=.",
    ListAccessKeysSchema,
    members="query",
)
def list_access_keys() -> Response:
    return call(access_keys.list_access_keys, ListAccessKeysSchema(), _query("PrincipalArn"))


@blueprint.delete("/v1/access-keys/<access_key_id>")
@documented(
    "DELETE",
    "/v1/access-keys/{AccessKeyId}",
    "DeleteAccessKey",
    "Delete one of the caller's access keys (the account root: any key of its account).",
    AccessKeySchema,
    members="none",
)
def delete_access_key(access_key_id: str) -> Response:
    _query()
    return call(access_keys.delete_access_key, AccessKeySchema(), {"AccessKeyId": access_key_id})
