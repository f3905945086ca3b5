"""Request schemas for ``/v1/policy/validate`` and ``/v1/policy/simulate``."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import ValidationError as SchemaError
from marshmallow import fields

from app.operations import policy_authoring
from app.schemas.base import (
    RequestSchema,
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
