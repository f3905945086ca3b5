"""Keys, aliases, tags and cryptography through the REST door (as the account root,
whom the default key policy allows everything)."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.kms import Kms
from tests.conftest import ACCOUNT, TokenFactory, b64, unb64


@pytest.fixture
def kms(client: FlaskClient, token: TokenFactory) -> Kms:
    return Kms(client, token(root=True))


def error_code(response: object) -> str:
    return str(response.get_json()["error"]["code"])  # type: ignore[attr-defined]


def test_create_key_returns_aws_shaped_metadata(kms: Kms) -> None:
    response = kms.create_key(Description="payments", Tags=[{"TagKey": "team", "TagValue": "pay"}])
    assert response.status_code == 200
    meta = response.get_json()["KeyMetadata"]
    key_id = meta["KeyId"]
    assert uuid.UUID(key_id)
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    assert meta["AWSAccountId"] == ACCOUNT
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["KeySpec"] == meta["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["Origin"] == "AWS_KMS" and meta["KeyManager"] == "CUSTOMER"
    assert meta["MultiRegion"] is False
    assert len(meta["CurrentKeyMaterialId"]) == 64
    assert "DeletionDate" not in meta
    assert kms.describe(key_id).get_json()["KeyMetadata"] == meta


def test_the_default_policy_is_stored_and_returned(kms: Kms) -> None:
    key_id = kms.new_key()
    policy = json.loads(kms.get(f"/v1/keys/{key_id}/policy").get_json()["Policy"])
    assert policy["Id"] == "key-default-1"
    (statement,) = policy["Statement"]
    assert statement["Sid"] == "Enable IAM User Permissions"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert statement["Action"] == "kms:*"


def test_describe_by_arn_alias_and_alias_arn(kms: Kms) -> None:
    key_id = kms.new_key()
    arn = kms.describe(key_id).get_json()["KeyMetadata"]["Arn"]
    assert (
        kms.post("/v1/aliases", {"AliasName": "alias/pay", "TargetKeyId": key_id}).status_code
        == 200
    )
    for name in (arn, "alias/pay", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/pay"):
        assert kms.describe(name).get_json()["KeyMetadata"]["KeyId"] == key_id


@pytest.mark.parametrize(
    ("key_id", "message"),
    [
        ("fake-key-id", "Invalid keyId 'fake-key-id'"),
        (str(uuid.UUID(int=1)), "does not exist"),
        (f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{uuid.UUID(int=1)}", "Invalid arn eu-west-1"),
        ("alias/nothing", "is not found"),
    ],
)
def test_unknown_keys_are_not_found(kms: Kms, key_id: str, message: str) -> None:
    response = kms.describe(key_id)
    assert response.status_code == 404
    assert message in response.get_json()["error"]["message"]


def test_management_operations_refuse_aliases(kms: Kms) -> None:
    key_id = kms.new_key()
    kms.post("/v1/aliases", {"AliasName": "alias/m", "TargetKeyId": key_id})
    assert kms.disable("alias/m").status_code == 404


def test_list_keys_paginates(kms: Kms) -> None:
    created = {kms.new_key() for _ in range(5)}
    seen: list[str] = []
    marker = None
    while True:
        query = {"Limit": 2} if marker is None else {"Limit": 2, "Marker": marker}
        page = kms.get("/v1/keys", **query).get_json()
        seen += [k["KeyId"] for k in page["Keys"]]
        assert all(k["KeyArn"].endswith(k["KeyId"]) for k in page["Keys"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert set(seen) == created and len(seen) == 5
    assert error_code(kms.get("/v1/keys", Marker="bm9wZQ==")) == "InvalidMarkerException"


def test_keys_of_another_account_are_invisible(client: FlaskClient, token: TokenFactory) -> None:
    mine = Kms(client, token(root=True))
    theirs = Kms(client, token(account="444455556666", root=True))
    key_id = mine.new_key()
    assert theirs.describe(key_id).status_code == 404
    assert theirs.get("/v1/keys").get_json()["Keys"] == []


def test_update_description(kms: Kms) -> None:
    key_id = kms.new_key()
    assert kms.patch(f"/v1/keys/{key_id}", {"Description": "new"}).status_code == 200
    assert kms.describe(key_id).get_json()["KeyMetadata"]["Description"] == "new"


# Cryptography


@pytest.mark.parametrize("size", [1, 2, 15, 16, 17, 1000, 4095, 4096])
def test_encrypt_decrypt_round_trip(kms: Kms, size: int) -> None:
    key_id = kms.new_key()
    plaintext = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    context = {"purpose": "test", "ünïcode": "välue", "empty": ""}
    response = kms.encrypt(key_id, plaintext, context)
    assert response.status_code == 200
    body = response.get_json()
    assert body["KeyId"].endswith(key_id) and body["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert len(unb64(body["CiphertextBlob"])) == size + 114
    decrypted = kms.decrypt(body["CiphertextBlob"], dict(reversed(list(context.items()))))
    assert decrypted.status_code == 200
    assert unb64(decrypted.get_json()["Plaintext"]) == plaintext
    assert decrypted.get_json()["KeyId"] == body["KeyId"]


def test_empty_context_key_is_refused(kms: Kms) -> None:
    key_id = kms.new_key()
    response = kms.encrypt(key_id, b"x", {"": "y"})
    assert response.status_code == 400 and error_code(response) == "ValidationException"


def test_encryption_context_must_match_exactly(kms: Kms) -> None:
    key_id = kms.new_key()
    context = {"tenant": "acme", "env": "prod"}
    blob = kms.ciphertext(key_id, b"secret", context)
    assert kms.decrypt(blob, {"env": "prod", "tenant": "acme"}).status_code == 200
    for wrong in (
        {},
        {"tenant": "acme"},
        {"tenant": "Acme", "env": "prod"},
        {"Tenant": "acme", "env": "prod"},
        {"tenant": "acme", "env": "prod", "extra": "1"},
        {"tenant": "acmeenv", "": "prod"},
    ):
        response = kms.decrypt(blob, wrong)
        assert response.status_code == 400
        assert error_code(response) in ("InvalidCiphertextException", "ValidationException")
        if error_code(response) == "InvalidCiphertextException":
            assert response.get_json()["error"]["message"] == ""


def test_tampered_ciphertexts_are_invalid(kms: Kms) -> None:
    key_id = kms.new_key()
    raw = unb64(kms.ciphertext(key_id, b"attack at dawn"))
    # The unit tests flip every bit; here a sample of positions across the
    # header and the body proves the REST door reports each the same way.
    for position in (0, 1, 5, 20, 30, 60, 90, len(raw) - 20, len(raw) - 1):
        tampered = bytearray(raw)
        tampered[position] ^= 0x01
        response = kms.decrypt(b64(bytes(tampered)))
        assert response.status_code in (400, 403), position
        if response.status_code == 400:
            assert error_code(response) == "InvalidCiphertextException"
            assert response.get_json()["error"]["message"] == ""
    for length in (0 + 1, 50, 113, len(raw) - 1):
        response = kms.decrypt(b64(raw[:length]))
        assert response.status_code == 400 and error_code(response) == "InvalidCiphertextException"


def test_a_ciphertext_naming_a_missing_key_is_access_denied(kms: Kms) -> None:
    key_id = kms.new_key()
    raw = bytearray(unb64(kms.ciphertext(key_id, b"x")))
    raw[2:18] = uuid.uuid4().bytes
    response = kms.decrypt(b64(bytes(raw)))
    assert response.status_code == 403
    assert "does not exist" in response.get_json()["error"]["message"]


def test_decrypt_with_the_wrong_key_id_is_incorrect_key(kms: Kms) -> None:
    key_a, key_b = kms.new_key(), kms.new_key()
    blob = kms.ciphertext(key_a, b"for A")
    response = kms.decrypt(blob, key_id=key_b)
    assert response.status_code == 400 and error_code(response) == "IncorrectKeyException"
    assert kms.decrypt(blob, key_id=key_a).status_code == 200


def test_re_encrypt_moves_a_ciphertext_to_another_key_and_context(kms: Kms) -> None:
    key_a, key_b = kms.new_key(), kms.new_key()
    blob = kms.ciphertext(key_a, b"moving", {"v": "1"})
    response = kms.post(
        "/v1/re-encrypt",
        {
            "CiphertextBlob": blob,
            "SourceEncryptionContext": {"v": "1"},
            "DestinationKeyId": key_b,
            "DestinationEncryptionContext": {"v": "2"},
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["SourceKeyId"].endswith(key_a) and body["KeyId"].endswith(key_b)
    assert "Plaintext" not in body
    decrypted = kms.decrypt(body["CiphertextBlob"], {"v": "2"})
    assert unb64(decrypted.get_json()["Plaintext"]) == b"moving"
    wrong_source = kms.post(
        "/v1/re-encrypt",
        {
            "CiphertextBlob": blob,
            "SourceKeyId": key_b,
            "DestinationKeyId": key_b,
            "SourceEncryptionContext": {"v": "1"},
        },
    )
    assert error_code(wrong_source) == "IncorrectKeyException"


def test_generate_data_key(kms: Kms) -> None:
    key_id = kms.new_key()
    for body, size in (
        ({"KeySpec": "AES_256"}, 32),
        ({"KeySpec": "AES_128"}, 16),
        ({"NumberOfBytes": 1}, 1),
        ({"NumberOfBytes": 1024}, 1024),
    ):
        response = kms.data_key(key_id, EncryptionContext={"f": "1"}, **body)
        assert response.status_code == 200, response.get_data(as_text=True)
        data = response.get_json()
        plaintext = unb64(data["Plaintext"])
        assert len(plaintext) == size
        again = kms.decrypt(data["CiphertextBlob"], {"f": "1"})
        assert unb64(again.get_json()["Plaintext"]) == plaintext
    without = kms.data_key(key_id, plaintext=False, KeySpec="AES_256")
    assert without.status_code == 200 and "Plaintext" not in without.get_json()
    for bad in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        response = kms.data_key(key_id, **bad)
        assert response.status_code == 400 and error_code(response) == "ValidationException"


def test_generate_random(kms: Kms) -> None:
    response = kms.post("/v1/random", {"NumberOfBytes": 64})
    assert response.status_code == 200 and len(unb64(response.get_json()["Plaintext"])) == 64
    for bad in ({}, {"NumberOfBytes": 0}, {"NumberOfBytes": 1025}, {"NumberOfBytes": "8"}):
        assert kms.post("/v1/random", bad).status_code == 400


# Validation


BAD_INPUTS = [
    ("create", {"Description": "x" * 8193}, "description"),
    ("create", {"KeySpec": "AES_999"}, "keySpec"),
    ("create", {"KeyUsage": "SIGN_VERIFY"}, "KeyUsage"),
    ("create", {"Origin": "MOON"}, "origin"),
    ("create", {"Tags": [{"TagKey": "k" * 129, "TagValue": "v"}]}, "tags"),
    ("create", {"Tags": [{"TagKey": "k", "TagValue": "v" * 257}]}, "tags"),
    ("create", {"Nonsense": 1}, "nonsense"),
    ("create", {"BypassPolicyLockoutSafetyCheck": "true"}, "bypassPolicyLockoutSafetyCheck"),
    ("encrypt", {"Plaintext": b64(b"x" * 4097)}, "plaintext"),
    ("encrypt", {"Plaintext": ""}, "plaintext"),
    ("encrypt", {"Plaintext": "not base64!"}, "plaintext"),
    ("encrypt", {"Plaintext": "YQ"}, "plaintext"),
    ("encrypt", {"Plaintext": b64(b"x"), "EncryptionContext": {"a": 1}}, "encryptionContext"),
    ("encrypt", {"Plaintext": b64(b"x"), "EncryptionAlgorithm": "ROT13"}, "encryptionAlgorithm"),
    ("encrypt", {"Plaintext": b64(b"x"), "GrantTokens": ["t"] * 11}, "grantTokens"),
    ("encrypt", {"Plaintext": b64(b"x"), "Iv": "AAAA"}, "iv"),
    ("data-key", {"NumberOfBytes": 1025}, "numberOfBytes"),
    ("data-key", {"NumberOfBytes": 1.5}, "numberOfBytes"),
    ("data-key", {"NumberOfBytes": True}, "numberOfBytes"),
    ("data-key", {"KeySpec": "AES_512"}, "keySpec"),
    ("schedule", {"PendingWindowInDays": 6}, "pendingWindowInDays"),
    ("schedule", {"PendingWindowInDays": 31}, "pendingWindowInDays"),
    ("rotation", {"RotationPeriodInDays": 89}, "rotationPeriodInDays"),
    ("rotation", {"RotationPeriodInDays": 2561}, "rotationPeriodInDays"),
    ("alias", {"AliasName": "payments"}, "alias/"),
    ("alias", {"AliasName": "alias/bad:name"}, "invalid characters"),
    ("alias", {"AliasName": "alias/" + "a" * 251}, "aliasName"),
]


@pytest.mark.parametrize(("target", "body", "named"), BAD_INPUTS)
def test_bad_input_is_a_validation_error_naming_the_field_and_changes_nothing(
    kms: Kms, target: str, body: dict[str, object], named: str
) -> None:
    key_id = kms.new_key()
    before = kms.describe(key_id).get_json()
    keys_before = kms.get("/v1/keys").get_json()
    paths = {
        "create": ("post", "/v1/keys"),
        "encrypt": ("post", f"/v1/keys/{key_id}/encrypt"),
        "data-key": ("post", f"/v1/keys/{key_id}/data-key"),
        "schedule": ("post", f"/v1/keys/{key_id}/schedule-deletion"),
        "rotation": ("put", f"/v1/keys/{key_id}/rotation"),
        "alias": ("post", "/v1/aliases"),
    }
    method, path = paths[target]
    if target == "alias":
        body = {**body, "TargetKeyId": key_id}
    response = getattr(kms, method)(path, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "ValidationException"
    assert named in error["message"]
    assert kms.describe(key_id).get_json() == before
    assert kms.get("/v1/keys").get_json() == keys_before
    assert kms.get("/v1/aliases").get_json()["Aliases"] == []


def test_reserved_alias_prefix(kms: Kms) -> None:
    key_id = kms.new_key()
    response = kms.post("/v1/aliases", {"AliasName": "alias/aws/s3", "TargetKeyId": key_id})
    assert response.status_code == 400 and error_code(response) == "InvalidAliasNameException"


def test_base64_must_be_strict(app: Flask, kms: Kms) -> None:
    key_id = kms.new_key()
    urlsafe = base64.urlsafe_b64encode(b"\xfb\xff\xfe").decode()
    response = kms.post(f"/v1/keys/{key_id}/encrypt", {"Plaintext": urlsafe})
    assert response.status_code == 400
