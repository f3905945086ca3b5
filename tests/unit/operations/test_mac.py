"""GenerateMac and VerifyMac on in-memory repositories."""

from __future__ import annotations

import hashlib
import hmac as stdlib_hmac
import json

import pytest

from app.errors import AccessDeniedError, DisabledError, InvalidKeyUsageError, InvalidMacError
from app.operations import keys, mac, policy_documents, rotation
from app.operations.resolve import load_any_material
from tests.unit.operations.conftest import ALICE, ROOT
from tests.unit.operations.fakes import ACCOUNT, FakeWorld

DAY = 86400.0


def new_key(world: FakeWorld, spec: str = "HMAC_256") -> str:
    request = keys.CreateKeyRequest(key_spec=spec, key_usage="GENERATE_VERIFY_MAC")
    key_id: str = keys.create_key(world.services, ROOT, request)["KeyMetadata"]["KeyId"]
    return key_id


def generate(
    world: FakeWorld, key_id: str, message: bytes, algorithm: str = "HMAC_SHA_256"
) -> bytes:
    result = mac.generate_mac(
        world.services, ROOT, mac.GenerateMacRequest(key_id, message, algorithm)
    )
    assert result["MacAlgorithm"] == algorithm and str(result["KeyId"]).endswith(key_id)
    value: bytes = result["Mac"]
    return value


def verify(
    world: FakeWorld, key_id: str, message: bytes, value: bytes, algorithm: str = "HMAC_SHA_256"
) -> dict[str, object]:
    return mac.verify_mac(
        world.services, ROOT, mac.VerifyMacRequest(key_id, message, value, algorithm)
    )


@pytest.mark.parametrize(
    ("spec", "algorithm", "digest"),
    [
        ("HMAC_224", "HMAC_SHA_224", hashlib.sha224),
        ("HMAC_256", "HMAC_SHA_256", hashlib.sha256),
        ("HMAC_384", "HMAC_SHA_384", hashlib.sha384),
        ("HMAC_512", "HMAC_SHA_512", hashlib.sha512),
    ],
)
def test_the_mac_is_the_standard_hmac_of_the_key_material(
    world: FakeWorld, spec: str, algorithm: str, digest: object
) -> None:
    key_id = new_key(world, spec)
    value = generate(world, key_id, b"webhook body", algorithm)
    key = world.keys.get_key_by_id(key_id)
    assert key is not None
    material = load_any_material(world.services, key, 1)
    assert material is not None
    expected = stdlib_hmac.new(material.expose_secret_bytes(), b"webhook body", digest).digest()  # type: ignore[arg-type]
    assert value == expected
    assert verify(world, key_id, b"webhook body", value, algorithm)["MacValid"] is True


def test_a_wrong_mac_is_an_error_with_an_empty_message(world: FakeWorld) -> None:
    key_id = new_key(world)
    value = generate(world, key_id, b"m")
    forged = bytes([value[0] ^ 1]) + value[1:]
    for message, candidate in ((b"m", forged), (b"n", value), (b"m", value[:16])):
        with pytest.raises(InvalidMacError) as info:
            verify(world, key_id, message, candidate)
        assert info.value.message == ""


def test_an_algorithm_of_another_spec_or_a_key_of_another_usage_is_refused(
    world: FakeWorld,
) -> None:
    key_id = new_key(world, "HMAC_256")
    with pytest.raises(InvalidKeyUsageError) as info:
        generate(world, key_id, b"m", "HMAC_SHA_512")
    assert info.value.message == "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."
    symmetric = keys.create_key(world.services, ROOT, keys.CreateKeyRequest())["KeyMetadata"][
        "KeyId"
    ]
    with pytest.raises(InvalidKeyUsageError) as info:
        generate(world, symmetric, b"m")
    assert info.value.message.endswith(
        "key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."
    )


def test_a_mac_made_before_an_automatic_rotation_still_verifies(world: FakeWorld) -> None:
    key_id = new_key(world, "HMAC_384")
    before = generate(world, key_id, b"m", "HMAC_SHA_384")
    rotation.enable_key_rotation(
        world.services, ROOT, rotation.EnableKeyRotationRequest(key_id, 90)
    )
    world.clock.advance(91 * DAY)
    assert rotation.rotate_due_keys(world.services) == [
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    ]
    after = generate(world, key_id, b"m", "HMAC_SHA_384")
    assert after != before and len(after) == 48
    assert verify(world, key_id, b"m", before, "HMAC_SHA_384")["MacValid"] is True
    assert verify(world, key_id, b"m", after, "HMAC_SHA_384")["MacValid"] is True
    with pytest.raises(InvalidMacError):
        verify(world, key_id, b"other", before, "HMAC_SHA_384")


def test_a_disabled_key_makes_no_mac(world: FakeWorld) -> None:
    key_id = new_key(world)
    keys.disable_key(world.services, ROOT, keys.KeyIdRequest(key_id))
    with pytest.raises(DisabledError):
        generate(world, key_id, b"m")


def test_the_mac_algorithm_condition_is_enforced(world: FakeWorld) -> None:
    key_id = new_key(world, "HMAC_512")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
                "Action": "kms:VerifyMac",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_512"}},
            },
        ],
    }
    policy_documents.put_key_policy(
        world.services, ROOT, policy_documents.PutKeyPolicyRequest(key_id, json.dumps(policy))
    )
    value = generate(world, key_id, b"m", "HMAC_SHA_512")
    mac.verify_mac(world.services, ALICE, mac.VerifyMacRequest(key_id, b"m", value, "HMAC_SHA_512"))
    with pytest.raises(AccessDeniedError):
        mac.generate_mac(
            world.services, ALICE, mac.GenerateMacRequest(key_id, b"m", "HMAC_SHA_512")
        )
