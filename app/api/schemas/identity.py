"""Request schemas for identity policies under ``/v1/principals``."""

from __future__ import annotations

from typing import Any

from marshmallow import post_load

from app.api.schemas.base import StrictSchema, Text
from app.api.schemas.base import policy_document as document_member
from app.operations import identity


class PrincipalPolicySchema(StrictSchema):
    principal_arn = Text(required=True, min_length=1, max_length=2048, data_key="PrincipalArn")
    policy_name = Text(min_length=1, max_length=128, data_key="PolicyName")
    policy_document = document_member("PolicyDocument")

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> identity.PrincipalPolicyRequest:
        return identity.PrincipalPolicyRequest(**data)


class PutPrincipalPolicySchema(PrincipalPolicySchema):
    policy_document = document_member("PolicyDocument", required=True)
