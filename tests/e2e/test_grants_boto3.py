"""Grants end to end with boto3: a key administrator hands a key user a grant,
the user encrypts with it at once, and the grant is retired and stops working."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from policies import administrators_users_policy
from tests.e2e.conftest import ACCOUNT, Server, kms_client

pytestmark = pytest.mark.e2e

ADMIN = f"arn:aws:iam::{ACCOUNT}:user/grant-admin"
APP = f"arn:aws:iam::{ACCOUNT}:role/GrantApp"
CONTEXT = {"tenant": "acme"}


def code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


@pytest.fixture(scope="module")
def clients(server: Server) -> dict[str, Any]:
    # Access keys are few per principal, and the server is shared by every e2e
    # module: the account root works over REST with a token instead.
    return {
        "admin": kms_client(server, *server.access_key("--user", "grant-admin")),
        "app": kms_client(server, *server.access_key("--role", "GrantApp")),
    }


def new_key(server: Server, root_token: str) -> str:
    policy = administrators_users_policy("aws", ACCOUNT, [ADMIN], [])
    created = server.rest("POST", "/v1/keys", root_token, {"Policy": policy})
    assert isinstance(created, dict)
    return str(created["KeyMetadata"]["KeyId"])


def test_an_administrator_grants_a_user_who_uses_it_and_it_is_retired(
    server: Server, clients: dict[str, Any]
) -> None:
    admin, app = clients["admin"], clients["app"]
    root_token = server.token("--root")
    # The key policy keeps administrators and users apart; the administrator may
    # also hand out grants through an identity policy (root delegation).
    key_id = new_key(server, root_token)
    grants_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RetireGrant"],
                "Resource": "*",
            }
        ],
    }
    server.rest(
        "PUT",
        f"/v1/principals/{quote(ADMIN, safe='')}/policies/grants",
        root_token,
        {"PolicyDocument": json.dumps(grants_policy)},
    )
    with pytest.raises(ClientError) as refused:
        app.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=CONTEXT)
    assert code(refused.value) == "AccessDeniedException"

    created = admin.create_grant(
        KeyId=key_id,
        GranteePrincipal=APP,
        Operations=["Encrypt", "Decrypt", "GenerateDataKey"],
        Constraints={"EncryptionContextSubset": CONTEXT},
        Name="grants-e2e",
    )
    token = created["GrantToken"]
    blob = app.encrypt(
        KeyId=key_id, Plaintext=b"granted", EncryptionContext=CONTEXT, GrantTokens=[token]
    )["CiphertextBlob"]
    assert app.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] == b"granted"
    with pytest.raises(ClientError) as outside:
        app.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"tenant": "other"})
    assert code(outside.value) == "AccessDeniedException"

    # Separation of duties: the administrator cannot grant itself the key's use.
    with pytest.raises(ClientError) as own:
        admin.create_grant(KeyId=key_id, GranteePrincipal=ADMIN, Operations=["Decrypt"])
    assert code(own.value) == "ValidationException"

    listed = admin.list_grants(KeyId=key_id)["Grants"]
    assert [(g["GrantId"], g["Name"]) for g in listed] == [(created["GrantId"], "grants-e2e")]
    paged = [
        g["GrantId"]
        for page in admin.get_paginator("list_grants").paginate(
            KeyId=key_id, PaginationConfig={"PageSize": 1}
        )
        for g in page["Grants"]
    ]
    assert paged == [created["GrantId"]]

    admin.retire_grant(GrantToken=token)
    assert admin.list_grants(KeyId=key_id)["Grants"] == []
    with pytest.raises(ClientError) as retired:
        app.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT, GrantTokens=[token])
    assert code(retired.value) == "InvalidGrantTokenException"
    with pytest.raises(ClientError) as gone:
        app.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
    assert code(gone.value) == "AccessDeniedException"


def test_revoke_grant_as_the_key_administrator(server: Server, clients: dict[str, Any]) -> None:
    admin = clients["admin"]
    root_token = server.token("--root")
    key_id = new_key(server, root_token)
    created = server.rest(
        "POST",
        f"/v1/keys/{key_id}/grants",
        root_token,
        {"GranteePrincipal": APP, "Operations": ["Encrypt"]},
    )
    assert isinstance(created, dict)
    grant_id = created["GrantId"]
    admin.revoke_grant(KeyId=key_id, GrantId=grant_id)
    with pytest.raises(ClientError) as again:
        admin.revoke_grant(KeyId=key_id, GrantId=grant_id)
    assert code(again.value) == "NotFoundException"
