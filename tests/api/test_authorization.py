"""Key policies really enforced: the authorization matrix and the checks on
new policies, through the REST door."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api.kms import Kms
from tests.conftest import ACCOUNT, OTHER_ACCOUNT, TokenFactory

ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
PRINCIPALS = ("admin", "app", "bob", "eve", "root")


@pytest.fixture
def callers(client: FlaskClient, token: TokenFactory) -> dict[str, Kms]:
    return {
        "admin": Kms(client, token(user="admin")),
        "app": Kms(client, token(role="App")),
        "bob": Kms(client, token(user="bob")),
        "eve": Kms(client, token(account=OTHER_ACCOUNT, user="eve")),
        "root": Kms(client, token(root=True)),
    }


def new_admin_users_key(root: Kms) -> tuple[str, str]:
    response = root.create_key(Administrators=[ADMIN], Users=[APP], Description="matrix")
    assert response.status_code == 200, response.get_data(as_text=True)
    meta = response.get_json()["KeyMetadata"]
    return meta["KeyId"], meta["Arn"]


Setup = Callable[[Kms, str, str], dict[str, str]]
Call = Callable[[Kms, str, dict[str, str]], TestResponse]


def _setup_none(root: Kms, key_id: str, arn: str) -> dict[str, str]:
    return {}


def _setup_blob(root: Kms, key_id: str, arn: str) -> dict[str, str]:
    return {"blob": root.ciphertext(key_id, b"matrix", {"m": "1"})}


def _setup_alias(root: Kms, key_id: str, arn: str) -> dict[str, str]:
    assert (
        root.post("/v1/aliases", {"AliasName": "alias/matrix", "TargetKeyId": key_id}).status_code
        == 200
    )
    return {}


def _setup_pending(root: Kms, key_id: str, arn: str) -> dict[str, str]:
    assert root.schedule_deletion(key_id, 7).status_code == 200
    return {}


def _policy(root: Kms, key_id: str, arn: str) -> dict[str, str]:
    return {"policy": root.get(f"/v1/keys/{key_id}/policy").get_json()["Policy"]}


def q(arn: str) -> str:
    return quote(arn, safe="")


KEY_OPERATIONS: dict[str, tuple[Setup, Call]] = {
    "DescribeKey": (_setup_none, lambda k, arn, _: k.describe(arn)),
    "UpdateKeyDescription": (
        _setup_none,
        lambda k, arn, _: k.patch(f"/v1/keys/{q(arn)}", {"Description": "x"}),
    ),
    "EnableKey": (_setup_none, lambda k, arn, _: k.enable(arn)),
    "DisableKey": (_setup_none, lambda k, arn, _: k.disable(arn)),
    "ScheduleKeyDeletion": (_setup_none, lambda k, arn, _: k.schedule_deletion(arn, 7)),
    "CancelKeyDeletion": (_setup_pending, lambda k, arn, _: k.cancel_deletion(arn)),
    "GetKeyPolicy": (_setup_none, lambda k, arn, _: k.get(f"/v1/keys/{q(arn)}/policy")),
    "PutKeyPolicy": (
        _policy,
        lambda k, arn, s: k.put(f"/v1/keys/{q(arn)}/policy", {"Policy": s["policy"]}),
    ),
    "ListKeyPolicies": (_setup_none, lambda k, arn, _: k.get(f"/v1/keys/{q(arn)}/policies")),
    "TagResource": (
        _setup_none,
        lambda k, arn, _: k.post(
            f"/v1/keys/{q(arn)}/tags", {"Tags": [{"TagKey": "a", "TagValue": "b"}]}
        ),
    ),
    "UntagResource": (
        _setup_none,
        lambda k, arn, _: k.delete(f"/v1/keys/{q(arn)}/tags", TagKeys="a"),
    ),
    "ListResourceTags": (_setup_none, lambda k, arn, _: k.get(f"/v1/keys/{q(arn)}/tags")),
    "EnableKeyRotation": (_setup_none, lambda k, arn, _: k.put(f"/v1/keys/{q(arn)}/rotation", {})),
    "DisableKeyRotation": (_setup_none, lambda k, arn, _: k.delete(f"/v1/keys/{q(arn)}/rotation")),
    "GetKeyRotationStatus": (_setup_none, lambda k, arn, _: k.get(f"/v1/keys/{q(arn)}/rotation")),
    "RotateKeyOnDemand": (_setup_none, lambda k, arn, _: k.post(f"/v1/keys/{q(arn)}/rotations")),
    "ListKeyRotations": (_setup_none, lambda k, arn, _: k.get(f"/v1/keys/{q(arn)}/rotations")),
    "CreateAlias": (
        _setup_none,
        lambda k, arn, _: k.post("/v1/aliases", {"AliasName": "alias/new", "TargetKeyId": arn}),
    ),
    "UpdateAlias": (
        _setup_alias,
        lambda k, arn, _: k.put("/v1/aliases/alias/matrix", {"TargetKeyId": arn}),
    ),
    "DeleteAlias": (_setup_alias, lambda k, arn, _: k.delete("/v1/aliases/alias/matrix")),
    "Encrypt": (_setup_none, lambda k, arn, _: k.encrypt(arn, b"m")),
    "Decrypt": (_setup_blob, lambda k, arn, s: k.decrypt(s["blob"], {"m": "1"})),
    "ReEncrypt": (
        _setup_blob,
        lambda k, arn, s: k.post(
            "/v1/re-encrypt",
            {
                "CiphertextBlob": s["blob"],
                "SourceEncryptionContext": {"m": "1"},
                "DestinationKeyId": arn,
            },
        ),
    ),
    "GenerateDataKey": (_setup_none, lambda k, arn, _: k.data_key(arn, KeySpec="AES_256")),
    "GenerateDataKeyWithoutPlaintext": (
        _setup_none,
        lambda k, arn, _: k.data_key(arn, plaintext=False, KeySpec="AES_256"),
    ),
}
USAGE = {"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext"}
ALIAS_OPS = {"CreateAlias", "UpdateAlias", "DeleteAlias"}


def expected_status(principal: str, operation: str) -> int:
    if principal == "root":
        return 200
    if principal == "admin":
        return 403 if operation in USAGE else 200
    if principal == "app":
        return 200 if operation in USAGE | {"DescribeKey"} else 403
    if principal == "eve" and operation in ALIAS_OPS and operation != "CreateAlias":
        # Aliases live in the caller's account: eve has no alias/matrix.
        return 404
    return 403


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("operation", sorted(KEY_OPERATIONS))
def test_authorization_matrix_for_key_operations(
    callers: dict[str, Kms], operation: str, principal: str
) -> None:
    root = callers["root"]
    key_id, arn = new_admin_users_key(root)
    setup, perform = KEY_OPERATIONS[operation]
    state = setup(root, key_id, arn)
    response = perform(callers[principal], arn, state)
    expected = expected_status(principal, operation)
    assert response.status_code == expected, (operation, principal, response.get_data(as_text=True))
    if expected == 403:
        error = response.get_json()["error"]
        assert error["code"] == "AccessDeniedException"
        if operation not in ("Decrypt", "ReEncrypt") or principal != "eve":
            assert principal_arn(principal) in error["message"]
            assert "kms:" in error["message"]


def principal_arn(name: str) -> str:
    return {
        "admin": ADMIN,
        "app": APP,
        "bob": f"arn:aws:iam::{ACCOUNT}:user/bob",
        "eve": f"arn:aws:iam::{OTHER_ACCOUNT}:user/eve",
        "root": ROOT,
    }[name]


ACCOUNT_OPERATIONS: dict[str, Callable[[Kms], TestResponse]] = {
    "CreateKey": lambda k: k.create_key(),
    "ListKeys": lambda k: k.get("/v1/keys"),
    "ListAliases": lambda k: k.get("/v1/aliases"),
    "GenerateRandom": lambda k: k.post("/v1/random", {"NumberOfBytes": 8}),
}


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("operation", sorted(ACCOUNT_OPERATIONS))
def test_account_operations_need_an_identity_policy_except_for_the_root(
    callers: dict[str, Kms], operation: str, principal: str
) -> None:
    response = ACCOUNT_OPERATIONS[operation](callers[principal])
    assert response.status_code == (200 if principal == "root" else 403), response.get_data(
        as_text=True
    )


def test_the_access_denied_message_names_principal_action_and_key_and_nothing_else(
    callers: dict[str, Kms],
) -> None:
    _, arn = new_admin_users_key(callers["root"])
    message = callers["admin"].encrypt(arn, b"x").get_json()["error"]["message"]
    assert message == f"User: {ADMIN} is not authorized to perform: kms:Encrypt on resource: {arn}"


def attach(root: Kms, principal: str, name: str, document: dict[str, object]) -> None:
    response = root.put(
        f"/v1/principals/{quote(principal, safe='')}/policies/{name}",
        {"PolicyDocument": json.dumps(document)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_root_delegation_lets_an_identity_policy_allow(callers: dict[str, Kms]) -> None:
    root, bob = callers["root"], callers["bob"]
    key_id = root.new_key()  # the default policy delegates to identity policies
    assert bob.encrypt(key_id, b"x").status_code == 403
    attach(
        root,
        f"arn:aws:iam::{ACCOUNT}:user/bob",
        "use",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}
            ],
        },
    )
    blob = bob.ciphertext(key_id, b"x")
    assert bob.decrypt(blob).status_code == 200
    assert bob.disable(key_id).status_code == 403
    assert bob.get("/v1/keys").status_code == 403


def test_identity_policies_do_not_help_without_delegation(callers: dict[str, Kms]) -> None:
    root, bob = callers["root"], callers["bob"]
    _, arn = new_admin_users_key(root)
    policy = json.loads(root.get(f"/v1/keys/{q(arn)}/policy").get_json()["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s["Principal"]["AWS"] != ROOT]
    # Without the root statement the root itself would be locked out: bypass the check.
    response = root.put(
        f"/v1/keys/{q(arn)}/policy",
        {"Policy": json.dumps(policy), "BypassPolicyLockoutSafetyCheck": True},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    attach(
        root,
        f"arn:aws:iam::{ACCOUNT}:user/bob",
        "use",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
        },
    )
    assert bob.encrypt(arn, b"x").status_code == 403


def test_an_explicit_deny_in_an_identity_policy_wins(callers: dict[str, Kms]) -> None:
    root, app = callers["root"], callers["app"]
    _, arn = new_admin_users_key(root)
    assert app.encrypt(arn, b"x").status_code == 200
    attach(
        root,
        APP,
        "no-encrypt",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}],
        },
    )
    assert app.encrypt(arn, b"x").status_code == 403
    assert app.data_key(arn, KeySpec="AES_256").status_code == 200


def test_encryption_context_conditions_are_enforced(callers: dict[str, Kms]) -> None:
    root, app = callers["root"], callers["app"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "App",
                "Effect": "Allow",
                "Principal": {"AWS": APP},
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "acme"}},
            },
        ],
    }
    key_id = root.new_key(Policy=json.dumps(policy))
    arn = root.describe(key_id).get_json()["KeyMetadata"]["Arn"]
    assert app.encrypt(arn, b"x", {"tenant": "acme"}).status_code == 200
    assert app.encrypt(arn, b"x", {"tenant": "other"}).status_code == 403
    assert app.encrypt(arn, b"x").status_code == 403


def test_cross_account_use_needs_the_key_policy_and_the_callers_identity_policy(
    client: FlaskClient, token: TokenFactory, callers: dict[str, Kms]
) -> None:
    root, eve = callers["root"], callers["eve"]
    eve_root = Kms(client, token(account=OTHER_ACCOUNT, root=True))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Partner",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "*",
            },
        ],
    }
    key_id = root.new_key(Policy=json.dumps(policy))
    arn = root.describe(key_id).get_json()["KeyMetadata"]["Arn"]
    assert eve.encrypt(arn, b"x").status_code == 403
    attach(
        eve_root,
        f"arn:aws:iam::{OTHER_ACCOUNT}:user/eve",
        "partner",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": arn}],
        },
    )
    assert eve.encrypt(arn, b"x").status_code == 200
    assert eve.disable(arn).status_code == 403


def test_lockout_safety_check(callers: dict[str, Kms]) -> None:
    root, admin = callers["root"], callers["admin"]
    _, arn = new_admin_users_key(root)
    policy = json.loads(admin.get(f"/v1/keys/{q(arn)}/policy").get_json()["Policy"])
    # The admin removes themselves: refused, unless they bypass the check.
    policy["Statement"] = [s for s in policy["Statement"] if ADMIN not in json.dumps(s)]
    response = admin.put(f"/v1/keys/{q(arn)}/policy", {"Policy": json.dumps(policy)})
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "MalformedPolicyDocumentException",
        "message": "The new key policy will not allow you to update the key policy in the future.",
        "request_id": response.headers["X-Request-Id"],
    }
    bypass = {"Policy": json.dumps(policy), "BypassPolicyLockoutSafetyCheck": True}
    assert admin.put(f"/v1/keys/{q(arn)}/policy", bypass).status_code == 200
    assert admin.get(f"/v1/keys/{q(arn)}/policy").status_code == 403


def test_separation_of_duties_check(callers: dict[str, Kms]) -> None:
    root = callers["root"]
    mixed = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Both",
                "Effect": "Allow",
                "Principal": {"AWS": ADMIN},
                "Action": ["kms:PutKeyPolicy", "kms:Decrypt"],
                "Resource": "*",
            },
        ],
    }
    response = root.create_key(Policy=json.dumps(mixed))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "MalformedPolicyDocumentException"
    assert "BypassSeparationOfDutiesCheck" in response.get_json()["error"]["message"]
    assert root.get("/v1/keys").get_json()["Keys"] == []
    allowed = root.create_key(Policy=json.dumps(mixed), BypassSeparationOfDutiesCheck=True)
    assert allowed.status_code == 200
    both = root.create_key(Administrators=[ADMIN], Users=[ADMIN])
    assert both.status_code == 400


def test_malformed_policies_are_refused_with_their_position(callers: dict[str, Kms]) -> None:
    root = callers["root"]
    response = root.create_key(
        Policy='{"Version": "2012-10-17", "Statement": [{"Effect": "allow"}]}'
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "MalformedPolicyDocumentException"
    assert "line 1" in error["message"] and "/Statement/0" in error["message"]
    huge = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "S" * 40000,
                    "Effect": "Allow",
                    "Principal": {"AWS": ROOT},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    assert root.create_key(Policy=huge).get_json()["error"]["code"] == "LimitExceededException"


def test_identity_policies_are_managed_by_the_account_root(callers: dict[str, Kms]) -> None:
    root, bob = callers["root"], callers["bob"]
    path = f"/v1/principals/{quote(APP, safe='')}/policies/p1"
    doc = {
        "PolicyDocument": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}],
            }
        )
    }
    assert bob.put(path, doc).status_code == 403
    assert root.put(path, doc).status_code == 200
    assert root.get(path).get_json()["PolicyDocument"] == doc["PolicyDocument"]
    assert root.get(f"/v1/principals/{quote(APP, safe='')}/policies").get_json()["PolicyNames"] == [
        "p1"
    ]
    assert callers["app"].get("/v1/keys").status_code == 200
    with_principal = {
        "PolicyDocument": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
                ],
            }
        )
    }
    bad = root.put(path, with_principal)
    assert bad.get_json()["error"]["code"] == "MalformedPolicyDocumentException"
    other_account = (
        f"/v1/principals/{quote('arn:aws:iam::444455556666:user/eve', safe='')}/policies/p"
    )
    assert root.put(other_account, doc).status_code == 400
    assert root.delete(path).status_code == 200
    assert root.delete(path).status_code == 404
    assert callers["app"].get("/v1/keys").status_code == 403


def test_validate_and_simulate_endpoints(callers: dict[str, Kms]) -> None:
    root, admin = callers["root"], callers["admin"]
    key_id, arn = new_admin_users_key(root)
    invalid = admin.post(
        "/v1/policy/validate",
        {"Policy": '{"Version":"2012-10-17",\n"Statement":[{"Effect":"Allow"}]}'},
    )
    body = invalid.get_json()
    assert invalid.status_code == 200 and body["Valid"] is False
    assert body["Errors"][0]["Line"] >= 1 and body["Errors"][0]["Pointer"].startswith("/Statement")
    policy = root.get(f"/v1/keys/{key_id}/policy").get_json()["Policy"]
    valid = admin.post("/v1/policy/validate", {"Policy": policy}).get_json()
    assert valid["Valid"] is True
    simulated = admin.post(
        "/v1/policy/simulate",
        {"KeyId": arn, "Principal": ADMIN, "Actions": ["kms:Encrypt", "kms:DisableKey"]},
    )
    assert simulated.status_code == 200, simulated.get_data(as_text=True)
    results = {r["Action"]: r["Decision"] for r in simulated.get_json()["EvaluationResults"]}
    assert results == {"kms:Encrypt": "implicitDeny", "kms:DisableKey": "allowed"}
    again = admin.post(
        "/v1/policy/simulate",
        {"KeyId": arn, "Principal": ADMIN, "Actions": ["kms:Encrypt", "kms:DisableKey"]},
    )
    assert again.get_data() == simulated.get_data()
    assert (
        callers["app"]
        .post("/v1/policy/simulate", {"KeyId": arn, "Principal": ADMIN, "Actions": ["kms:Encrypt"]})
        .status_code
        == 403
    )
