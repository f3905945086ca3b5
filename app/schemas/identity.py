"""Request schemas for identity policies under ``/v1/principals``."""

from __future__ import annotations

from app.operations import identity
from app.schemas.base import RequestSchema, Text
from app.schemas.base import policy_document as document_member


class PrincipalPolicySchema(RequestSchema):
    builds = identity.PrincipalPolicyRequest

    principal_arn = Text(required=True, min_length=1, max_length=2048, data_key="PrincipalArn")
    policy_name = Text(min_length=1, max_length=128, data_key="PolicyName")
    policy_document = document_member("PolicyDocument")


class PutPrincipalPolicySchema(PrincipalPolicySchema):
    policy_document = document_member("PolicyDocument", required=True)
