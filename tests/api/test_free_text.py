"""Free-text request members refuse control characters, on both doors and on
both databases: a ValidationException that names the member, and nothing
stored (a NUL in a PostgreSQL text column would otherwise be a 500).

Where AWS documents a pattern for a member (AliasName, PolicyName, Policy,
Marker) that pattern is the rule; everywhere else no C0 control character
(NUL, tab, newline, ESC, ...) and no DEL. Key policies may contain tab, LF
and CR (AWS's pattern allows them); nothing else may.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.config import Settings
from tests.api.kms import Kms
from tests.conftest import TokenFactory, b64, bearer, init_data_dir

BAD = {"nul": "\x00", "c0": "\x01", "esc": "\x1b", "del": "\x7f", "newline": "\n", "tab": "\t"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return init_data_dir(tmp_path / "var", url)


class Door(Kms):
    """The AWS door, as the account root."""

    def __call__(self, target: str, body: dict[str, Any]) -> TestResponse:
        return self.aws(target, body)

    def ok(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self(target, body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return dict(response.get_json(force=True))


@pytest.fixture
def aws(client: FlaskClient, token: TokenFactory) -> Door:
    return Door(client, token(root=True))


@dataclass(frozen=True)
class Case:
    target: str
    #: The request, given the key's id and the bad text.
    body: Callable[[str, str, str], dict[str, Any]]
    #: Where the message says the problem is.
    member: str


def _tags(key: str, value: str) -> list[dict[str, str]]:
    return [{"TagKey": key, "TagValue": value}]


CASES = {
    "CreateKey.Description": Case("CreateKey", lambda k, c, t: {"Description": t}, "description"),
    "CreateKey.Tags.TagKey": Case(
        "CreateKey", lambda k, c, t: {"Tags": _tags(t, "v")}, "tags.1.member.tagKey"
    ),
    "CreateKey.Tags.TagValue": Case(
        "CreateKey", lambda k, c, t: {"Tags": _tags("t", t)}, "tags.1.member.tagValue"
    ),
    "UpdateKeyDescription.Description": Case(
        "UpdateKeyDescription", lambda k, c, t: {"KeyId": k, "Description": t}, "description"
    ),
    "TagResource.TagKey": Case(
        "TagResource", lambda k, c, t: {"KeyId": k, "Tags": _tags(t, "v")}, "tags.1.member.tagKey"
    ),
    "TagResource.TagValue": Case(
        "TagResource",
        lambda k, c, t: {"KeyId": k, "Tags": _tags("t", t)},
        "tags.1.member.tagValue",
    ),
    "UntagResource.TagKeys": Case(
        "UntagResource", lambda k, c, t: {"KeyId": k, "TagKeys": [t]}, "tagKeys.1.member"
    ),
    "Encrypt.EncryptionContext.key": Case(
        "Encrypt",
        lambda k, c, t: {"KeyId": k, "Plaintext": b64(b"x"), "EncryptionContext": {t: "v"}},
        "encryptionContext",
    ),
    "Encrypt.EncryptionContext.value": Case(
        "Encrypt",
        lambda k, c, t: {"KeyId": k, "Plaintext": b64(b"x"), "EncryptionContext": {"a": t}},
        "encryptionContext",
    ),
    "Decrypt.EncryptionContext": Case(
        "Decrypt",
        lambda k, c, t: {"CiphertextBlob": c, "EncryptionContext": {"a": t}},
        "encryptionContext",
    ),
    "GenerateDataKey.EncryptionContext": Case(
        "GenerateDataKey",
        lambda k, c, t: {"KeyId": k, "NumberOfBytes": 16, "EncryptionContext": {t: t}},
        "encryptionContext",
    ),
    "ReEncrypt.DestinationEncryptionContext": Case(
        "ReEncrypt",
        lambda k, c, t: {
            "CiphertextBlob": c,
            "DestinationKeyId": k,
            "DestinationEncryptionContext": {"a": t},
        },
        "destinationEncryptionContext",
    ),
    "CreateAlias.AliasName": Case(
        "CreateAlias", lambda k, c, t: {"AliasName": f"alias/a{t}", "TargetKeyId": k}, "aliasName"
    ),
    "DescribeKey.KeyId": Case("DescribeKey", lambda k, c, t: {"KeyId": k + t}, "keyId"),
    "Encrypt.KeyId": Case(
        "Encrypt", lambda k, c, t: {"KeyId": t + k, "Plaintext": b64(b"x")}, "keyId"
    ),
    "GetKeyPolicy.PolicyName": Case(
        "GetKeyPolicy", lambda k, c, t: {"KeyId": k, "PolicyName": f"default{t}"}, "policyName"
    ),
    "GenerateRandom.CustomKeyStoreId": Case(
        "GenerateRandom",
        lambda k, c, t: {"NumberOfBytes": 8, "CustomKeyStoreId": f"cks-{t}"},
        "customKeyStoreId",
    ),
}


def _state(aws: Door, key_id: str) -> dict[str, Any]:
    """Everything a refused request could have changed."""
    return {
        "keys": sorted(k["KeyId"] for k in aws.ok("ListKeys", {})["Keys"]),
        "description": aws.ok("DescribeKey", {"KeyId": key_id})["KeyMetadata"]["Description"],
        "tags": aws.ok("ListResourceTags", {"KeyId": key_id})["Tags"],
        "aliases": aws.ok("ListAliases", {})["Aliases"],
    }


@pytest.mark.parametrize("char", list(BAD), ids=list(BAD))
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_control_characters_are_refused_naming_the_member(aws: Door, case: str, char: str) -> None:
    key_id = aws.ok("CreateKey", {"Description": "before", "Tags": _tags("t", "v")})["KeyMetadata"][
        "KeyId"
    ]
    ciphertext = aws.ok("Encrypt", {"KeyId": key_id, "Plaintext": b64(b"x")})["CiphertextBlob"]
    before = _state(aws, key_id)
    spec = CASES[case]

    response = aws(spec.target, spec.body(key_id, ciphertext, f"a{BAD[char]}b"))

    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert body["__type"] == "ValidationException", body
    assert body["message"].startswith("1 validation error detected: "), body
    assert f" at '{spec.member}' failed to satisfy constraint: " in body["message"], body
    # The rejected character is never echoed raw.
    assert BAD[char] not in body["message"]
    assert _state(aws, key_id) == before


def test_the_rest_door_refuses_them_too(client: FlaskClient, token: TokenFactory) -> None:
    headers = bearer(token(root=True))
    created = client.post("/v1/keys", json={"Description": "a\x00b"}, headers=headers)
    assert created.status_code == 400
    error = created.get_json()["error"]
    assert error["code"] == "ValidationException"
    assert "at 'description' failed to satisfy constraint" in error["message"]
    assert client.get("/v1/keys", headers=headers).get_json()["Keys"] == []


def test_printable_text_and_policy_whitespace_are_kept(aws: Door) -> None:
    text = "Grüße, naïve café — 鍵 🔑 ~!@#$%^&*()"
    key_id = aws.ok("CreateKey", {"Description": text, "Tags": _tags(text[:20], text)})[
        "KeyMetadata"
    ]["KeyId"]
    assert aws.ok("DescribeKey", {"KeyId": key_id})["KeyMetadata"]["Description"] == text
    assert aws.ok("ListResourceTags", {"KeyId": key_id})["Tags"] == _tags(text[:20], text)
    blob = aws.ok(
        "Encrypt", {"KeyId": key_id, "Plaintext": b64(b"x"), "EncryptionContext": {text: text}}
    )["CiphertextBlob"]
    decrypted = aws.ok("Decrypt", {"CiphertextBlob": blob, "EncryptionContext": {text: text}})
    assert decrypted["Plaintext"] == b64(b"x")
    # A key policy legitimately carries tab, LF and CR between its tokens.
    policy = aws.ok("GetKeyPolicy", {"KeyId": key_id, "PolicyName": "default"})["Policy"]
    spaced = json.dumps(json.loads(policy), indent="\t").replace("\n", "\r\n")
    aws.ok("PutKeyPolicy", {"KeyId": key_id, "PolicyName": "default", "Policy": spaced})


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x0b"], ids=["nul", "esc", "vt"])
def test_a_policy_with_other_control_characters_is_refused(aws: Door, char: str) -> None:
    key_id = aws.ok("CreateKey", {})["KeyMetadata"]["KeyId"]
    policy = aws.ok("GetKeyPolicy", {"KeyId": key_id, "PolicyName": "default"})["Policy"]
    document = json.loads(policy)
    document["Statement"][0]["Sid"] = "a-marker-b"
    raw = json.dumps(document).replace("-marker-", char)
    response = aws("PutKeyPolicy", {"KeyId": key_id, "Policy": raw})
    assert response.status_code == 400
    body = response.get_json(force=True)
    assert body["__type"] == "ValidationException"
    assert body["message"] == (
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+"
    )
    assert aws.ok("GetKeyPolicy", {"KeyId": key_id, "PolicyName": "default"})["Policy"] == policy
