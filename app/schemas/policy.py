"""Request schemas for ``/v1/policy/validate`` and ``/v1/policy/simulate``."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import ValidationError as SchemaError
from marshmallow import fields

import policies
from app.errors import ValidationError
from app.operations import policy_authoring
from app.schemas.base import (
    RequestSchema,
    StrictSchema,
    StringMap,
    Text,
    TextList,
    constraint,
    policy_document,
)


# The policies given here are diagnosed, never stored: their parser reports
# bad characters itself, with their position.
class ValidatePolicySchema(RequestSchema):
    builds = policy_authoring.ValidatePolicyRequest

    policy = policy_document("Policy", required=True, stored=False)
    policy_type = Text(choices=("KEY", "IDENTITY"), data_key="PolicyType")


class ContextField(fields.Field[dict[str, Any]]):
    """Condition keys to values: strings, numbers, booleans, or lists of them."""

    #: What it accepts, for the OpenAPI document (kept next to ``_deserialize``).
    json_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "maxProperties": 200,
        "additionalProperties": {
            "anyOf": [
                {"type": ["string", "number", "boolean"]},
                {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
            ]
        },
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict) or len(value) > 200:
            raise constraint("Member must be an object of at most 200 condition keys")
        for item in value.values():
            items = item if isinstance(item, list) else [item]
            if not all(isinstance(i, str | int | float | bool) for i in items):
                raise SchemaError("values must be strings, numbers, booleans or lists of them")
        return dict(value)


#: How many grants one simulation takes.
MAX_SIMULATED_GRANTS = 100


class SimulatedConstraintsSchema(StrictSchema):
    encryption_context_equals = StringMap(max_entries=8, data_key="EncryptionContextEquals")
    encryption_context_subset = StringMap(max_entries=8, data_key="EncryptionContextSubset")


class SimulatedGrantSchema(StrictSchema):
    """A grant to simulate with, in AWS's ``GrantListEntry`` shape."""

    grant_id = Text(min_length=1, max_length=128, data_key="GrantId")
    grantee_principal = Text(
        required=True, min_length=1, max_length=256, data_key="GranteePrincipal"
    )
    retiring_principal = Text(min_length=1, max_length=256, data_key="RetiringPrincipal")
    operations = TextList(
        item=Text(choices=policies.GRANT_OPERATIONS),
        min_items=1,
        max_items=len(policies.GRANT_OPERATIONS),
        required=True,
        data_key="Operations",
    )
    constraints = fields.Nested(SimulatedConstraintsSchema, data_key="Constraints")
    name = Text(min_length=1, max_length=256, data_key="Name")


_GRANT_MEMBERS = {
    "grant_id": "GrantId",
    "grantee_principal": "GranteePrincipal",
    "retiring_principal": "RetiringPrincipal",
    "operations": "Operations",
    "name": "Name",
}


def _grant_document(grant: dict[str, Any]) -> dict[str, Any]:
    document = {
        _GRANT_MEMBERS[name]: value for name, value in grant.items() if name in _GRANT_MEMBERS
    }
    constraints = grant.get("constraints")
    if constraints is not None:
        document["Constraints"] = {
            "EncryptionContextEquals": constraints.get("encryption_context_equals"),
            "EncryptionContextSubset": constraints.get("encryption_context_subset"),
        }
    return document


class SimulatePolicySchema(RequestSchema):
    builds = policy_authoring.SimulatePolicyRequest

    policy = policy_document("Policy", stored=False)
    key_id = Text(min_length=1, max_length=2048, data_key="KeyId")
    identity_policies = StringMap(max_entries=10, printable=False, data_key="IdentityPolicies")
    principal = Text(required=True, min_length=1, max_length=2048, data_key="Principal")
    principal_tags = StringMap(max_entries=50, data_key="PrincipalTags")
    actions = TextList(
        item=Text(min_length=1, max_length=128),
        min_items=1,
        max_items=100,
        required=True,
        data_key="Actions",
    )
    resource = Text(min_length=1, max_length=2048, data_key="Resource")
    context = ContextField(data_key="Context")
    grants = fields.List(fields.Nested(SimulatedGrantSchema), data_key="Grants")

    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        if "grants" in data:
            if len(data["grants"]) > MAX_SIMULATED_GRANTS:
                raise ValidationError(
                    f"Grants: at most {MAX_SIMULATED_GRANTS} grants can be simulated at once.",
                    field="Grants",
                )
            data["grants"] = [_grant_document(grant) for grant in data["grants"]]
        return data
