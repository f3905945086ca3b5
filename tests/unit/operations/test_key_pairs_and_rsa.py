"""GenerateDataKeyPair(+WithoutPlaintext) and RSAES-OAEP Encrypt/Decrypt on
in-memory repositories."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.errors import (
    InvalidCiphertextError,
    InvalidKeyUsageError,
    UnsupportedOperationError,
    ValidationError,
)
from app.operations import encryption, key_pairs, keys
from tests.unit.operations.conftest import ROOT
from tests.unit.operations.fakes import FakeWorld


def symmetric_key(world: FakeWorld) -> str:
    key_id: str = keys.create_key(world.services, ROOT, keys.CreateKeyRequest())["KeyMetadata"][
        "KeyId"
    ]
    return key_id


def rsa_key(world: FakeWorld, spec: str = "RSA_2048") -> str:
    request = keys.CreateKeyRequest(key_spec=spec, key_usage="ENCRYPT_DECRYPT")
    key_id: str = keys.create_key(world.services, ROOT, request)["KeyMetadata"]["KeyId"]
    return key_id


def pair(world: FakeWorld, key_id: str, spec: str, **extra: object) -> dict[str, object]:
    return key_pairs.generate_data_key_pair(
        world.services,
        ROOT,
        key_pairs.GenerateDataKeyPairRequest(key_id, spec, **extra),  # type: ignore[arg-type]
    )


def test_the_private_key_decrypts_to_the_plaintext_with_the_context(world: FakeWorld) -> None:
    key_id = symmetric_key(world)
    context = {"service": "billing"}
    result = pair(world, key_id, "ECC_NIST_P384", encryption_context=context)
    assert result["KeyPairSpec"] == "ECC_NIST_P384" and str(result["KeyId"]).endswith(key_id)
    decrypted = encryption.decrypt(
        world.services,
        ROOT,
        encryption.DecryptRequest(result["PrivateKeyCiphertextBlob"], encryption_context=context),  # type: ignore[arg-type]
    )
    assert decrypted["Plaintext"] == result["PrivateKeyPlaintext"]
    private = serialization.load_der_private_key(decrypted["Plaintext"], password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public == result["PublicKey"]
    with pytest.raises(InvalidCiphertextError):
        encryption.decrypt(
            world.services,
            ROOT,
            encryption.DecryptRequest(result["PrivateKeyCiphertextBlob"]),  # type: ignore[arg-type]
        )


def test_without_plaintext_the_private_key_is_only_encrypted(world: FakeWorld) -> None:
    result = pair(world, symmetric_key(world), "RSA_2048", with_plaintext=False)
    assert "PrivateKeyPlaintext" not in result
    assert {"PrivateKeyCiphertextBlob", "PublicKey", "KeyId", "KeyPairSpec", "KeyMaterialId"} <= (
        result.keys()
    )


def test_key_pairs_need_a_symmetric_key_and_a_spec_trent_makes(world: FakeWorld) -> None:
    with pytest.raises(InvalidKeyUsageError):
        pair(world, rsa_key(world), "ECC_NIST_P256")
    with pytest.raises(UnsupportedOperationError) as info:
        pair(world, symmetric_key(world), "SM2")
    assert info.value.message == "KeyPairSpec SM2 is not supported by this service."


def test_rsa_encryption_round_trips_and_interoperates(world: FakeWorld) -> None:
    key_id = rsa_key(world, "RSA_3072")
    encrypted = encryption.encrypt(
        world.services,
        ROOT,
        encryption.EncryptRequest(key_id, b"secret", encryption_algorithm="RSAES_OAEP_SHA_256"),
    )
    assert encrypted["EncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    assert len(encrypted["CiphertextBlob"]) == 384
    decrypted = encryption.decrypt(
        world.services,
        ROOT,
        encryption.DecryptRequest(
            encrypted["CiphertextBlob"], key_id=key_id, encryption_algorithm="RSAES_OAEP_SHA_256"
        ),
    )
    assert decrypted["Plaintext"] == b"secret" and "KeyMaterialId" not in decrypted
    from app.operations import signing

    public_der = signing.get_public_key(world.services, ROOT, signing.GetPublicKeyRequest(key_id))
    public = serialization.load_der_public_key(public_der["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    outside = public.encrypt(
        b"from outside",
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
    )
    decrypted = encryption.decrypt(
        world.services,
        ROOT,
        encryption.DecryptRequest(outside, key_id=key_id, encryption_algorithm="RSAES_OAEP_SHA_1"),
    )
    assert decrypted["Plaintext"] == b"from outside"


def test_rsa_encryption_refusals(world: FakeWorld) -> None:
    key_id = rsa_key(world)
    with pytest.raises(ValidationError) as info:
        encryption.encrypt(
            world.services,
            ROOT,
            encryption.EncryptRequest(
                key_id, b"x", {"a": "b"}, encryption_algorithm="RSAES_OAEP_SHA_256"
            ),
        )
    assert info.value.field == "EncryptionContext"
    with pytest.raises(ValidationError) as info:
        encryption.encrypt(
            world.services,
            ROOT,
            encryption.EncryptRequest(
                key_id, b"x" * 191, encryption_algorithm="RSAES_OAEP_SHA_256"
            ),
        )
    assert "cannot encrypt data larger than 190 bytes" in info.value.message
    with pytest.raises(InvalidKeyUsageError) as info:
        encryption.encrypt(world.services, ROOT, encryption.EncryptRequest(key_id, b"x"))
    assert (
        info.value.message == "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    )
    with pytest.raises(InvalidKeyUsageError) as info:
        encryption.encrypt(
            world.services,
            ROOT,
            encryption.EncryptRequest(
                symmetric_key(world), b"x", encryption_algorithm="RSAES_OAEP_SHA_1"
            ),
        )
    assert info.value.message == (
        "Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT."
    )
    with pytest.raises(ValidationError) as info:
        encryption.decrypt(
            world.services,
            ROOT,
            encryption.DecryptRequest(b"\x00" * 256, encryption_algorithm="RSAES_OAEP_SHA_256"),
        )
    assert info.value.field == "KeyId"
    with pytest.raises(InvalidCiphertextError):
        encryption.decrypt(
            world.services,
            ROOT,
            encryption.DecryptRequest(
                b"\x00" * 256, key_id=key_id, encryption_algorithm="RSAES_OAEP_SHA_256"
            ),
        )
    with pytest.raises(InvalidKeyUsageError):
        encryption.generate_data_key(
            world.services, ROOT, encryption.GenerateDataKeyRequest(key_id, number_of_bytes=16)
        )
