"""The AWS door answers as AWS does: the codes, members and wording recorded
against real AWS (kms-api.md), with SigV4-signed, boto3-shaped requests."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.credentials import Credentials
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.config import Settings
from app.operations.rotation import MAX_ON_DEMAND_ROTATIONS
from app.operations.scheduler import run_jobs_once
from app.pipeline.runtime import runtime
from tests.api.kms import Kms
from tests.api.test_aws_door import last_event, signed
from tests.conftest import ACCOUNT, b64

PREFIX = "1 validation error detected: "


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Aws:
    def __init__(self, client: FlaskClient, credentials: Credentials) -> None:
        self.client = client
        self.credentials = credentials

    def __call__(self, target: str, body: dict[str, Any]) -> TestResponse:
        return signed(self.client, self.credentials, target, body)

    def ok(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self(target, body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return dict(response.get_json(force=True))

    def error(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self(target, body)
        assert response.status_code == 400, response.get_data(as_text=True)
        return dict(response.get_json(force=True))

    def new_key(self) -> str:
        return str(self.ok("CreateKey", {})["KeyMetadata"]["KeyId"])


@pytest.fixture
def aws(client: FlaskClient, root: Kms) -> Aws:
    created = root.post("/v1/access-keys").get_json()["AccessKey"]
    return Aws(client, Credentials(created["AccessKeyId"], created["SecretAccessKey"]))


def _validation(body: dict[str, Any]) -> str:
    assert body["__type"] == "ValidationException", body
    return str(body["message"])


# AWS-observed messages (LocalStack's snapshot tests recorded against AWS).
@pytest.mark.parametrize(
    ("target", "body", "message"),
    [
        (
            "GenerateRandom",
            {"NumberOfBytes": 0},
            "Value '0' at 'numberOfBytes' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        ),
        (
            "GenerateRandom",
            {"NumberOfBytes": 1025},
            "Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
            "Member must have value less than or equal to 1024",
        ),
        (
            "CreateAlias",
            {"AliasName": "alias/x!", "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
            "Value 'alias/x!' at 'aliasName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
        ),
        (
            "CreateKey",
            {"Tags": [{"TagKey": "a" * 129, "TagValue": "v"}]},
            f"Value '{'a' * 129}' at 'tags.1.member.tagKey' failed to satisfy constraint: "
            "Member must have length less than or equal to 128",
        ),
        (
            "CreateKey",
            {"Tags": [{"TagKey": "k", "TagValue": "v"}, {"TagKey": "k2", "TagValue": "v" * 257}]},
            f"Value '{'v' * 257}' at 'tags.2.member.tagValue' failed to satisfy constraint: "
            "Member must have length less than or equal to 256",
        ),
        (
            "Encrypt",
            {"KeyId": "alias/any", "Plaintext": b64(b"p" * 4097)},
            "Value at 'plaintext' failed to satisfy constraint: "
            "Member must have length less than or equal to 4096",
        ),
        (
            "CreateKey",
            {"Tags": [{"TagValue": "v"}]},
            "Value null at 'tags.1.member.tagKey' failed to satisfy constraint: "
            "Member must not be null",
        ),
        (
            "UntagResource",
            {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "TagKeys": ["ok", ""]},
            "Value '' at 'tagKeys.2.member' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
        ),
    ],
    ids=["min", "max", "pattern", "tagKey", "tagValue", "blob", "null", "listItem"],
)
def test_validation_messages_have_aws_form(
    aws: Aws, target: str, body: dict[str, Any], message: str
) -> None:
    assert _validation(aws.error(target, body)) == PREFIX + message


def test_an_enum_message_quotes_the_value_and_lists_the_set(aws: Aws) -> None:
    message = _validation(aws.error("CreateKey", {"KeySpec": "HMAC_random"}))
    assert message.startswith(
        PREFIX + "Value 'HMAC_random' at 'keySpec' failed to satisfy constraint: "
        "Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSA_2048, "
    )


def test_secrets_and_documents_are_never_quoted(aws: Aws, settings: Settings) -> None:
    key_id = aws.new_key()
    token = "grant-token-SECRET-" + "t" * 8200
    body = aws.error("Encrypt", {"KeyId": key_id, "Plaintext": b64(b"x"), "GrantTokens": [token]})
    assert _validation(body) == (
        PREFIX + "Value at 'grantTokens.1.member' failed to satisfy constraint: "
        "Member must have length less than or equal to 8192"
    )
    assert "SECRET" not in str(last_event(settings))
    policy = '{"Version": "2012-10-17", "Statement": []} SECRET-\x00'
    body = aws.error("PutKeyPolicy", {"KeyId": key_id, "Policy": policy})
    assert _validation(body).startswith(PREFIX + "Value at 'policy' failed")
    assert "SECRET" not in str(last_event(settings))


def test_long_values_are_clipped_and_control_characters_escaped(
    aws: Aws, settings: Settings
) -> None:
    message = _validation(aws.error("CreateKey", {"Description": "d" * 9000}))
    assert message.startswith(PREFIX + "Value 'ddd")
    assert "d" * 1000 not in message and len(message) < 1000
    message = _validation(aws.error("CreateKey", {"Description": "a\x00\x1bb"}))
    assert message.startswith(PREFIX + "Value 'a\\u0000\\u001bb' at 'description'")
    assert "\x00" not in str(last_event(settings))


def test_a_missing_number_of_bytes(aws: Aws) -> None:
    assert _validation(aws.error("GenerateRandom", {})) == "NumberOfBytes is required."


def test_describe_key_of_an_unknown_key(aws: Aws) -> None:
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    body = aws.error("DescribeKey", {"KeyId": key_id})
    assert body == {
        "__type": "NotFoundException",
        "message": f"Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}' does not exist",
    }


@pytest.mark.parametrize("operation", ["CreateAlias", "UpdateAlias"])
def test_an_alias_cannot_target_an_alias(aws: Aws, operation: str) -> None:
    key_id = aws.new_key()
    aws.ok("CreateAlias", {"AliasName": "alias/first", "TargetKeyId": key_id})
    before = aws.ok("ListAliases", {})["Aliases"]
    name = "alias/second" if operation == "CreateAlias" else "alias/first"
    for target in ("alias/first", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/first"):
        body = aws.error(operation, {"AliasName": name, "TargetKeyId": target})
        assert body == {
            "__type": "ValidationException",
            "message": "Aliases must refer to keys. Not aliases",
        }
    assert aws.ok("ListAliases", {})["Aliases"] == before


def test_an_empty_message_is_not_sent(aws: Aws, root: Kms) -> None:
    key_id = aws.new_key()
    blob = base64.b64decode(
        aws.ok("Encrypt", {"KeyId": key_id, "Plaintext": b64(b"x")})["CiphertextBlob"]
    )
    forged = b64(blob[:-1] + bytes([blob[-1] ^ 1]))
    assert aws.error("Decrypt", {"CiphertextBlob": forged}) == {
        "__type": "InvalidCiphertextException"
    }
    wrong_context = {"CiphertextBlob": b64(blob), "EncryptionContext": {"a": "b"}}
    assert aws.error("Decrypt", wrong_context) == {"__type": "InvalidCiphertextException"}
    # The REST door's envelope keeps its documented shape.
    rest = root.post("/v1/decrypt", {"CiphertextBlob": forged})
    assert rest.status_code == 400
    assert rest.get_json()["error"]["code"] == "InvalidCiphertextException"
    assert rest.get_json()["error"]["message"] == ""


@pytest.fixture
def lane_or_door(settings: Settings, root: Kms) -> Aws:
    """The AWS door of an application as deployed."""
    app = create_app(settings)
    created = root.post("/v1/access-keys").get_json()["AccessKey"]
    credentials = Credentials(created["AccessKeyId"], created["SecretAccessKey"])
    return Aws(app.test_client(), credentials)


def test_decrypt_names_the_key_material_that_decrypted(lane_or_door: Aws) -> None:
    aws = lane_or_door
    key_id = aws.new_key()
    first = aws.ok("GenerateDataKey", {"KeyId": key_id, "KeySpec": "AES_256"})
    aws.ok("RotateKeyOnDemand", {"KeyId": key_id})
    second = aws.ok("GenerateDataKey", {"KeyId": key_id, "KeySpec": "AES_256"})
    assert first["KeyMaterialId"] != second["KeyMaterialId"]
    for generated in (first, second):
        decrypted = aws.ok("Decrypt", {"CiphertextBlob": generated["CiphertextBlob"]})
        assert decrypted["Plaintext"] == generated["Plaintext"]
        assert decrypted["KeyMaterialId"] == generated["KeyMaterialId"]
    materials = aws.ok(
        "ListKeyRotations", {"KeyId": key_id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}
    )
    assert {r["KeyMaterialId"] for r in materials["Rotations"]} == {
        first["KeyMaterialId"],
        second["KeyMaterialId"],
    }
    moved = aws.ok(
        "ReEncrypt", {"CiphertextBlob": first["CiphertextBlob"], "DestinationKeyId": key_id}
    )
    assert moved["SourceKeyMaterialId"] == first["KeyMaterialId"]
    assert moved["DestinationKeyMaterialId"] == second["KeyMaterialId"]


def test_on_demand_rotations_are_limited_and_answered_with_the_key_arn(
    app: Flask, aws: Aws
) -> None:
    key_id = aws.new_key()
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    aws.ok("EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": 90})
    with app.app_context():
        services = runtime().services
        real = services.clock
        # The job runs 90 days on; requests keep the real clock (SigV4 checks it).
        services.clock = Clock(real() + 90 * 86400 + 1)
        try:
            assert run_jobs_once(services)[0] == [arn]
        finally:
            services.clock = real
    # The automatic rotation does not count against the on-demand limit.
    for _ in range(MAX_ON_DEMAND_ROTATIONS):
        # AWS answers the key ARN here (recorded: LocalStack's AWS-validated
        # test_rotate_on_demand_returns_arn_for_key_id), not the bare key id.
        assert aws.ok("RotateKeyOnDemand", {"KeyId": key_id}) == {"KeyId": arn}
    assert aws.error("RotateKeyOnDemand", {"KeyId": key_id}) == {
        "__type": "LimitExceededException",
        "message": "The on-demand rotations limit has been reached for the given keyId. "
        f"No more on-demand rotations can be performed for this key: {arn}",
    }
    rotations = aws.ok("ListKeyRotations", {"KeyId": key_id})["Rotations"]
    assert [r["RotationType"] for r in rotations].count("ON_DEMAND") == MAX_ON_DEMAND_ROTATIONS
