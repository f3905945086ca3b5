"""``/v1/whoami`` and identity policies under ``/v1/principals``."""

from __future__ import annotations

from app.operations import identity
from app.pipeline.route import Route
from app.schemas.identity import PrincipalPolicySchema, PutPrincipalPolicySchema

POLICIES = "/v1/principals/<path:principal_arn>/policies"

ROUTES = (
    Route(
        "WhoAmI",
        identity.whoami,
        None,
        "GET",
        "/v1/whoami",
        "The caller's principal as Trent sees it.",
        members="none",
    ),
    Route(
        "PutPrincipalPolicy",
        identity.put_principal_policy,
        PutPrincipalPolicySchema,
        "PUT",
        POLICIES + "/<policy_name>",
        "Attach or replace an identity policy.",
    ),
    Route(
        "GetPrincipalPolicy",
        identity.get_principal_policy,
        PrincipalPolicySchema,
        "GET",
        POLICIES + "/<policy_name>",
        "One identity policy.",
        members="none",
    ),
    Route(
        "DeletePrincipalPolicy",
        identity.delete_principal_policy,
        PrincipalPolicySchema,
        "DELETE",
        POLICIES + "/<policy_name>",
        "Detach an identity policy.",
        members="none",
    ),
    Route(
        "ListPrincipalPolicies",
        identity.list_principal_policies,
        PrincipalPolicySchema,
        "GET",
        POLICIES,
        "Names of a principal's identity policies.",
        members="none",
    ),
)
