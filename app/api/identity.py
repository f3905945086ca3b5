"""``/v1/whoami`` and identity policies under ``/v1/principals``."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.endpoint import call, json_body, require_principal
from app.api.openapi import documented
from app.api.schemas.base import schema
from app.api.schemas.identity import PrincipalPolicySchema, PutPrincipalPolicySchema
from app.operations import identity

blueprint = Blueprint("identity", __name__)
blueprint.before_request(require_principal)

P = "/v1/principals/{PrincipalArn}/policies"


@blueprint.get("/v1/whoami")
@documented("GET", "/v1/whoami", "WhoAmI", "The caller's principal as Trent sees it.")
def whoami() -> Response:
    return call(identity.whoami, None)


@blueprint.put("/v1/principals/<path:principal_arn>/policies/<policy_name>")
@documented(
    "PUT",
    P + "/{PolicyName}",
    "PutPrincipalPolicy",
    "Attach or replace an identity policy.",
    PutPrincipalPolicySchema,
)
def put_principal_policy(principal_arn: str, policy_name: str) -> Response:
    body = json_body()
    return call(
        identity.put_principal_policy,
        schema(PutPrincipalPolicySchema),
        {**body, "PrincipalArn": principal_arn, "PolicyName": policy_name},
    )


@blueprint.get("/v1/principals/<path:principal_arn>/policies/<policy_name>")
@documented(
    "GET",
    P + "/{PolicyName}",
    "GetPrincipalPolicy",
    "One identity policy.",
    PrincipalPolicySchema,
    members="none",
)
def get_principal_policy(principal_arn: str, policy_name: str) -> Response:
    return call(
        identity.get_principal_policy,
        schema(PrincipalPolicySchema),
        {"PrincipalArn": principal_arn, "PolicyName": policy_name},
    )


@blueprint.delete("/v1/principals/<path:principal_arn>/policies/<policy_name>")
@documented(
    "DELETE",
    P + "/{PolicyName}",
    "DeletePrincipalPolicy",
    "Detach an identity policy.",
    PrincipalPolicySchema,
    members="none",
)
def delete_principal_policy(principal_arn: str, policy_name: str) -> Response:
    return call(
        identity.delete_principal_policy,
        schema(PrincipalPolicySchema),
        {"PrincipalArn": principal_arn, "PolicyName": policy_name},
    )


@blueprint.get("/v1/principals/<path:principal_arn>/policies")
@documented(
    "GET",
    P,
    "ListPrincipalPolicies",
    "Names of a principal's identity policies.",
    PrincipalPolicySchema,
    members="none",
)
def list_principal_policies(principal_arn: str) -> Response:
    return call(
        identity.list_principal_policies,
        schema(PrincipalPolicySchema),
        {"PrincipalArn": principal_arn},
    )
