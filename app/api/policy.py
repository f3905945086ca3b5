"""``/v1/policy/validate`` and ``/v1/policy/simulate`` for policy authors."""

from __future__ import annotations

from app.operations import policy_authoring
from app.pipeline.route import Route
from app.schemas.policy import SimulatePolicySchema, ValidatePolicySchema

ROUTES = (
    Route(
        "ValidatePolicy",
        policy_authoring.validate_policy,
        ValidatePolicySchema,
        "POST",
        "/v1/policy/validate",
        "Errors (with JSON pointer, line and column) and lint findings for a policy.",
    ),
    Route(
        "SimulatePolicy",
        policy_authoring.simulate_policy,
        SimulatePolicySchema,
        "POST",
        "/v1/policy/simulate",
        "Decide actions for a principal under a key policy (exactly one of Policy and KeyId) "
        "and identity policies, explained.",
    ),
)
