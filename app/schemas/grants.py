"""Request schemas for grants (both doors): CreateGrant, ListGrants,
ListRetirableGrants, RetireGrant, RevokeGrant."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

import policies
from app.errors import ValidationError
from app.operations import grants
from app.schemas.base import Flag, Int, RequestSchema, StrictSchema, StringMap, Text, TextList
from app.schemas.keys import grant_tokens_member

#: AWS's model pattern for a grant's ``Name``.
GRANT_NAME = r"^[a-zA-Z0-9:/_-]+$"
#: Constraint limits (AWS): at most 8 pairs, values at most 384 characters.
MAX_CONSTRAINT_PAIRS = 8
MAX_CONSTRAINT_VALUE = 384


def _principal(data_key: str) -> Text:
    return Text(min_length=1, max_length=256, data_key=data_key)


def _service_principal(data_key: str) -> Text:
    return Text(min_length=1, max_length=128, data_key=data_key)


def _key_id(*, required: bool = True) -> Text:
    return Text(min_length=1, max_length=2048, data_key="KeyId", required=required)


def _grant_id(*, required: bool) -> Text:
    return Text(min_length=1, max_length=128, data_key="GrantId", required=required)


def _limit() -> Int:
    return Int(minimum=1, maximum=100, data_key="Limit")


def _marker() -> Text:
    return Text(min_length=1, max_length=1024, pattern=r"^[\u0020-\u00FF]*$", data_key="Marker")


class ConstraintsSchema(StrictSchema):
    encryption_context_equals = StringMap(
        max_entries=MAX_CONSTRAINT_PAIRS, data_key="EncryptionContextEquals"
    )
    encryption_context_subset = StringMap(
        max_entries=MAX_CONSTRAINT_PAIRS, data_key="EncryptionContextSubset"
    )


class CreateGrantSchema(RequestSchema):
    builds = grants.CreateGrantRequest

    key_id = _key_id()
    grantee_principal = _principal("GranteePrincipal")
    retiring_principal = _principal("RetiringPrincipal")
    operations = TextList(
        item=Text(choices=policies.GRANT_OPERATIONS),
        min_items=1,
        max_items=len(policies.GRANT_OPERATIONS),
        required=True,
        data_key="Operations",
    )
    constraints = fields.Nested(ConstraintsSchema, data_key="Constraints")
    grant_tokens = grant_tokens_member()
    name = Text(min_length=1, max_length=256, pattern=GRANT_NAME, data_key="Name")
    dry_run = Flag(data_key="DryRun")
    bypass_separation_of_duties_check = Flag(data_key="BypassSeparationOfDutiesCheck")
    grantee_service_principal = _service_principal("GranteeServicePrincipal")
    retiring_service_principal = _service_principal("RetiringServicePrincipal")

    def arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        raw = data.pop("constraints", None)
        if raw is not None:
            document = {
                "EncryptionContextEquals": raw.get("encryption_context_equals"),
                "EncryptionContextSubset": raw.get("encryption_context_subset"),
            }
            for pairs in document.values():
                if pairs and any(len(value) > MAX_CONSTRAINT_VALUE for value in pairs.values()):
                    raise ValidationError(
                        f"Constraint values must be at most {MAX_CONSTRAINT_VALUE} characters.",
                        field="Constraints",
                    )
            data["constraints"] = grants.constraints_member(document)
        return data


class ListGrantsSchema(RequestSchema):
    builds = grants.ListGrantsRequest

    key_id = _key_id()
    limit = _limit()
    marker = _marker()
    grant_id = _grant_id(required=False)
    grantee_principal = _principal("GranteePrincipal")
    grantee_service_principal = _service_principal("GranteeServicePrincipal")


class ListRetirableGrantsSchema(RequestSchema):
    builds = grants.ListRetirableGrantsRequest

    retiring_principal = _principal("RetiringPrincipal")
    limit = _limit()
    marker = _marker()
    retiring_service_principal = _service_principal("RetiringServicePrincipal")


class RetireGrantSchema(RequestSchema):
    builds = grants.RetireGrantRequest

    # A grant token is treated as a secret: never quoted in a message.
    grant_token = Text(min_length=1, max_length=8192, quote=False, data_key="GrantToken")
    key_id = _key_id(required=False)
    grant_id = _grant_id(required=False)
    dry_run = Flag(data_key="DryRun")


class RevokeGrantSchema(RequestSchema):
    builds = grants.RevokeGrantRequest

    key_id = _key_id()
    grant_id = _grant_id(required=True)
    dry_run = Flag(data_key="DryRun")
