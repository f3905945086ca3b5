"""Grants over HTTP: the REST paths and the AWS door, their errors, and their audit events."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from app.config import Settings
from tests.api.kms import Kms, audit_events
from tests.conftest import ACCOUNT, TokenFactory, b64

ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB_ARN = f"arn:aws:iam::{ACCOUNT}:user/bob"


@pytest.fixture
def alice(client: FlaskClient, token: TokenFactory) -> Kms:
    return Kms(client, token(user="alice"))


@pytest.fixture
def bob(client: FlaskClient, token: TokenFactory) -> Kms:
    return Kms(client, token(user="bob"))


events = audit_events


def body(response: Any) -> Any:
    """A JSON answer of either door (the AWS door's media type is AWS's own)."""
    return json.loads(response.get_data(as_text=True))


def grants_path(key_id: str) -> str:
    return f"/v1/keys/{quote(key_id, safe='')}/grants"


def create(kms: Kms, key_id: str, **body: Any) -> dict[str, Any]:
    members = {"GranteePrincipal": ALICE_ARN, "Operations": ["Encrypt", "Decrypt"], **body}
    response = kms.post(grants_path(key_id), members)
    assert response.status_code == 200, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()
    return created


def test_rest_round_trip_create_use_list_revoke(root: Kms, alice: Kms, settings: Settings) -> None:
    key_id = root.new_key()
    assert alice.encrypt(key_id, b"x").status_code == 403
    created = create(root, key_id, Constraints={"EncryptionContextSubset": {"app": "pay"}})
    body = {
        "Plaintext": b64(b"hello"),
        "EncryptionContext": {"app": "pay"},
        "GrantTokens": [created["GrantToken"]],
    }
    response = alice.post(f"/v1/keys/{key_id}/encrypt", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert alice.encrypt(key_id, b"x", {"app": "other"}).status_code == 403
    listed = root.get(grants_path(key_id)).get_json()
    assert listed["Truncated"] is False
    (entry,) = listed["Grants"]
    assert entry["GrantId"] == created["GrantId"]
    assert entry["Constraints"] == {"EncryptionContextSubset": {"app": "pay"}}
    assert "GrantToken" not in json.dumps(listed)
    revoked = root.delete(f"{grants_path(key_id)}/{created['GrantId']}")
    assert revoked.status_code == 200, revoked.get_data(as_text=True)
    replay = alice.post(f"/v1/keys/{key_id}/encrypt", body)
    assert replay.status_code == 400
    assert replay.get_json()["error"]["code"] == "InvalidGrantTokenException"
    # The audit log names the grant wherever one took part, and never a token.
    recorded = events(settings)
    by_name = {(e["eventName"], e["outcome"]): e for e in recorded}
    assert by_name[("CreateGrant", "success")]["grantIds"] == [created["GrantId"]]
    assert by_name[("CreateGrant", "success")]["requestParameters"]["constraints"] == {
        "encryptionContextSubset": {"app": "pay"}
    }
    assert by_name[("Encrypt", "success")]["grantIds"] == [created["GrantId"]]
    assert by_name[("RevokeGrant", "success")]["grantIds"] == [created["GrantId"]]
    assert by_name[("Encrypt", "success")]["requestParameters"]["grantTokenCount"] == 1
    assert created["GrantToken"] not in json.dumps(recorded)
    assert "grantIds" not in by_name[("ListGrants", "success")]


def test_aws_door_round_trip_with_retire_by_token(root: Kms, alice: Kms, bob: Kms) -> None:
    key_id = root.new_key()
    response = root.aws(
        "CreateGrant",
        {
            "KeyId": key_id,
            "GranteePrincipal": ALICE_ARN,
            "RetiringPrincipal": BOB_ARN,
            "Operations": ["GenerateDataKey", "Decrypt"],
            "Name": "pay-service",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    created = body(response)
    data_key = alice.aws(
        "GenerateDataKey",
        {"KeyId": key_id, "KeySpec": "AES_256", "GrantTokens": [created["GrantToken"]]},
    )
    assert data_key.status_code == 200, data_key.get_data(as_text=True)
    retirable = bob.get("/v1/grants/retirable", RetiringPrincipal=BOB_ARN)
    # Listing retirable grants needs kms:ListRetirableGrants from an identity policy.
    assert retirable.status_code == 403
    retirable = root.aws("ListRetirableGrants", {"RetiringPrincipal": BOB_ARN})
    assert [g["GrantId"] for g in body(retirable)["Grants"]] == [created["GrantId"]]
    retired = bob.aws("RetireGrant", {"GrantToken": created["GrantToken"]})
    assert retired.status_code == 200, retired.get_data(as_text=True)
    again = bob.aws("RetireGrant", {"GrantToken": created["GrantToken"]})
    assert body(again)["__type"] == "InvalidGrantTokenException"
    assert body(root.aws("ListGrants", {"KeyId": key_id}))["Grants"] == []


def test_rest_retire_by_key_arn_and_grant_id(root: Kms, alice: Kms) -> None:
    key_id = root.new_key()
    arn = root.describe(key_id).get_json()["KeyMetadata"]["Arn"]
    created = create(root, key_id, Operations=["Encrypt", "RetireGrant"])
    retired = alice.post("/v1/grants/retire", {"KeyId": arn, "GrantId": created["GrantId"]})
    assert retired.status_code == 200, retired.get_data(as_text=True)
    assert root.get(grants_path(key_id)).get_json()["Grants"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"Operations": ["Encrypt"]}, 400, "ValidationException"),  # no grantee
        ({"GranteePrincipal": ALICE_ARN}, 400, "ValidationException"),  # no operations
        ({"GranteePrincipal": ALICE_ARN, "Operations": []}, 400, "ValidationException"),
        ({"GranteePrincipal": ALICE_ARN, "Operations": ["Launch"]}, 400, "ValidationException"),
        ({"GranteePrincipal": ALICE_ARN, "Operations": ["Sign"]}, 400, "ValidationException"),
        (
            {"GranteePrincipal": ALICE_ARN, "Operations": ["Encrypt"], "Name": "no spaces"},
            400,
            "ValidationException",
        ),
        (
            {
                "GranteePrincipal": ALICE_ARN,
                "Operations": ["Encrypt"],
                "Constraints": {"EncryptionContextSubset": {f"k{i}": "v" for i in range(9)}},
            },
            400,
            "ValidationException",
        ),
        (
            {
                "GranteePrincipal": ALICE_ARN,
                "Operations": ["Encrypt"],
                "Constraints": {"EncryptionContextSubset": {"k": "v" * 385}},
            },
            400,
            "ValidationException",
        ),
        (
            {
                "GranteePrincipal": ALICE_ARN,
                "Operations": ["Encrypt"],
                "Constraints": {"EncryptionContextSubset": {"a": "1"}, "Other": {}},
            },
            400,
            "ValidationException",
        ),
        (
            {"GranteePrincipal": ALICE_ARN, "Operations": ["Encrypt"], "GrantTokens": ["junk"]},
            400,
            "InvalidGrantTokenException",
        ),
        (
            {"GranteePrincipal": ALICE_ARN, "Operations": ["Encrypt"], "DryRun": True},
            412,
            "DryRunOperationException",
        ),
    ],
)
def test_bad_create_grant_requests_are_refused_and_change_nothing(
    root: Kms, body: dict[str, Any], status: int, code: str
) -> None:
    key_id = root.new_key()
    response = root.post(grants_path(key_id), body)
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)
    assert root.get(grants_path(key_id)).get_json()["Grants"] == []


def test_grant_paths_refuse_what_names_no_grant(root: Kms) -> None:
    key_id = root.new_key()
    missing = root.delete(f"{grants_path(key_id)}/{'0' * 64}")
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "NotFoundException")
    malformed = root.delete(f"{grants_path(key_id)}/not-a-grant")
    assert malformed.get_json()["error"]["code"] == "InvalidGrantIdException"
    unknown_key = root.get(grants_path("00000000-0000-0000-0000-000000000000"))
    assert unknown_key.status_code == 404
    bad_marker = root.get(grants_path(key_id), Marker="nonsense")
    assert bad_marker.get_json()["error"]["code"] == "InvalidMarkerException"
    token_everywhere = root.post("/v1/grants/retire", {})
    assert token_everywhere.status_code == 400
    describe = root.aws("DescribeKey", {"KeyId": key_id, "GrantTokens": ["x" * 66]})
    assert body(describe)["__type"] == "InvalidGrantTokenException"


def test_a_grant_token_is_never_quoted_back(root: Kms) -> None:
    key_id = root.new_key()
    secretish = "S3CR3T-" + "A" * 9000
    response = root.post("/v1/grants/retire", {"GrantToken": secretish})
    assert response.status_code == 400
    assert "S3CR3T" not in response.get_data(as_text=True)
    assert key_id  # the key exists; nothing about it leaked either


def test_simulate_explains_a_decision_a_grant_made(root: Kms) -> None:
    key_id = root.new_key()
    created = create(root, key_id, Constraints={"EncryptionContextEquals": {"app": "pay"}})
    request = {
        "KeyId": key_id,
        "Principal": ALICE_ARN,
        "Actions": ["kms:Encrypt", "kms:Sign"],
        "Context": {"kms:EncryptionContext:app": "pay"},
    }
    response = root.post("/v1/policy/simulate", request)
    assert response.status_code == 200, response.get_data(as_text=True)
    encrypt, sign = response.get_json()["EvaluationResults"]
    assert (encrypt["Decision"], encrypt["Basis"]) == ("allowed", "grant")
    assert encrypt["DecisiveGrants"] == [created["GrantId"]]
    assert sign["Decision"] == "implicitDeny"
    # Grants given in the request replace the stored ones: a draft grant can be tried.
    draft = {**request, "Grants": [{"GranteePrincipal": ALICE_ARN, "Operations": ["Decrypt"]}]}
    drafted = root.post("/v1/policy/simulate", draft).get_json()["EvaluationResults"]
    assert drafted[0]["Decision"] == "implicitDeny"


@pytest.mark.parametrize(
    "grant",
    [
        {"Operations": ["Decrypt"]},
        {"GranteePrincipal": ALICE_ARN, "Operations": ["Launch"]},
        {"GranteePrincipal": ALICE_ARN, "Operations": ["Decrypt"], "Token": "x"},
        {
            "GranteePrincipal": ALICE_ARN,
            "Operations": ["Decrypt"],
            "Constraints": {"EncryptionContextSubset": {"a": "1"}, "EncryptionContextEquals": {}},
        },
    ],
)
def test_simulate_refuses_a_grant_that_cannot_be(root: Kms, grant: dict[str, Any]) -> None:
    key_id = root.new_key()
    request = {"KeyId": key_id, "Principal": ALICE_ARN, "Actions": ["kms:Decrypt"]}
    response = root.post("/v1/policy/simulate", {**request, "Grants": [grant]})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "ValidationException"
