"""CreateKey and DescribeKey for every key spec, and the rules on KeySpec,
KeyUsage and rotation, on in-memory repositories."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import UnsupportedOperationError, ValidationError
from app.operations import keys, rotation
from tests.unit.operations.conftest import ROOT
from tests.unit.operations.fakes import FakeWorld

VALID = [
    ("SYMMETRIC_DEFAULT", None),
    ("HMAC_224", "GENERATE_VERIFY_MAC"),
    ("HMAC_256", "GENERATE_VERIFY_MAC"),
    ("HMAC_384", "GENERATE_VERIFY_MAC"),
    ("HMAC_512", "GENERATE_VERIFY_MAC"),
    ("RSA_2048", "ENCRYPT_DECRYPT"),
    ("RSA_2048", "SIGN_VERIFY"),
    ("RSA_3072", "SIGN_VERIFY"),
    ("RSA_4096", "ENCRYPT_DECRYPT"),
    ("ECC_NIST_P256", "SIGN_VERIFY"),
    ("ECC_NIST_P384", "SIGN_VERIFY"),
    ("ECC_NIST_P521", "SIGN_VERIFY"),
    ("ECC_SECG_P256K1", "SIGN_VERIFY"),
]


def create(world: FakeWorld, spec: str, usage: str | None) -> dict[str, Any]:
    request = keys.CreateKeyRequest(key_spec=spec, key_usage=usage)
    metadata: dict[str, Any] = keys.create_key(world.services, ROOT, request)["KeyMetadata"]
    return metadata


@pytest.mark.parametrize(("spec", "usage"), VALID)
def test_every_valid_spec_and_usage_makes_a_key_described_as_aws_does(
    world: FakeWorld, spec: str, usage: str | None
) -> None:
    metadata = create(world, spec, usage)
    assert metadata["KeySpec"] == metadata["CustomerMasterKeySpec"] == spec
    assert metadata["KeyUsage"] == (usage or "ENCRYPT_DECRYPT")
    described = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest(metadata["KeyId"]))
    assert described["KeyMetadata"] == metadata
    lists = {"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms"} & metadata.keys()
    expected = {
        "ENCRYPT_DECRYPT": "EncryptionAlgorithms",
        "SIGN_VERIFY": "SigningAlgorithms",
        "GENERATE_VERIFY_MAC": "MacAlgorithms",
    }[metadata["KeyUsage"]]
    assert lists == {expected}
    # AWS shows the current material id for symmetric keys only.
    assert ("CurrentKeyMaterialId" in metadata) is (spec == "SYMMETRIC_DEFAULT")


def test_algorithm_lists_of_a_few_keys(world: FakeWorld) -> None:
    assert create(world, "ECC_NIST_P384", "SIGN_VERIFY")["SigningAlgorithms"] == ["ECDSA_SHA_384"]
    assert create(world, "HMAC_224", "GENERATE_VERIFY_MAC")["MacAlgorithms"] == ["HMAC_SHA_224"]
    assert create(world, "RSA_2048", "ENCRYPT_DECRYPT")["EncryptionAlgorithms"] == [
        "RSAES_OAEP_SHA_1",
        "RSAES_OAEP_SHA_256",
    ]
    assert create(world, "SYMMETRIC_DEFAULT", None)["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]


@pytest.mark.parametrize(
    ("spec", "usage", "message"),
    [
        (
            "RSA_2048",
            None,
            "You must specify a KeyUsage value for all KMS keys except for symmetric "
            "encryption keys.",
        ),
        (
            "HMAC_256",
            None,
            "You must specify a KeyUsage value for all KMS keys except for symmetric "
            "encryption keys.",
        ),
        (
            "HMAC_256",
            "ENCRYPT_DECRYPT",
            "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256",
        ),
        (
            "ECC_NIST_P256",
            "ENCRYPT_DECRYPT",
            "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256",
        ),
        (
            "ECC_SECG_P256K1",
            "GENERATE_VERIFY_MAC",
            "KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec ECC_SECG_P256K1",
        ),
        (
            "SYMMETRIC_DEFAULT",
            "SIGN_VERIFY",
            "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT",
        ),
        (
            "RSA_3072",
            "GENERATE_VERIFY_MAC",
            "KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec RSA_3072",
        ),
        (
            "ECC_NIST_P256",
            "KEY_AGREEMENT",
            "KeyUsage KEY_AGREEMENT is not supported by this service.",
        ),
        ("ML_DSA_44", "SIGN_VERIFY", "KeySpec ML_DSA_44 is not supported by this service."),
        ("SM2", "SIGN_VERIFY", "KeySpec SM2 is not supported by this service."),
    ],
)
def test_invalid_spec_and_usage_pairs_are_refused_and_create_nothing(
    world: FakeWorld, spec: str, usage: str | None, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        create(world, spec, usage)
    assert info.value.message == message
    assert world.keys.count_keys("111122223333") == 0


def test_the_sealed_version_holds_no_private_key_bytes(world: FakeWorld) -> None:
    from app.operations.resolve import load_any_material

    key_id = create(world, "ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    key = world.keys.get_key_by_id(key_id)
    assert key is not None
    sealed = world.keys.sealed_version(key_id, 1)
    material = load_any_material(world.services, key, 1)
    assert sealed is not None and material is not None
    secret = material.expose_secret_bytes()
    assert secret[-32:] not in sealed.blob and len(sealed.blob) > len(secret)


def test_automatic_rotation_is_for_symmetric_and_hmac_keys(world: FakeWorld) -> None:
    hmac_key = create(world, "HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"]
    rotation.enable_key_rotation(
        world.services, ROOT, rotation.EnableKeyRotationRequest(hmac_key, 90)
    )
    status = rotation.get_key_rotation_status(
        world.services, ROOT, rotation.KeyRotationRequest(hmac_key)
    )
    assert status["KeyRotationEnabled"] is True
    for spec, usage in (("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY")):
        key_id = create(world, spec, usage)["KeyId"]
        with pytest.raises(UnsupportedOperationError) as info:
            rotation.enable_key_rotation(
                world.services, ROOT, rotation.EnableKeyRotationRequest(key_id, 90)
            )
        assert f"key spec is {spec} which is not valid for this operation." in info.value.message
        with pytest.raises(UnsupportedOperationError):
            rotation.get_key_rotation_status(
                world.services, ROOT, rotation.KeyRotationRequest(key_id)
            )


def test_on_demand_rotation_is_for_symmetric_keys_only(world: FakeWorld) -> None:
    for spec, usage in (("HMAC_512", "GENERATE_VERIFY_MAC"), ("RSA_2048", "ENCRYPT_DECRYPT")):
        key_id = create(world, spec, usage)["KeyId"]
        with pytest.raises(UnsupportedOperationError):
            rotation.rotate_key_on_demand(world.services, ROOT, rotation.KeyRotationRequest(key_id))
    symmetric = create(world, "SYMMETRIC_DEFAULT", None)["KeyId"]
    rotation.rotate_key_on_demand(world.services, ROOT, rotation.KeyRotationRequest(symmetric))
