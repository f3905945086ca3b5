"""Sign, Verify and GetPublicKey on in-memory repositories."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from app.errors import (
    AccessDeniedError,
    DisabledError,
    InvalidGrantTokenError,
    InvalidKeyUsageError,
    InvalidStateError,
    KMSInvalidSignatureError,
    UnsupportedOperationError,
    ValidationError,
)
from app.operations import keys, policy_documents, signing
from tests.unit.operations.conftest import ALICE, ROOT
from tests.unit.operations.fakes import ACCOUNT, FakeWorld


def new_key(world: FakeWorld, spec: str, usage: str = "SIGN_VERIFY") -> str:
    request = keys.CreateKeyRequest(key_spec=spec, key_usage=usage)
    key_id: str = keys.create_key(world.services, ROOT, request)["KeyMetadata"]["KeyId"]
    return key_id


def sign(world: FakeWorld, key_id: str, algorithm: str, message: bytes, **extra: object) -> bytes:
    result = signing.sign(
        world.services,
        ROOT,
        signing.SignRequest(key_id, message, algorithm, **extra),  # type: ignore[arg-type]
    )
    assert result["SigningAlgorithm"] == algorithm
    signature: bytes = result["Signature"]
    return signature


def verify(
    world: FakeWorld, key_id: str, algorithm: str, message: bytes, signature: bytes, **extra: object
) -> dict[str, object]:
    return signing.verify(
        world.services,
        ROOT,
        signing.VerifyRequest(key_id, message, signature, algorithm, **extra),  # type: ignore[arg-type]
    )


def public_key(world: FakeWorld, key_id: str) -> dict[str, object]:
    return signing.get_public_key(world.services, ROOT, signing.GetPublicKeyRequest(key_id))


def test_a_signature_verifies_in_trent_and_with_the_public_key_outside(world: FakeWorld) -> None:
    key_id = new_key(world, "ECC_NIST_P256")
    signature = sign(world, key_id, "ECDSA_SHA_256", b"invoice 42")
    result = verify(world, key_id, "ECDSA_SHA_256", b"invoice 42", signature)
    assert result["SignatureValid"] is True and str(result["KeyId"]).endswith(key_id)
    answer = public_key(world, key_id)
    assert answer["KeySpec"] == "ECC_NIST_P256" and answer["KeyUsage"] == "SIGN_VERIFY"
    assert answer["SigningAlgorithms"] == ["ECDSA_SHA_256"]
    public = serialization.load_der_public_key(answer["PublicKey"])  # type: ignore[arg-type]
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, b"invoice 42", ec.ECDSA(hashes.SHA256()))


def test_a_digest_signature_verifies_as_the_raw_message(world: FakeWorld) -> None:
    key_id = new_key(world, "RSA_2048")
    digest = hashlib.sha384(b"document").digest()
    signature = sign(world, key_id, "RSASSA_PSS_SHA_384", digest, message_type="DIGEST")
    verify(world, key_id, "RSASSA_PSS_SHA_384", b"document", signature)
    answer = public_key(world, key_id)
    public = serialization.load_der_public_key(answer["PublicKey"])  # type: ignore[arg-type]
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        signature,
        b"document",
        padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
        hashes.SHA384(),
    )


def test_an_invalid_signature_is_an_error_with_an_empty_message(world: FakeWorld) -> None:
    key_id = new_key(world, "ECC_SECG_P256K1")
    signature = sign(world, key_id, "ECDSA_SHA_256", b"m")
    for message, candidate in ((b"other", signature), (b"m", signature[:-1]), (b"m", b"\x00")):
        with pytest.raises(KMSInvalidSignatureError) as info:
            verify(world, key_id, "ECDSA_SHA_256", message, candidate)
        assert info.value.message == ""


def test_keys_of_other_usages_and_wrong_algorithms_are_invalid_key_usage(world: FakeWorld) -> None:
    hmac_key = new_key(world, "HMAC_256", "GENERATE_VERIFY_MAC")
    with pytest.raises(InvalidKeyUsageError) as info:
        sign(world, hmac_key, "ECDSA_SHA_256", b"m")
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{hmac_key}"
    assert (
        info.value.message == f"{arn} key usage is GENERATE_VERIFY_MAC which is not valid for Sign."
    )
    rsa_encryption = new_key(world, "RSA_2048", "ENCRYPT_DECRYPT")
    with pytest.raises(InvalidKeyUsageError):
        sign(world, rsa_encryption, "RSASSA_PSS_SHA_256", b"m")
    p384 = new_key(world, "ECC_NIST_P384")
    with pytest.raises(InvalidKeyUsageError) as info:
        sign(world, p384, "ECDSA_SHA_256", b"m")
    assert (
        info.value.message == "Algorithm ECDSA_SHA_256 is incompatible with key spec ECC_NIST_P384."
    )
    symmetric = keys.create_key(world.services, ROOT, keys.CreateKeyRequest())["KeyMetadata"][
        "KeyId"
    ]
    with pytest.raises(InvalidKeyUsageError):
        verify(world, symmetric, "ECDSA_SHA_256", b"m", b"sig")


def test_digest_length_and_message_type_are_checked(world: FakeWorld) -> None:
    key_id = new_key(world, "ECC_NIST_P521")
    with pytest.raises(ValidationError) as info:
        sign(world, key_id, "ECDSA_SHA_512", b"\x00" * 32, message_type="DIGEST")
    assert info.value.message == "Digest is invalid length for algorithm ECDSA_SHA_512."
    with pytest.raises(ValidationError):
        sign(world, key_id, "ECDSA_SHA_512", b"\x00" * 64, message_type="EXTERNAL_MU")


def test_disabled_and_pending_deletion_keys_refuse_to_sign(world: FakeWorld) -> None:
    key_id = new_key(world, "ECC_NIST_P256")
    keys.disable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    with pytest.raises(DisabledError):
        sign(world, key_id, "ECDSA_SHA_256", b"m")
    with pytest.raises(DisabledError):
        public_key(world, key_id)
    keys.schedule_key_deletion(world.services, ROOT, keys.ScheduleKeyDeletionRequest(key_id, 7))
    with pytest.raises(InvalidStateError):
        verify(world, key_id, "ECDSA_SHA_256", b"m", b"sig")


def test_get_public_key_of_a_symmetric_or_hmac_key_is_unsupported(world: FakeWorld) -> None:
    symmetric = keys.create_key(world.services, ROOT, keys.CreateKeyRequest())["KeyMetadata"][
        "KeyId"
    ]
    for key_id in (symmetric, new_key(world, "HMAC_384", "GENERATE_VERIFY_MAC")):
        with pytest.raises(UnsupportedOperationError):
            public_key(world, key_id)
    encryption_key = new_key(world, "RSA_3072", "ENCRYPT_DECRYPT")
    answer = public_key(world, encryption_key)
    assert answer["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    assert "SigningAlgorithms" not in answer


def test_grant_tokens_are_refused_as_by_the_other_operations(world: FakeWorld) -> None:
    key_id = new_key(world, "ECC_NIST_P256")
    with pytest.raises(InvalidGrantTokenError):
        sign(world, key_id, "ECDSA_SHA_256", b"m", grant_tokens=["token"])
    with pytest.raises(InvalidGrantTokenError):
        signing.get_public_key(
            world.services, ROOT, signing.GetPublicKeyRequest(key_id, grant_tokens=["t"])
        )


def test_signing_algorithm_and_message_type_conditions_are_enforced(world: FakeWorld) -> None:
    key_id = new_key(world, "RSA_2048")
    alice = f"arn:aws:iam::{ACCOUNT}:user/alice"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AliceSignsPssDigests",
                "Effect": "Allow",
                "Principal": {"AWS": alice},
                "Action": ["kms:Sign", "kms:GetPublicKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:SigningAlgorithm": "RSASSA_PSS_SHA_256",
                        "kms:MessageType": "DIGEST",
                        "kms:KeySpec": "RSA_2048",
                        "kms:KeyUsage": "SIGN_VERIFY",
                    }
                },
            },
        ],
    }
    policy_documents.put_key_policy(
        world.services,
        ROOT,
        policy_documents.PutKeyPolicyRequest(key_id, json.dumps(policy)),
    )
    digest = hashlib.sha256(b"m").digest()
    signing.sign(
        world.services,
        ALICE,
        signing.SignRequest(key_id, digest, "RSASSA_PSS_SHA_256", message_type="DIGEST"),
    )
    with pytest.raises(AccessDeniedError):
        signing.sign(world.services, ALICE, signing.SignRequest(key_id, b"m", "RSASSA_PSS_SHA_256"))
    with pytest.raises(AccessDeniedError):
        signing.sign(
            world.services,
            ALICE,
            signing.SignRequest(key_id, digest, "RSASSA_PKCS1_V1_5_SHA_256", message_type="DIGEST"),
        )
    # GetPublicKey has no signing algorithm: the condition is false for it.
    with pytest.raises(AccessDeniedError):
        signing.get_public_key(world.services, ALICE, signing.GetPublicKeyRequest(key_id))
