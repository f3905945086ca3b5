"""Sanitising request parameters: an allow-list that never lets a secret through."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.audit.canonical import canonical_json
from app.audit.events import AuditEvent
from app.audit.record import event_body
from app.audit.sanitize import ALLOWED_PARAMETERS, pascal_name, sanitize_parameters

PLAINTEXT = b"TOP-SECRET-PLAINTEXT-0xC0FFEE"
CIPHERTEXT = b"\x01\x02CIPHERTEXT-BYTES-MARKER\x03"
POLICY = '{"Version":"2012-10-17","Statement":[{"Sid":"SECRET-POLICY-MARKER"}]}'
SECRET = "wJalrXUtnFEMI-SECRET-ACCESS-KEY-MARKER"
TOKEN = "eyJ-GRANT-TOKEN-MARKER"

MARKERS = [
    PLAINTEXT,
    base64.b64encode(PLAINTEXT),
    CIPHERTEXT,
    base64.b64encode(CIPHERTEXT),
    b"SECRET-POLICY-MARKER",
    SECRET.encode(),
    TOKEN.encode(),
]


def _everything_secret() -> dict[str, Any]:
    return {
        "KeyId": "alias/payments",
        "Plaintext": PLAINTEXT,
        "plaintext": base64.b64encode(PLAINTEXT).decode(),
        "CiphertextBlob": base64.b64encode(CIPHERTEXT).decode(),
        "SourceCiphertextBlob": CIPHERTEXT,
        "Policy": POLICY,
        "PolicyDocument": POLICY,
        "SecretAccessKey": SECRET,
        "secret_access_key": SECRET,
        "AccessKeySecret": SECRET,
        "Token": TOKEN,
        "GrantTokens": [TOKEN, TOKEN],
        "Authorization": f"Bearer {TOKEN}",
        "Password": SECRET,
        "PrivateKey": SECRET,
        "KeyMaterial": PLAINTEXT,
        "DataKey": PLAINTEXT,
        "EncryptedKeyMaterial": CIPHERTEXT,
        "ImportToken": TOKEN,
        "Message": PLAINTEXT,
        "Mac": PLAINTEXT,
        "Signature": CIPHERTEXT,
        "WrappingKey": SECRET,
        "SomeFutureSecretField": SECRET,
    }


@pytest.mark.parametrize("operation", ["Encrypt", "Decrypt", "PutKeyPolicy", "CreateKey", "X"])
def test_no_secret_survives(operation: str) -> None:
    sanitized = sanitize_parameters(operation, _everything_secret())
    encoded = canonical_json(sanitized)
    for marker in MARKERS:
        assert marker not in encoded
    assert sanitized["keyId"] == "alias/payments"


def test_fingerprints_replace_ciphertext_policy_and_grant_tokens() -> None:
    sanitized = sanitize_parameters("Decrypt", _everything_secret())
    assert sanitized["ciphertextBlobSha256"] == hashlib.sha256(CIPHERTEXT).hexdigest()
    assert sanitized["policySha256"] == hashlib.sha256(POLICY.encode()).hexdigest()
    assert sanitized["policyDocumentSha256"] == hashlib.sha256(POLICY.encode()).hexdigest()
    assert sanitized["grantTokenCount"] == 2
    assert "grantTokens" not in sanitized


def test_ciphertext_as_bytes_hashes_the_same_as_base64() -> None:
    as_bytes = sanitize_parameters("Decrypt", {"CiphertextBlob": CIPHERTEXT})
    as_text = sanitize_parameters(
        "Decrypt", {"CiphertextBlob": base64.b64encode(CIPHERTEXT).decode()}
    )
    assert as_bytes == as_text


def test_unknown_names_are_dropped() -> None:
    assert sanitize_parameters("CreateKey", {"Nonsense": "x", "IV": "y", "nonce": "z"}) == {}


def test_allowed_parameters_in_cloudtrail_names() -> None:
    sanitized = sanitize_parameters(
        "CreateKey",
        {
            "KeySpec": "SYMMETRIC_DEFAULT",
            "Description": "payments",
            "Tags": [{"TagKey": "team", "TagValue": "pay"}],
            "BypassPolicyLockoutSafetyCheck": True,
            "BypassSeparationOfDutiesCheck": False,
            "PendingWindowInDays": 7,
            "TagKeys": ["team"],
            "NumberOfBytes": 32,
            "EncryptionContext": {"tenant": "acme"},
            "RotationPeriodInDays": 90,
            "AliasName": "alias/pay",
            "TargetKeyId": "k-1",
        },
    )
    assert sanitized == {
        "keySpec": "SYMMETRIC_DEFAULT",
        "description": "payments",
        "tags": [{"tagKey": "team", "tagValue": "pay"}],
        "bypassPolicyLockoutSafetyCheck": True,
        "bypassSeparationOfDutiesCheck": False,
        "pendingWindowInDays": 7,
        "tagKeys": ["team"],
        "numberOfBytes": 32,
        "encryptionContext": {"tenant": "acme"},
        "rotationPeriodInDays": 90,
        "aliasName": "alias/pay",
        "targetKeyId": "k-1",
    }


def test_names_in_any_case_style() -> None:
    expected = {"keyId": "k", "numberOfBytes": 16}
    assert sanitize_parameters("X", {"KeyId": "k", "NumberOfBytes": 16}) == expected
    assert sanitize_parameters("X", {"keyId": "k", "numberOfBytes": 16}) == expected
    assert sanitize_parameters("X", {"key_id": "k", "number_of_bytes": 16}) == expected
    assert pascal_name("bypass_policy_lockout_safety_check") == "BypassPolicyLockoutSafetyCheck"


def test_tags_from_a_typed_request() -> None:
    assert sanitize_parameters("CreateKey", {"tags": [("a", "1"), ("b", "2")]}) == {
        "tags": [{"tagKey": "a", "tagValue": "1"}, {"tagKey": "b", "tagValue": "2"}]
    }


@pytest.mark.parametrize(
    "params",
    [
        {"KeyId": 123},
        {"NumberOfBytes": True},
        {"NumberOfBytes": "32"},
        {"BypassPolicyLockoutSafetyCheck": "true"},
        {"EncryptionContext": "a=b"},
        {"TagKeys": "team"},
        {"CiphertextBlobSha256": "not-a-digest"},
        {"Policy": {"Statement": []}},
    ],
)
def test_values_of_the_wrong_type_are_dropped(params: dict[str, Any]) -> None:
    assert sanitize_parameters("X", params) == {}


def test_defaults_that_cloudtrail_records() -> None:
    assert sanitize_parameters("Decrypt", {}) == {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    assert sanitize_parameters("Decrypt", {"EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}) == {
        "encryptionAlgorithm": "RSAES_OAEP_SHA_256"
    }


def test_long_values_are_clipped() -> None:
    sanitized = sanitize_parameters("X", {"KeyId": "k" * 10_000, "TagKeys": ["t"] * 500})
    assert len(sanitized["keyId"]) == 2048
    assert len(sanitized["tagKeys"]) == 100


def test_the_writer_sanitises_again() -> None:
    """Parameters handed to an event unsanitised still never reach the body."""
    event = AuditEvent(
        event_id="e",
        event_time=1.0,
        request_id="r",
        door="rest",
        event_name="Decrypt",
        outcome="success",
        http_status=200,
        request_parameters=_everything_secret(),
    )
    encoded = canonical_json(event_body(event))
    for marker in MARKERS:
        assert marker not in encoded


names = st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=1)
values = st.none() | st.booleans() | st.integers() | st.text() | st.binary()
params = st.dictionaries(
    st.sampled_from(sorted(ALLOWED_PARAMETERS)) | names,
    values | st.lists(values, max_size=3) | st.dictionaries(st.text(), st.text(), max_size=3),
    max_size=8,
)


@given(params)
def test_sanitising_is_idempotent_and_only_emits_allowed_names(raw: dict[str, Any]) -> None:
    once = sanitize_parameters("Encrypt", raw)
    assert sanitize_parameters("Encrypt", once) == once
    recorded = {name for name, _ in ALLOWED_PARAMETERS.values()}
    assert set(once) <= recorded
    canonical_json(once)  # always encodable


@given(st.text(min_size=1), st.binary(min_size=8))
def test_a_name_off_the_list_never_carries_its_value(name: str, secret: bytes) -> None:
    if pascal_name(name) in ALLOWED_PARAMETERS:
        return
    marker = secret.hex()
    assert sanitize_parameters("Encrypt", {name: marker}) == {
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT"
    }


def test_audit_filters_are_recorded_only_for_audit_reads() -> None:
    filters = {"principal": "arn:aws:iam::1:user/a", "key": "k-1", "since": 5, "cursor": "c"}
    assert sanitize_parameters("SearchAuditEvents", filters) == filters
    assert sanitize_parameters("ExportAuditEvents", filters) == {
        "principal": "arn:aws:iam::1:user/a",
        "key": "k-1",
        "since": 5,
    }
    assert sanitize_parameters("CreateKey", filters) == {}


def test_grant_constraints_are_recorded_and_sanitising_twice_changes_nothing() -> None:
    params = {
        "GranteePrincipal": "arn:aws:iam::111122223333:user/alice",
        "Operations": ["Decrypt"],
        "Constraints": {"EncryptionContextSubset": {"tenant": "t-1"}, "Bogus": {"a": "b"}},
        "GrantTokens": ["secret-token"],
    }
    once = sanitize_parameters("CreateGrant", params)
    assert once["constraints"] == {"encryptionContextSubset": {"tenant": "t-1"}}
    assert once["grantTokenCount"] == 1
    assert "secret-token" not in repr(once)
    assert sanitize_parameters("CreateGrant", once) == once
    assert "constraints" not in sanitize_parameters("CreateGrant", {"Constraints": "junk"})
