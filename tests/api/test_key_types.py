"""The operations of HMAC and asymmetric keys on both doors: every route,
its answers and its errors, in each door's dialect, and their audit events."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from werkzeug.test import TestResponse

from app.config import Settings
from tests.api.kms import Kms, audit_events
from tests.conftest import TokenFactory, b64, unb64


def key_path(key_id: str, operation: str) -> str:
    return f"/v1/keys/{quote(key_id, safe='')}/{operation}"


def error(response: TestResponse) -> tuple[int, str, str]:
    body = response.get_json()
    return response.status_code, body["error"]["code"], body["error"]["message"]


def aws_error(response: TestResponse) -> tuple[int, str, str]:
    body = response.get_json(force=True)
    return response.status_code, body["__type"], body.get("message", "")


def new_key(root: Kms, spec: str, usage: str) -> dict[str, Any]:
    response = root.create_key(KeySpec=spec, KeyUsage=usage)
    assert response.status_code == 200, response.get_data(as_text=True)
    metadata: dict[str, Any] = response.get_json()["KeyMetadata"]
    return metadata


events = audit_events


# --- CreateKey and DescribeKey ----------------------------------------------------------


def test_create_key_of_each_family_on_both_doors(root: Kms) -> None:
    ecc = new_key(root, "ECC_NIST_P256", "SIGN_VERIFY")
    assert ecc["SigningAlgorithms"] == ["ECDSA_SHA_256"] and "EncryptionAlgorithms" not in ecc
    hmac_key = root.aws("CreateKey", {"KeySpec": "HMAC_384", "KeyUsage": "GENERATE_VERIFY_MAC"})
    assert hmac_key.status_code == 200
    assert hmac_key.get_json(force=True)["KeyMetadata"]["MacAlgorithms"] == ["HMAC_SHA_384"]
    described = root.describe(ecc["KeyId"]).get_json()["KeyMetadata"]
    assert described == ecc


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"KeySpec": "RSA_2048"},
            "You must specify a KeyUsage value for all KMS keys except for symmetric "
            "encryption keys.",
        ),
        (
            {"KeySpec": "HMAC_256", "KeyUsage": "SIGN_VERIFY"},
            "KeyUsage SIGN_VERIFY is not compatible with KeySpec HMAC_256",
        ),
        (
            {"KeySpec": "ECC_NIST_EDWARDS25519", "KeyUsage": "SIGN_VERIFY"},
            "KeySpec ECC_NIST_EDWARDS25519 is not supported by this service.",
        ),
    ],
)
def test_create_key_refusals_are_400_on_both_doors(
    root: Kms, body: dict[str, str], message: str
) -> None:
    assert error(root.create_key(**body)) == (400, "ValidationException", message)
    assert aws_error(root.aws("CreateKey", body)) == (400, "ValidationException", message)


# --- Sign, Verify, GetPublicKey ---------------------------------------------------------


def test_sign_verify_and_public_key_over_rest(root: Kms) -> None:
    key = new_key(root, "RSA_2048", "SIGN_VERIFY")
    message = b"release 1.2.3"
    signed = root.post(
        key_path(key["KeyId"], "sign"),
        {"Message": b64(message), "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"},
    )
    assert signed.status_code == 200
    body = signed.get_json()
    assert body["KeyId"] == key["Arn"] and body["SigningAlgorithm"] == "RSASSA_PKCS1_V1_5_SHA_256"
    signature = unb64(body["Signature"])
    verified = root.post(
        key_path(key["KeyId"], "verify"),
        {
            "Message": b64(hashlib.sha256(message).digest()),
            "MessageType": "DIGEST",
            "Signature": body["Signature"],
            "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256",
        },
    )
    assert verified.status_code == 200
    assert verified.get_json() == {
        "KeyId": key["Arn"],
        "SignatureValid": True,
        "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256",
    }
    answer = root.get(key_path(key["KeyId"], "public-key"))
    assert answer.status_code == 200
    document = answer.get_json()
    assert document["KeySpec"] == document["CustomerMasterKeySpec"] == "RSA_2048"
    assert document["KeyUsage"] == "SIGN_VERIFY" and len(document["SigningAlgorithms"]) == 6
    public = serialization.load_der_public_key(unb64(document["PublicKey"]))
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_sign_verify_and_public_key_over_the_aws_door(root: Kms) -> None:
    key = new_key(root, "ECC_NIST_P384", "SIGN_VERIFY")
    signed = root.aws(
        "Sign", {"KeyId": key["Arn"], "Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_384"}
    )
    assert signed.status_code == 200
    signature = signed.get_json(force=True)["Signature"]
    verified = root.aws(
        "Verify",
        {
            "KeyId": key["KeyId"],
            "Message": b64(b"m"),
            "Signature": signature,
            "SigningAlgorithm": "ECDSA_SHA_384",
        },
    )
    assert verified.get_json(force=True)["SignatureValid"] is True
    public = root.aws("GetPublicKey", {"KeyId": key["KeyId"]}).get_json(force=True)
    loaded = serialization.load_der_public_key(base64.b64decode(public["PublicKey"]))
    assert isinstance(loaded, ec.EllipticCurvePublicKey) and loaded.curve.name == "secp384r1"
    loaded.verify(unb64(signature), b"m", ec.ECDSA(hashes.SHA384()))


def test_signing_errors_on_both_doors(root: Kms) -> None:
    key = new_key(root, "ECC_NIST_P256", "SIGN_VERIFY")
    hmac_key = new_key(root, "HMAC_256", "GENERATE_VERIFY_MAC")
    good = {"Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"}
    bad_signature = {**good, "Signature": b64(b"\x30\x06\x02\x01\x01\x02\x01\x01")}
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        (key["KeyId"], "Verify", bad_signature, 400, "KMSInvalidSignatureException"),
        (
            key["KeyId"],
            "Sign",
            {**good, "SigningAlgorithm": "ECDSA_SHA_384"},
            400,
            "InvalidKeyUsageException",
        ),
        (hmac_key["KeyId"], "Sign", good, 400, "InvalidKeyUsageException"),
        (key["KeyId"], "Sign", {**good, "SigningAlgorithm": "RSA"}, 400, "ValidationException"),
        (key["KeyId"], "Sign", {"SigningAlgorithm": "ECDSA_SHA_256"}, 400, "ValidationException"),
        (key["KeyId"], "Sign", {**good, "Message": b64(b"m" * 4097)}, 400, "ValidationException"),
        (key["KeyId"], "Sign", {**good, "Message": "not base64!"}, 400, "ValidationException"),
        (key["KeyId"], "Sign", {**good, "MessageType": "DIGEST"}, 400, "ValidationException"),
        (key["KeyId"], "Sign", {**good, "GrantTokens": ["t"]}, 400, "InvalidGrantTokenException"),
        ("alias/none", "Sign", good, 404, "NotFoundException"),
    ]
    for key_id, operation, body, status, code in cases:
        rest = root.post(key_path(key_id, operation.lower()), body)
        assert error(rest)[:2] == (status, code), (operation, body, rest.get_json())
        aws = root.aws(operation, {"KeyId": key_id, **body})
        assert aws_error(aws)[:2] == (400, code), (operation, body)
    # An invalid signature says nothing more than its code, as AWS.
    assert error(root.post(key_path(key["KeyId"], "verify"), bad_signature))[2] == ""
    assert "message" not in root.aws("Verify", {"KeyId": key["KeyId"], **bad_signature}).get_json(
        force=True
    )


def test_public_key_errors(root: Kms) -> None:
    symmetric = root.new_key()
    assert error(root.get(key_path(symmetric, "public-key")))[:2] == (
        400,
        "UnsupportedOperationException",
    )
    key = new_key(root, "ECC_NIST_P256", "SIGN_VERIFY")
    assert root.disable(key["KeyId"]).status_code == 200
    assert error(root.get(key_path(key["KeyId"], "public-key")))[:2] == (409, "DisabledException")
    assert aws_error(root.aws("GetPublicKey", {"KeyId": key["KeyId"]}))[:2] == (
        400,
        "DisabledException",
    )
    # The REST route takes its key from the path only.
    refused = root.client.get(
        key_path(key["KeyId"], "public-key"), query_string={"KeyId": "x"}, headers=root.headers
    )
    assert refused.status_code == 400


# --- GenerateMac, VerifyMac -------------------------------------------------------------


def test_mac_and_verify_mac_on_both_doors(root: Kms) -> None:
    key = new_key(root, "HMAC_512", "GENERATE_VERIFY_MAC")
    made = root.post(
        key_path(key["KeyId"], "mac"), {"Message": b64(b"hook"), "MacAlgorithm": "HMAC_SHA_512"}
    )
    assert made.status_code == 200
    body = made.get_json()
    assert body["KeyId"] == key["Arn"] and len(unb64(body["Mac"])) == 64
    verified = root.aws(
        "VerifyMac",
        {
            "KeyId": key["Arn"],
            "Message": b64(b"hook"),
            "Mac": body["Mac"],
            "MacAlgorithm": "HMAC_SHA_512",
        },
    )
    assert verified.get_json(force=True) == {
        "KeyId": key["Arn"],
        "MacValid": True,
        "MacAlgorithm": "HMAC_SHA_512",
    }
    wrong = root.post(
        key_path(key["KeyId"], "verify-mac"),
        {"Message": b64(b"hook!"), "Mac": body["Mac"], "MacAlgorithm": "HMAC_SHA_512"},
    )
    assert error(wrong) == (400, "KMSInvalidMacException", "")
    mismatch = root.aws(
        "GenerateMac", {"KeyId": key["KeyId"], "Message": b64(b"x"), "MacAlgorithm": "HMAC_SHA_256"}
    )
    assert aws_error(mismatch) == (
        400,
        "InvalidKeyUsageException",
        "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_512.",
    )
    too_long = root.post(
        key_path(key["KeyId"], "mac"),
        {"Message": b64(b"x"), "MacAlgorithm": "HMAC_SHA_512", "Mac": b64(b"x")},
    )
    assert error(too_long)[:2] == (400, "ValidationException")  # an unknown member on REST


# --- GenerateDataKeyPair and RSA encryption ---------------------------------------------


def test_data_key_pairs_on_both_doors(root: Kms) -> None:
    key_id = root.new_key()
    context = {"purpose": "pair"}
    made = root.post(
        key_path(key_id, "data-key-pair"),
        {"KeyPairSpec": "ECC_NIST_P256", "EncryptionContext": context},
    )
    assert made.status_code == 200
    body = made.get_json()
    assert body["KeyPairSpec"] == "ECC_NIST_P256" and "PrivateKeyPlaintext" in body
    decrypted = root.decrypt(body["PrivateKeyCiphertextBlob"], context).get_json()
    assert decrypted["Plaintext"] == body["PrivateKeyPlaintext"]
    without = root.post(
        key_path(key_id, "data-key-pair") + "?plaintext=false", {"KeyPairSpec": "RSA_2048"}
    )
    assert without.status_code == 200 and "PrivateKeyPlaintext" not in without.get_json()
    aws = root.aws(
        "GenerateDataKeyPairWithoutPlaintext", {"KeyId": key_id, "KeyPairSpec": "ECC_SECG_P256K1"}
    ).get_json(force=True)
    assert "PrivateKeyPlaintext" not in aws and aws["KeyPairSpec"] == "ECC_SECG_P256K1"
    assert aws_error(root.aws("GenerateDataKeyPair", {"KeyId": key_id, "KeyPairSpec": "SM2"}))[
        :2
    ] == (400, "UnsupportedOperationException")
    assert error(root.post(key_path(key_id, "data-key-pair"), {"KeyPairSpec": "DSA"}))[:2] == (
        400,
        "ValidationException",
    )
    signing_key = new_key(root, "ECC_NIST_P256", "SIGN_VERIFY")
    assert error(
        root.post(key_path(signing_key["KeyId"], "data-key-pair"), {"KeyPairSpec": "RSA_2048"})
    )[:2] == (400, "InvalidKeyUsageException")


def test_rsa_encrypt_and_decrypt_on_both_doors(root: Kms) -> None:
    key = new_key(root, "RSA_2048", "ENCRYPT_DECRYPT")
    encrypted = root.post(
        key_path(key["KeyId"], "encrypt"),
        {"Plaintext": b64(b"secret"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
    )
    assert encrypted.status_code == 200
    blob = encrypted.get_json()["CiphertextBlob"]
    decrypted = root.aws(
        "Decrypt",
        {"CiphertextBlob": blob, "KeyId": key["Arn"], "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
    ).get_json(force=True)
    assert unb64(decrypted["Plaintext"]) == b"secret"
    assert decrypted["EncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    too_long = root.post(
        key_path(key["KeyId"], "encrypt"),
        {"Plaintext": b64(b"x" * 215), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"},
    )
    assert error(too_long) == (
        400,
        "ValidationException",
        "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data larger than "
        "214 bytes.",
    )
    default = root.post(key_path(key["KeyId"], "encrypt"), {"Plaintext": b64(b"x")})
    assert error(default)[:2] == (400, "InvalidKeyUsageException")
    tampered = root.post(
        "/v1/decrypt",
        {
            "CiphertextBlob": b64(b"\x00" * 256),
            "KeyId": key["KeyId"],
            "EncryptionAlgorithm": "RSAES_OAEP_SHA_256",
        },
    )
    assert error(tampered) == (400, "InvalidCiphertextException", "")


# --- Audit --------------------------------------------------------------------------------


def test_events_record_the_algorithms_and_never_a_message_signature_mac_or_private_key(
    root: Kms, settings: Settings, token: TokenFactory
) -> None:
    signing_key = new_key(root, "ECC_NIST_P256", "SIGN_VERIFY")
    hmac_key = new_key(root, "HMAC_256", "GENERATE_VERIFY_MAC")
    symmetric = root.new_key()
    message = b"audit-me-not-" + bytes(range(16))
    signature = root.post(
        key_path(signing_key["KeyId"], "sign"),
        {"Message": b64(message), "SigningAlgorithm": "ECDSA_SHA_256"},
    ).get_json()["Signature"]
    mac = root.post(
        key_path(hmac_key["KeyId"], "mac"),
        {"Message": b64(message), "MacAlgorithm": "HMAC_SHA_256"},
    ).get_json()["Mac"]
    pair = root.post(key_path(symmetric, "data-key-pair"), {"KeyPairSpec": "ECC_NIST_P256"})
    private = pair.get_json()["PrivateKeyPlaintext"]
    recorded = events(settings)
    by_name = {e["eventName"]: e for e in recorded}
    assert by_name["Sign"]["requestParameters"] == {
        "keyId": signing_key["KeyId"],
        "signingAlgorithm": "ECDSA_SHA_256",
        "messageType": "RAW",
    }
    assert by_name["Sign"]["resources"] == [signing_key["Arn"]]
    assert by_name["GenerateMac"]["requestParameters"]["macAlgorithm"] == "HMAC_SHA_256"
    assert by_name["GenerateDataKeyPair"]["requestParameters"]["keyPairSpec"] == "ECC_NIST_P256"
    text = json.dumps(recorded)
    for secret in (b64(message), message.hex(), signature, mac, private, private[:40]):
        assert secret not in text
