from __future__ import annotations

import copy
import logging
import pickle
import re
import uuid

import pytest

from app.crypto.material import (
    KeyMaterial,
    SealedMaterial,
    generate_material,
    material_id,
    seal_material,
    unseal_material,
)
from app.crypto.root_key import RootKeyError, RootKeyProvider
from app.crypto.signing import SigningPrivateKey
from tests.unit.crypto.leaks import assert_no_leak

ARN = "arn:aws:kms:us-east-1:111122223333:key/6f1c2f0e-8a5b-4c1d-9e2f-3a4b5c6d7e8f"
OTHER_ARN = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000"


def test_generated_material_is_32_random_bytes() -> None:
    first, second = generate_material(), generate_material()
    assert len(first.expose_secret_bytes()) == 32
    assert first != second


@pytest.mark.parametrize("value", [b"", bytes(31), bytes(33), bytearray(32), "x" * 32, None])
def test_material_needs_exactly_32_bytes(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        KeyMaterial(value)  # type: ignore[arg-type]


def test_seal_round_trip(root: RootKeyProvider, material: KeyMaterial) -> None:
    sealed = seal_material(root, material, key_arn=ARN, version=1)
    assert isinstance(sealed, SealedMaterial)
    assert material.expose_secret_bytes() not in sealed.blob
    assert unseal_material(root, sealed, key_arn=ARN, version=1) == material


@pytest.mark.parametrize(
    ("arn", "version"), [(OTHER_ARN, 1), (ARN, 2), (ARN, 0), (ARN + " ", 1), (ARN.upper(), 1)]
)
def test_sealed_material_is_bound_to_arn_and_version(
    root: RootKeyProvider, material: KeyMaterial, arn: str, version: int
) -> None:
    sealed = seal_material(root, material, key_arn=ARN, version=1)
    with pytest.raises(RootKeyError):
        unseal_material(root, sealed, key_arn=arn, version=version)


def test_swapping_sealed_rows_between_keys_fails(root: RootKeyProvider) -> None:
    a, b = generate_material(), generate_material()
    sealed_a = seal_material(root, a, key_arn=ARN, version=1)
    sealed_b = seal_material(root, b, key_arn=OTHER_ARN, version=1)
    with pytest.raises(RootKeyError):
        unseal_material(root, sealed_b, key_arn=ARN, version=1)
    with pytest.raises(RootKeyError):
        unseal_material(root, sealed_a, key_arn=OTHER_ARN, version=1)


def test_tampered_sealed_material_raises_the_root_key_error(
    root: RootKeyProvider, material: KeyMaterial
) -> None:
    blob = seal_material(root, material, key_arn=ARN, version=1).blob
    for index in range(len(blob)):
        mutated = bytearray(blob)
        mutated[index] ^= 0x01
        with pytest.raises(RootKeyError):
            unseal_material(root, SealedMaterial(bytes(mutated)), key_arn=ARN, version=1)


def test_sealed_signing_key_is_not_key_material(root: RootKeyProvider) -> None:
    """A purpose-specific AAD keeps a sealed signing key from unsealing as material."""
    from app.crypto.signing import generate_signing_key, seal_signing_key

    private, _ = generate_signing_key()
    sealed = seal_signing_key(root, private, name=ARN, version=1)
    with pytest.raises(RootKeyError):
        unseal_material(root, sealed, key_arn=ARN, version=1)


def test_sealing_refuses_other_secret_types(root: RootKeyProvider) -> None:
    with pytest.raises(TypeError):
        seal_material(root, SigningPrivateKey(bytes(32)), key_arn=ARN, version=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        seal_material(root, bytes(32), key_arn=ARN, version=1)  # type: ignore[arg-type]


def test_sealed_material_holds_bytes_only() -> None:
    with pytest.raises(TypeError):
        SealedMaterial(bytearray(10))  # type: ignore[arg-type]
    assert repr(SealedMaterial(bytes(61))) == "SealedMaterial(<61 bytes>)"


@pytest.mark.parametrize(("arn", "version"), [("", 1), (ARN, -1), (ARN, 2**32)])
def test_binding_arguments_are_validated(
    root: RootKeyProvider, material: KeyMaterial, arn: str, version: int
) -> None:
    with pytest.raises(ValueError):
        seal_material(root, material, key_arn=arn, version=version)


def test_material_id_is_64_hex_stable_and_distinct(material: KeyMaterial) -> None:
    key_id = uuid.uuid4()
    identifier = material_id(key_id, material)
    assert re.fullmatch(r"[0-9a-f]{64}", identifier)
    assert material_id(key_id, material) == identifier
    assert material_id(uuid.uuid4(), material) != identifier
    assert material_id(key_id, generate_material()) != identifier
    assert_no_leak(identifier, material.expose_secret_bytes())


def test_key_material_never_shows_its_bytes(
    material: KeyMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    secret = material.expose_secret_bytes()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").debug("material %s %r", material, material)
    texts = [repr(material), str(material), f"{material}", f"{material!r}"]
    assert "KeyMaterial(<32 secret bytes>)" in caplog.text
    texts += [caplog.text, repr([material]), repr({"k": material})]
    for text in texts:
        assert_no_leak(text, secret)
        assert "KeyMaterial" in text or "material" in text


def test_key_material_cannot_be_pickled_copied_or_converted(material: KeyMaterial) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(material, protocol=protocol)
    with pytest.raises(TypeError):
        copy.copy(material)
    with pytest.raises(TypeError):
        copy.deepcopy(material)
    with pytest.raises(TypeError):
        material.__getstate__()
    with pytest.raises(TypeError):
        bytes(material)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        hash(material)
    assert not hasattr(material, "__dict__")
    assert not hasattr(material, "__bytes__")


def test_key_material_equality_is_by_value_and_type() -> None:
    raw = bytes(range(32))
    assert KeyMaterial(raw) == KeyMaterial(raw)
    assert KeyMaterial(raw) != KeyMaterial(bytes(32))
    assert KeyMaterial(raw) != SigningPrivateKey(raw)
    assert KeyMaterial(raw) != raw
