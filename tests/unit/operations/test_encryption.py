"""Encrypt, Decrypt, ReEncrypt, GenerateDataKey and GenerateRandom on
in-memory repositories."""

from __future__ import annotations

import pytest

from app.errors import (
    AccessDeniedError,
    IncorrectKeyError,
    InvalidCiphertextError,
    InvalidGrantTokenError,
    ValidationError,
)
from app.operations import encryption, keys
from tests.unit.operations.conftest import ROOT, caller
from tests.unit.operations.fakes import OTHER_ACCOUNT, FakeWorld


def new_key(world: FakeWorld) -> str:
    key_id: str = keys.create_key(world.services, ROOT, keys.CreateKeyRequest())["KeyMetadata"][
        "KeyId"
    ]
    return key_id


def encrypt(
    world: FakeWorld, key_id: str, plaintext: bytes, context: dict[str, str] | None = None
) -> bytes:
    request = encryption.EncryptRequest(key_id, plaintext, encryption_context=context or {})
    blob: bytes = encryption.encrypt(world.services, ROOT, request)["CiphertextBlob"]
    return blob


def decrypt(
    world: FakeWorld, blob: bytes, context: dict[str, str] | None = None, **request: object
) -> dict[str, object]:
    return encryption.decrypt(
        world.services,
        ROOT,
        encryption.DecryptRequest(blob, encryption_context=context or {}, **request),  # type: ignore[arg-type]
    )


def test_what_is_encrypted_decrypts_to_the_same_plaintext_under_the_same_key(
    world: FakeWorld,
) -> None:
    key_id = new_key(world)
    blob = encrypt(world, key_id, b"attack at dawn", {"purpose": "test"})
    assert b"attack at dawn" not in blob
    result = decrypt(world, blob, {"purpose": "test"})
    assert result["Plaintext"] == b"attack at dawn"
    assert str(result["KeyId"]).endswith(key_id)
    described = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest(key_id))
    assert result["KeyMaterialId"] == described["KeyMetadata"]["CurrentKeyMaterialId"]


def test_two_encryptions_of_one_plaintext_differ(world: FakeWorld) -> None:
    key_id = new_key(world)
    assert encrypt(world, key_id, b"same") != encrypt(world, key_id, b"same")


def test_the_encryption_context_must_match_exactly(world: FakeWorld) -> None:
    key_id = new_key(world)
    blob = encrypt(world, key_id, b"x", {"purpose": "billing"})
    for wrong in ({}, {"purpose": "payroll"}, {"purpose": "billing", "extra": "1"}):
        with pytest.raises(InvalidCiphertextError):
            decrypt(world, blob, wrong)


def test_a_modified_ciphertext_does_not_decrypt(world: FakeWorld) -> None:
    blob = bytearray(encrypt(world, new_key(world), b"x"))
    blob[-1] ^= 1
    with pytest.raises(InvalidCiphertextError):
        decrypt(world, bytes(blob))


def test_decrypt_refuses_when_the_caller_names_another_key(world: FakeWorld) -> None:
    first, second = new_key(world), new_key(world)
    blob = encrypt(world, first, b"x")
    with pytest.raises(IncorrectKeyError):
        decrypt(world, blob, key_id=second)
    assert decrypt(world, blob, key_id=first)["Plaintext"] == b"x"


def test_another_account_can_neither_encrypt_nor_decrypt_under_the_key(world: FakeWorld) -> None:
    key_id = new_key(world)
    blob = encrypt(world, key_id, b"x")
    stranger = caller("mallory", account=OTHER_ACCOUNT)
    arn = keys.describe_key(world.services, ROOT, keys.DescribeKeyRequest(key_id))["KeyMetadata"][
        "Arn"
    ]
    with pytest.raises(AccessDeniedError):
        encryption.encrypt(world.services, stranger, encryption.EncryptRequest(arn, b"x"))
    with pytest.raises(AccessDeniedError):
        encryption.decrypt(world.services, stranger, encryption.DecryptRequest(blob))


def test_grant_tokens_are_refused_rather_than_ignored(world: FakeWorld) -> None:
    request = encryption.EncryptRequest(new_key(world), b"x", grant_tokens=["token"])
    with pytest.raises(InvalidGrantTokenError):
        encryption.encrypt(world.services, ROOT, request)


def test_re_encrypt_moves_a_ciphertext_to_another_key_without_showing_the_plaintext(
    world: FakeWorld,
) -> None:
    source, destination = new_key(world), new_key(world)
    blob = encrypt(world, source, b"moved", {"a": "1"})
    result = encryption.re_encrypt(
        world.services,
        ROOT,
        encryption.ReEncryptRequest(
            blob,
            destination,
            source_encryption_context={"a": "1"},
            destination_encryption_context={"b": "2"},
        ),
    )
    assert "Plaintext" not in result
    assert str(result["SourceKeyId"]).endswith(source)
    assert str(result["KeyId"]).endswith(destination)
    moved = decrypt(world, result["CiphertextBlob"], {"b": "2"})
    assert moved["Plaintext"] == b"moved" and str(moved["KeyId"]).endswith(destination)


def test_a_data_key_comes_with_its_encrypted_copy(world: FakeWorld) -> None:
    key_id = new_key(world)
    result = encryption.generate_data_key(
        world.services,
        ROOT,
        encryption.GenerateDataKeyRequest(key_id, {"file": "a"}, key_spec="AES_256"),
    )
    assert len(result["Plaintext"]) == 32
    assert (
        decrypt(world, result["CiphertextBlob"], {"file": "a"})["Plaintext"] == result["Plaintext"]
    )
    without = encryption.generate_data_key(
        world.services,
        ROOT,
        encryption.GenerateDataKeyRequest(key_id, number_of_bytes=16, with_plaintext=False),
    )
    assert "Plaintext" not in without
    assert len(decrypt(world, without["CiphertextBlob"])["Plaintext"]) == 16  # type: ignore[arg-type]
    with pytest.raises(ValidationError):  # exactly one of KeySpec and NumberOfBytes
        encryption.generate_data_key(
            world.services,
            ROOT,
            encryption.GenerateDataKeyRequest(key_id, number_of_bytes=16, key_spec="AES_256"),
        )


def test_generate_random_draws_from_the_services_randomness(world: FakeWorld) -> None:
    before = world.random.drawn
    result = encryption.generate_random(
        world.services, ROOT, encryption.GenerateRandomRequest(number_of_bytes=24)
    )
    assert len(result["Plaintext"]) == 24
    assert world.random.drawn == before + 24
