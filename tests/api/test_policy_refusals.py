"""What a new policy may not say, on both doors: misspelt actions and condition keys
(a Deny that never applies) and identity statements without Action or Resource."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from botocore.credentials import Credentials
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.config import Settings
from tests.api.kms import Kms
from tests.api.test_aws_door import signed
from tests.conftest import ACCOUNT, TokenFactory, services_of, store_of

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
ROOT_STATEMENT = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": ROOT},
    "Action": "kms:*",
    "Resource": "*",
}
USE_STATEMENT = {
    "Sid": "Use",
    "Effect": "Allow",
    "Principal": {"AWS": APP},
    "Action": ["kms:Encrypt", "kms:Decrypt"],
    "Resource": "*",
}
TYPO_DENY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            ROOT_STATEMENT,
            USE_STATEMENT,
            {
                "Sid": "NoRedTeam",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:Encrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipleTag/team": "red"}},
            },
        ],
    }
)
TYPO_POINTER = "/Statement/2/Condition/StringEquals/aws:PrincipleTag~1team"
IDENTITY_TYPO_DENY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "kms:Encrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipleTag/team": "red"}},
            }
        ],
    }
)
IDENTITY_TYPO_POINTER = "/Statement/0/Condition/StringEquals/aws:PrincipleTag~1team"


@pytest.fixture
def red_app(client: FlaskClient, token: TokenFactory) -> Kms:
    return Kms(client, token(role="App", tags={"team": "red"}))


def q(text: str) -> str:
    return quote(text, safe="")


def rest_error(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 400, response.get_data(as_text=True)
    return dict(response.get_json()["error"])


def aws_error(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 400, response.get_data(as_text=True)
    return dict(response.get_json(force=True))


def users_key(root: Kms) -> tuple[str, str]:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [ROOT_STATEMENT, USE_STATEMENT]})
    response = root.create_key(Policy=policy)
    assert response.status_code == 200, response.get_data(as_text=True)
    meta = response.get_json()["KeyMetadata"]
    return meta["KeyId"], meta["Arn"]


# --- item: a misspelt condition key made a Deny fail open --------------------------------


def test_create_key_refuses_the_misspelt_deny_on_the_rest_door(root: Kms) -> None:
    error = rest_error(root.create_key(Policy=TYPO_DENY))
    assert error["code"] == "MalformedPolicyDocumentException"
    assert TYPO_POINTER in error["message"] and "aws:PrincipleTag/team" in error["message"]
    assert root.get("/v1/keys").get_json()["Keys"] == []


def test_put_key_policy_refuses_the_misspelt_deny_on_the_rest_door(root: Kms, red_app: Kms) -> None:
    key_id, _ = users_key(root)
    before = root.get(f"/v1/keys/{key_id}/policy").get_json()["Policy"]
    error = rest_error(root.put(f"/v1/keys/{key_id}/policy", {"Policy": TYPO_DENY}))
    assert error["code"] == "MalformedPolicyDocumentException"
    assert TYPO_POINTER in error["message"]
    assert root.get(f"/v1/keys/{key_id}/policy").get_json()["Policy"] == before
    # the policy that would have failed open is not in force: the key is as it was
    assert red_app.encrypt(key_id, b"x").status_code == 200


def test_identity_policy_put_refuses_the_misspelt_deny(root: Kms) -> None:
    path = f"/v1/principals/{q(APP)}/policies/no-red"
    error = rest_error(root.put(path, {"PolicyDocument": IDENTITY_TYPO_DENY}))
    assert error["code"] == "MalformedPolicyDocumentException"
    assert IDENTITY_TYPO_POINTER in error["message"]
    assert root.get(f"/v1/principals/{q(APP)}/policies").get_json()["PolicyNames"] == []


def test_create_and_put_key_policy_refuse_the_misspelt_deny_on_the_aws_door(
    client: FlaskClient, root: Kms, credentials: Credentials
) -> None:
    created = aws_error(signed(client, credentials, "CreateKey", {"Policy": TYPO_DENY}))
    assert created["__type"] == "MalformedPolicyDocumentException"
    assert TYPO_POINTER in created["message"]
    assert root.get("/v1/keys").get_json()["Keys"] == []
    key_id, _ = users_key(root)
    put = aws_error(
        signed(
            client,
            credentials,
            "PutKeyPolicy",
            {"KeyId": key_id, "PolicyName": "default", "Policy": TYPO_DENY},
        )
    )
    assert put["__type"] == "MalformedPolicyDocumentException"
    assert TYPO_POINTER in put["message"]


def test_the_validate_endpoint_reports_the_same_error(root: Kms) -> None:
    body = root.post("/v1/policy/validate", {"Policy": TYPO_DENY}).get_json()
    assert body["Valid"] is False
    assert [(e["Code"], e["Pointer"]) for e in body["Errors"]] == [
        ("unknown-condition-key", TYPO_POINTER)
    ]
    identity = root.post(
        "/v1/policy/validate", {"Policy": IDENTITY_TYPO_DENY, "PolicyType": "IDENTITY"}
    ).get_json()
    assert [(e["Code"], e["Pointer"]) for e in identity["Errors"]] == [
        ("unknown-condition-key", IDENTITY_TYPO_POINTER)
    ]


@pytest.mark.parametrize(
    ("action", "code"),
    [("kms:Encryptt", "unknown-action"), ("kms:Foo*", "unknown-action")],
)
def test_misspelt_actions_are_refused(root: Kms, action: str, code: str) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [ROOT_STATEMENT, {**USE_STATEMENT, "Action": ["kms:Decrypt", action]}],
        }
    )
    error = rest_error(root.create_key(Policy=policy))
    assert error["code"] == "MalformedPolicyDocumentException"
    assert "/Statement/1/Action/1" in error["message"] and action in error["message"]


def test_identity_statements_without_action_or_resource_are_refused(root: Kms) -> None:
    path = f"/v1/principals/{q(APP)}/policies/p"
    for missing, message in (
        ("Action", "Policy statement must contain actions."),
        ("Resource", "Policy statement must contain resources."),
    ):
        statement = {"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}
        del statement[missing]
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        error = rest_error(root.put(path, {"PolicyDocument": document}))
        assert error["code"] == "MalformedPolicyDocumentException"
        assert error["message"].startswith(message) and "/Statement/0" in error["message"]


def test_a_documented_key_trent_never_supplies_is_accepted_and_absent(
    root: Kms, client: FlaskClient, token: TokenFactory
) -> None:
    app = Kms(client, token(role="App"))
    vpce = "vpce-1a2b3c4d"
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                ROOT_STATEMENT,
                {
                    **USE_STATEMENT,
                    "Sid": "ViaEndpoint",
                    "Action": "kms:Encrypt",
                    "Condition": {"StringEquals": {"aws:SourceVpce": vpce}},
                },
                {
                    **USE_STATEMENT,
                    "Sid": "DescribeIfExists",
                    "Action": "kms:DescribeKey",
                    "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": vpce}},
                },
            ],
        }
    )
    findings = root.post("/v1/policy/validate", {"Policy": policy}).get_json()["Findings"]
    warnings = [f for f in findings if f["Code"] == "unsupplied-condition-key"]
    assert [(f["Severity"], f["Pointer"]) for f in warnings] == [
        ("warning", "/Statement/1/Condition/StringEquals/aws:SourceVpce"),
        ("warning", "/Statement/2/Condition/StringEqualsIfExists/aws:SourceVpce"),
    ]
    key_id = root.new_key(Policy=policy)
    # absent from every request: the plain operator never matches, ...IfExists always does
    assert app.encrypt(key_id, b"x").status_code == 403
    assert app.describe(key_id).status_code == 200


def _store_without_checks(
    app: Flask, key_id: str | None, principal: str | None, document: str
) -> None:
    """Write a document the way a release before the name checks could have stored it."""
    from app.store.models import KeyRow

    services = services_of(app)
    with services.connection(), services.unit_of_work():
        if key_id is not None:
            KeyRow.update(policy=document).where(KeyRow.id == key_id).execute()
        if principal is not None:
            services.identity_policies.put(ACCOUNT, principal, "legacy", document, 0.0)


def test_documents_stored_before_the_checks_still_work_and_can_be_replaced(
    app: Flask, root: Kms, red_app: Kms
) -> None:
    key_id, _ = users_key(root)
    legacy_key_policy = TYPO_DENY.replace('"kms:Decrypt"', '"kms:Decryptt"')
    _store_without_checks(app, key_id, APP, IDENTITY_TYPO_DENY)
    _store_without_checks(app, key_id, None, legacy_key_policy)
    # read back as before: neither the key nor the caller is locked out
    assert red_app.encrypt(key_id, b"x").status_code == 200
    assert root.get(f"/v1/keys/{key_id}/policy").get_json()["Policy"] == legacy_key_policy
    # and the next write is checked
    assert root.put(f"/v1/keys/{key_id}/policy", {"Policy": legacy_key_policy}).status_code == 400
    fixed = json.dumps({"Version": "2012-10-17", "Statement": [ROOT_STATEMENT, USE_STATEMENT]})
    assert root.put(f"/v1/keys/{key_id}/policy", {"Policy": fixed}).status_code == 200


def test_serve_names_the_stored_documents_a_write_would_refuse(
    app: Flask, root: Kms, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Deny with a misspelt condition key stored before the checks still
    fails open (it is enforced as stored): `trent serve` names each such
    document at start, with the problem and where it is."""
    from app.cli.serve import _warn_of_stale_policies

    store = store_of(app)
    clean_key, _ = users_key(root)
    stale_key, _ = users_key(root)
    with store.connection():
        _warn_of_stale_policies(settings, store)
    assert capsys.readouterr().err == ""
    _store_without_checks(app, None, APP, IDENTITY_TYPO_DENY)
    _store_without_checks(app, stale_key, None, TYPO_DENY)
    with store.connection():
        _warn_of_stale_policies(settings, store)
    lines = capsys.readouterr().err.splitlines()
    stale_arn = root.describe(stale_key).get_json()["KeyMetadata"]["Arn"]
    assert len(lines) == 2, lines
    assert f"key policy of {stale_arn}" in lines[0]
    assert "aws:PrincipleTag" in lines[0] and TYPO_POINTER in lines[0]
    assert f"identity policy legacy of {APP}" in lines[1]
    assert clean_key not in "\n".join(lines)
