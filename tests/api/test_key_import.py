"""Imported key material on both doors: CreateKey Origin=EXTERNAL,
GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial, the
expiry of material through the scheduler, and every refusal in each
door's dialect."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from flask import Flask
from werkzeug.test import TestResponse

from app.config import Settings
from app.crypto.key_import import wrap_key_material
from app.operations.scheduler import run_jobs_once
from tests.api.kms import Kms, audit_events
from tests.conftest import b64, services_of, unb64

DAY = 86400


def path(key_id: str, operation: str) -> str:
    return f"/v1/keys/{quote(key_id, safe='')}/{operation}"


def error(response: TestResponse) -> tuple[int, str, str]:
    body = response.get_json()
    return response.status_code, body["error"]["code"], body["error"]["message"]


def aws_error(response: TestResponse) -> tuple[int, str, str]:
    body = response.get_json(force=True)
    return response.status_code, body["__type"], body.get("message", "")


def external(root: Kms, **body: Any) -> dict[str, Any]:
    response = root.create_key(Origin="EXTERNAL", **body)
    assert response.status_code == 200, response.get_data(as_text=True)
    metadata: dict[str, Any] = response.get_json()["KeyMetadata"]
    return metadata


def parameters(
    root: Kms,
    key_id: str,
    algorithm: str = "RSAES_OAEP_SHA_256",
    spec: str = "RSA_2048",
) -> dict[str, Any]:
    body = {"WrappingAlgorithm": algorithm, "WrappingKeySpec": spec}
    response = root.post(path(key_id, "import-parameters"), body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


def import_body(
    root: Kms, key_id: str, material: bytes, algorithm: str = "RSAES_OAEP_SHA_256", **extra: Any
) -> dict[str, Any]:
    params = parameters(root, key_id, algorithm)
    wrapped = wrap_key_material(unb64(params["PublicKey"]), algorithm, material)
    body = {"ImportToken": params["ImportToken"], "EncryptedKeyMaterial": b64(wrapped)}
    body.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return {**body, **extra}


def do_import(root: Kms, key_id: str, material: bytes, **extra: Any) -> TestResponse:
    return root.post(path(key_id, "key-material"), import_body(root, key_id, material, **extra))


events = audit_events


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- CreateKey, the round trip, delete and re-import ------------------------------------


def test_an_external_key_is_pending_import_and_refuses_use(root: Kms) -> None:
    metadata = external(root)
    assert metadata["KeyState"] == "PendingImport" and metadata["Enabled"] is False
    assert metadata["Origin"] == "EXTERNAL" and "CurrentKeyMaterialId" not in metadata
    arn = metadata["Arn"]
    assert root.describe(arn).get_json()["KeyMetadata"] == metadata
    status, code, message = error(root.encrypt(metadata["KeyId"], b"x"))
    assert (status, code, message) == (409, "KMSInvalidStateException", f"{arn} is pending import.")
    assert error(root.enable(metadata["KeyId"]))[1] == "KMSInvalidStateException"
    rotation = root.put(path(arn, "rotation"), {})
    assert error(rotation) == (
        400,
        "UnsupportedOperationException",
        f"{arn} origin is EXTERNAL which is not valid for this operation.",
    )
    on_aws = root.aws(
        "CreateKey",
        {"Origin": "EXTERNAL", "KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
    )
    assert on_aws.get_json(force=True)["KeyMetadata"]["KeyState"] == "PendingImport"
    refused = root.create_key(Origin="AWS_CLOUDHSM")
    assert error(refused)[:2] == (400, "ValidationException")


def test_import_delete_and_reimport_on_the_rest_door(root: Kms) -> None:
    key_id = external(root)["KeyId"]
    material = os.urandom(32)
    imported = do_import(root, key_id, material)
    assert imported.status_code == 200, imported.get_data(as_text=True)
    metadata = root.describe(key_id).get_json()["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled" and metadata["Enabled"] is True
    assert metadata["CurrentKeyMaterialId"] == imported.get_json()["KeyMaterialId"]
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert "ValidTo" not in metadata
    blob = root.ciphertext(key_id, b"secret")
    assert unb64(root.decrypt(blob).get_json()["Plaintext"]) == b"secret"

    deleted = root.delete(path(key_id, "key-material"))
    assert deleted.status_code == 200
    assert deleted.get_json()["KeyMaterialId"] == metadata["CurrentKeyMaterialId"]
    assert root.describe(key_id).get_json()["KeyMetadata"]["KeyState"] == "PendingImport"
    assert error(root.decrypt(blob))[1] == "KMSInvalidStateException"
    # Deleting again changes nothing.
    assert root.delete(path(key_id, "key-material")).status_code == 200

    other = do_import(root, key_id, os.urandom(32))
    assert error(other)[:2] == (400, "IncorrectKeyMaterialException")
    assert root.describe(key_id).get_json()["KeyMetadata"]["KeyState"] == "PendingImport"
    again = do_import(root, key_id, material, algorithm="RSA_AES_KEY_WRAP_SHA_1")
    assert again.status_code == 200, again.get_data(as_text=True)
    assert unb64(root.decrypt(blob).get_json()["Plaintext"]) == b"secret"
    # Re-importing into an enabled key: same material only.
    assert error(do_import(root, key_id, os.urandom(32)))[1] == "IncorrectKeyMaterialException"
    assert do_import(root, key_id, material).status_code == 200


@pytest.mark.parametrize(
    "algorithm",
    [
        "RSAES_OAEP_SHA_1",
        "RSAES_OAEP_SHA_256",
        "RSA_AES_KEY_WRAP_SHA_1",
        "RSA_AES_KEY_WRAP_SHA_256",
    ],
)
def test_each_wrapping_algorithm_on_the_aws_door(root: Kms, algorithm: str) -> None:
    key_id = external(root)["KeyId"]
    params = root.aws(
        "GetParametersForImport",
        {"KeyId": key_id, "WrappingAlgorithm": algorithm, "WrappingKeySpec": "RSA_2048"},
    ).get_json(force=True)
    assert params["KeyId"].endswith(key_id)
    assert params["ParametersValidTo"] > 0
    material = os.urandom(32)
    wrapped = wrap_key_material(base64.b64decode(params["PublicKey"]), algorithm, material)
    imported = root.aws(
        "ImportKeyMaterial",
        {
            "KeyId": key_id,
            "ImportToken": params["ImportToken"],
            "EncryptedKeyMaterial": b64(wrapped),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        },
    )
    assert imported.status_code == 200, imported.get_data(as_text=True)
    assert len(imported.get_json(force=True)["KeyMaterialId"]) == 64
    blob = root.aws("Encrypt", {"KeyId": key_id, "Plaintext": b64(b"hi")}).get_json(force=True)
    deleted = root.aws("DeleteImportedKeyMaterial", {"KeyId": key_id})
    assert deleted.status_code == 200
    refused = root.aws("Decrypt", {"CiphertextBlob": blob["CiphertextBlob"]})
    assert aws_error(refused)[1] == "KMSInvalidStateException"


def test_hmac_and_asymmetric_material_is_imported_and_used(root: Kms) -> None:
    mac_key = external(root, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyId"]
    secret = os.urandom(40)
    assert do_import(root, mac_key, secret).status_code == 200
    answer = root.post(path(mac_key, "mac"), {"Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"})
    expected = hmac.new(secret, b"m", hashlib.sha256).digest()
    assert unb64(answer.get_json()["Mac"]) == expected

    signer = external(root, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyId"]
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert do_import(root, signer, der).status_code == 200
    public = unb64(root.get(path(signer, "public-key")).get_json()["PublicKey"])
    assert public == private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signed = root.post(
        path(signer, "sign"), {"Message": b64(b"doc"), "SigningAlgorithm": "ECDSA_SHA_256"}
    )
    private.public_key().verify(
        unb64(signed.get_json()["Signature"]), b"doc", ec.ECDSA(hashes.SHA256())
    )

    rsa_key = external(root, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyId"]
    refused = root.post(
        path(rsa_key, "import-parameters"),
        {"WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"},
    )
    assert error(refused)[:2] == (400, "ValidationException")
    rsa_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_der = rsa_private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    imported = do_import(root, rsa_key, rsa_der, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    assert imported.status_code == 200, imported.get_data(as_text=True)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    ciphertext = rsa_private.public_key().encrypt(b"to the key", oaep)
    decrypted = root.post(
        "/v1/decrypt",
        {
            "KeyId": rsa_key,
            "CiphertextBlob": b64(ciphertext),
            "EncryptionAlgorithm": "RSAES_OAEP_SHA_256",
        },
    )
    assert unb64(decrypted.get_json()["Plaintext"]) == b"to the key"
    wrong_curve = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    other_signer = external(root, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyId"]
    assert error(do_import(root, other_signer, wrong_curve))[:2] == (400, "ValidationException")


# --- Refusals ----------------------------------------------------------------------------


def test_import_operations_refuse_keys_of_other_origins_on_both_doors(root: Kms) -> None:
    arn = root.create_key().get_json()["KeyMetadata"]["Arn"]
    message = f"{arn} origin is AWS_KMS which is not valid for this operation."
    rest = root.post(
        path(arn, "import-parameters"),
        {"WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"},
    )
    assert error(rest) == (400, "UnsupportedOperationException", message)
    assert error(root.delete(path(arn, "key-material")))[1] == "UnsupportedOperationException"
    aws = root.aws("DeleteImportedKeyMaterial", {"KeyId": arn})
    assert aws_error(aws) == (400, "UnsupportedOperationException", message)
    assert (
        aws_error(
            root.aws(
                "ImportKeyMaterial",
                {"KeyId": arn, "ImportToken": b64(b"t"), "EncryptedKeyMaterial": b64(b"m")},
            )
        )[1]
        == "UnsupportedOperationException"
    )


@pytest.mark.parametrize(
    ("change", "status", "code", "message"),
    [
        (
            {"ExpirationModel": "KEY_MATERIAL_EXPIRES"},
            400,
            "ValidationException",
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
        ),
        ({"ExpirationModel": None}, 400, "ValidationException", "A validTo date must be set"),
        (
            {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE", "ValidTo": "FUTURE"},
            400,
            "ValidationException",
            "must not be set",
        ),
        ({"ExpirationModel": None, "ValidTo": "PAST"}, 400, "ValidationException", "future"),
        ({"ExpirationModel": None, "ValidTo": "TOO_FAR"}, 400, "ValidationException", "365"),
        ({"ValidTo": "text"}, 400, "ValidationException", "validTo"),
        ({"ImportToken": b64(b"forged")}, 400, "InvalidImportTokenException", ""),
        ({"EncryptedKeyMaterial": b64(bytes(256))}, 400, "InvalidCiphertextException", ""),
        (
            {"ImportType": "NEW_KEY_MATERIAL", "SECOND": True},
            400,
            "UnsupportedOperationException",
            "",
        ),
        ({"KeyMaterialId": "0" * 64}, 400, "IncorrectKeyMaterialException", ""),
        ({"ExpirationModel": "SOMETIMES"}, 400, "ValidationException", "expirationModel"),
    ],
)
def test_import_refusals_change_nothing(
    root: Kms, app: Flask, change: dict[str, Any], status: int, code: str, message: str
) -> None:
    key_id = external(root)["KeyId"]
    material = os.urandom(32)
    if change.pop("SECOND", False):
        assert do_import(root, key_id, material).status_code == 200
    body = import_body(root, key_id, material)
    now = services_of(app).now()
    times = {"FUTURE": now + DAY, "PAST": now - 1, "TOO_FAR": now + 366 * DAY}
    for name, value in change.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = times.get(value, value) if isinstance(value, str) else value
    before = root.describe(key_id).get_json()["KeyMetadata"]
    refused = root.post(path(key_id, "key-material"), body)
    got = error(refused)
    assert got[:2] == (status, code) and message in got[2], got
    assert root.describe(key_id).get_json()["KeyMetadata"] == before
    aws = root.aws("ImportKeyMaterial", {"KeyId": key_id, **body})
    assert aws_error(aws)[1] == code


def test_a_token_is_for_one_key_and_expires_after_a_day(root: Kms, app: Flask) -> None:
    first = external(root)["KeyId"]
    second = external(root)["KeyId"]
    body = import_body(root, first, os.urandom(32))
    assert error(root.post(path(second, "key-material"), body))[1] == "InvalidImportTokenException"
    services = services_of(app)
    real = services.clock
    services.clock = Clock(real() + DAY + 1)
    try:
        expired = root.post(path(first, "key-material"), body)
    finally:
        services.clock = real
    assert error(expired)[:2] == (400, "ExpiredImportTokenException")
    assert root.post(path(first, "key-material"), body).status_code == 200


def test_import_states_and_bad_parameters(root: Kms) -> None:
    key_id = external(root)["KeyId"]
    for body, member in (
        ({"WrappingAlgorithm": "RSAES_PKCS1_V1_5", "WrappingKeySpec": "RSA_2048"}, "Algorithm"),
        ({"WrappingAlgorithm": "RSAES_OAEP_SHA_1", "WrappingKeySpec": "SM2"}, "KeySpec"),
        (
            {"WrappingAlgorithm": "RSAES_OAEP_SHA_1", "WrappingKeySpec": "RSA_1024"},
            "wrappingKeySpec",
        ),
        ({"WrappingAlgorithm": "RSAES_OAEP_SHA_1"}, "wrappingKeySpec"),
    ):
        got = error(root.post(path(key_id, "import-parameters"), body))
        assert got[:2] == (400, "ValidationException") and member in got[2], got
    assert root.schedule_deletion(key_id, 7).status_code == 200
    pending = root.post(
        path(key_id, "import-parameters"),
        {"WrappingAlgorithm": "RSAES_OAEP_SHA_1", "WrappingKeySpec": "RSA_2048"},
    )
    assert error(pending)[:2] == (409, "KMSInvalidStateException")
    assert root.cancel_deletion(key_id).status_code == 200
    assert root.describe(key_id).get_json()["KeyMetadata"]["KeyState"] == "PendingImport"
    unknown = root.delete(path(key_id, "key-material"), KeyMaterialId="ab" * 32)
    assert error(unknown)[:2] == (404, "NotFoundException")


def test_import_actions_follow_the_condition_keys(root: Kms, app: Flask) -> None:
    now = services_of(app).now()
    limit = datetime.fromtimestamp(now + 30 * DAY, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def deny(action: str, condition: dict[str, Any]) -> dict[str, Any]:
        return {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": action,
            "Resource": "*",
            "Condition": condition,
        }

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            deny(
                "kms:GetParametersForImport",
                {"StringEquals": {"kms:WrappingKeySpec": "RSA_3072"}},
            ),
            deny(
                "kms:GetParametersForImport",
                {"StringEquals": {"kms:WrappingAlgorithm": "RSAES_OAEP_SHA_1"}},
            ),
            deny(
                "kms:ImportKeyMaterial",
                {"StringEquals": {"kms:ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}},
            ),
            deny("kms:ImportKeyMaterial", {"DateGreaterThan": {"kms:ValidTo": limit}}),
        ],
    }
    key_id = external(root, Policy=json.dumps(policy))["KeyId"]
    for algorithm, spec in (("RSAES_OAEP_SHA_256", "RSA_3072"), ("RSAES_OAEP_SHA_1", "RSA_2048")):
        denied = root.post(
            path(key_id, "import-parameters"),
            {"WrappingAlgorithm": algorithm, "WrappingKeySpec": spec},
        )
        assert error(denied)[:2] == (403, "AccessDeniedException")
    material = os.urandom(32)
    assert error(do_import(root, key_id, material))[:2] == (403, "AccessDeniedException")
    expires = {"ExpirationModel": "KEY_MATERIAL_EXPIRES"}
    too_late = do_import(root, key_id, material, **expires, ValidTo=now + 60 * DAY)
    assert error(too_late)[:2] == (403, "AccessDeniedException")
    allowed = do_import(root, key_id, material, **expires, ValidTo=now + 10 * DAY)
    assert allowed.status_code == 200, allowed.get_data(as_text=True)


# --- Expiry through the scheduler ---------------------------------------------------------


def test_expired_material_refuses_encrypt_and_its_deletion_is_audited(
    root: Kms, app: Flask, settings: Settings
) -> None:
    metadata = external(root)
    key_id, arn = metadata["KeyId"], metadata["Arn"]
    services = services_of(app)
    real = services.clock
    valid_to = real() + 60
    material = os.urandom(32)
    imported = do_import(
        root, key_id, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to
    )
    assert imported.status_code == 200, imported.get_data(as_text=True)
    described = root.describe(key_id).get_json()["KeyMetadata"]
    assert described["ValidTo"] == valid_to and described["KeyState"] == "Enabled"
    (recorded,) = [e for e in events(settings) if e["eventName"] == "ImportKeyMaterial"]
    recorded_valid_to = datetime.fromisoformat(recorded["requestParameters"]["validTo"])
    assert abs(recorded_valid_to.timestamp() - valid_to) < 0.001
    assert recorded["requestParameters"]["expirationModel"] == "KEY_MATERIAL_EXPIRES"
    blob = root.ciphertext(key_id, b"short-lived")

    later = Clock(valid_to + 1)
    services.clock = later
    try:
        # Refused at once, before the scheduler has run: expired material is unusable.
        assert error(root.encrypt(key_id, b"x")) == (
            409,
            "KMSInvalidStateException",
            f"{arn} is pending import.",
        )
        with app.app_context():
            run_jobs_once(services)
        assert root.describe(key_id).get_json()["KeyMetadata"]["KeyState"] == "PendingImport"
        assert error(root.encrypt(key_id, b"x"))[1] == "KMSInvalidStateException"
        assert error(root.decrypt(blob))[1] == "KMSInvalidStateException"
        # A second run finds nothing more to expire.
        with app.app_context():
            run_jobs_once(services)
    finally:
        services.clock = real
    trail = events(settings)
    expiries = [e for e in trail if e["eventName"] == "DeleteExpiredKeyMaterial"]
    assert len(expiries) == 1 and arn in json.dumps(expiries[0])
    refusals = [
        e
        for e in trail
        if e["eventName"] == "Encrypt" and e.get("errorCode") == "KMSInvalidStateException"
    ]
    assert len(refusals) == 2
    # The same material brings the key and its ciphertexts back.
    assert do_import(root, key_id, material).status_code == 200
    assert unb64(root.decrypt(blob).get_json()["Plaintext"]) == b"short-lived"


def test_no_token_or_material_reaches_the_audit_log(root: Kms, settings: Settings) -> None:
    key_id = external(root)["KeyId"]
    material = os.urandom(32)
    body = import_body(root, key_id, material)
    assert root.post(path(key_id, "key-material"), body).status_code == 200
    text = json.dumps(events(settings))
    for secret in (body["ImportToken"], body["EncryptedKeyMaterial"], b64(material)):
        assert secret not in text
    assert '"expirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"' in text
