"""REST routes for grants: a key's grants under the key, retiring under ``/v1/grants``."""

from __future__ import annotations

from app.api.keys import SUB
from app.catalogue import KMS

GRANT = {"GrantId": "$response.body#/GrantId"}

ROUTES = (
    KMS["CreateGrant"].at(
        "POST",
        SUB + "/grants",
        "Give a grantee the use of the key for some operations, optionally under "
        "encryption-context constraints; answers the grant id and a grant token.",
        produces=GRANT,
    ),
    KMS["ListGrants"].at(
        "GET",
        SUB + "/grants",
        "List a key's grants (?GrantId=, ?GranteePrincipal= filter them).",
        members="query",
    ),
    KMS["RevokeGrant"].at(
        "DELETE",
        SUB + "/grants/<grant_id>",
        "Revoke a grant (needs kms:RevokeGrant on the key).",
        members="none",
    ),
    KMS["RetireGrant"].at(
        "POST",
        "/v1/grants/retire",
        "Retire a grant by its GrantToken, or by KeyId (the key ARN) and GrantId: the "
        "retiring principal, the grantee of a grant with RetireGrant, or the account.",
    ),
    KMS["ListRetirableGrants"].at(
        "GET",
        "/v1/grants/retirable",
        "The grants a principal (?RetiringPrincipal=) may retire.",
        members="query",
    ),
)
