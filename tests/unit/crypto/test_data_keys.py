from __future__ import annotations

import pickle
import uuid

import pytest

from app.crypto.ciphertext import decrypt, parse_header
from app.crypto.data_keys import generate_data_key
from app.crypto.material import KeyMaterial
from app.crypto.randomness import random_bytes
from app.errors import InvalidCiphertextError, ValidationError
from tests.unit.crypto.leaks import assert_no_leak


@pytest.mark.parametrize("size", [1, 16, 32, 64, 1024])
def test_data_key_decrypts_like_any_ciphertext(
    material: KeyMaterial, key_id: uuid.UUID, size: int
) -> None:
    context = {"bucket": "photos"}
    data_key = generate_data_key(
        material, key_id=key_id, key_version=2, number_of_bytes=size, context=context
    )
    assert len(data_key.plaintext) == size
    header = parse_header(data_key.ciphertext)
    assert (header.key_id, header.key_version) == (key_id, 2)
    assert decrypt(material, header, data_key.ciphertext, context) == data_key.plaintext
    with pytest.raises(InvalidCiphertextError):
        decrypt(material, header, data_key.ciphertext, {})


def test_data_keys_are_fresh(material: KeyMaterial, key_id: uuid.UUID) -> None:
    keys = {
        generate_data_key(
            material, key_id=key_id, key_version=1, number_of_bytes=32, context={}
        ).plaintext
        for _ in range(20)
    }
    assert len(keys) == 20


@pytest.mark.parametrize("size", [0, -1, 1025, True])
def test_data_key_size_is_validated(material: KeyMaterial, key_id: uuid.UUID, size: int) -> None:
    with pytest.raises(ValidationError) as caught:
        generate_data_key(material, key_id=key_id, key_version=1, number_of_bytes=size, context={})
    assert caught.value.field == "NumberOfBytes"


def test_data_key_plaintext_is_masked(material: KeyMaterial, key_id: uuid.UUID) -> None:
    data_key = generate_data_key(
        material, key_id=key_id, key_version=1, number_of_bytes=32, context={}
    )
    assert_no_leak(repr(data_key) + str(data_key), data_key.plaintext)
    with pytest.raises(TypeError):
        pickle.dumps(data_key)


def test_random_bytes() -> None:
    assert random_bytes(0) == b""
    assert len(random_bytes(1024)) == 1024
    assert random_bytes(32) != random_bytes(32)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            random_bytes(bad)  # type: ignore[arg-type]
