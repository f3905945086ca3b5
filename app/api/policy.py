"""``/v1/policy/validate`` and ``/v1/policy/simulate`` for policy authors."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.endpoint import call, json_body, require_principal
from app.api.openapi import documented
from app.api.schemas.base import schema
from app.api.schemas.policy import SimulatePolicySchema, ValidatePolicySchema
from app.operations import policy_authoring

blueprint = Blueprint("policy", __name__)
blueprint.before_request(require_principal)


@blueprint.post("/v1/policy/validate")
@documented(
    "POST",
    "/v1/policy/validate",
    "ValidatePolicy",
    "Errors (with JSON pointer, line and column) and lint findings for a policy.",
    ValidatePolicySchema,
)
def validate() -> Response:
    return call(policy_authoring.validate_policy, schema(ValidatePolicySchema), json_body())


@blueprint.post("/v1/policy/simulate")
@documented(
    "POST",
    "/v1/policy/simulate",
    "SimulatePolicy",
    "Decide actions for a principal under a key policy (exactly one of Policy and KeyId) "
    "and identity policies, explained.",
    SimulatePolicySchema,
)
def simulate() -> Response:
    return call(policy_authoring.simulate_policy, schema(SimulatePolicySchema), json_body())
