"""Wrapping keys, the four wrapping algorithms, and the checks of imported material."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.crypto.hmac_keys import HmacKeyMaterial
from app.crypto.key_import import (
    WRAPPING_ALGORITHMS,
    imported_material,
    material_from_file,
    new_wrapping_key,
    seal_wrapping_key,
    unseal_wrapping_key,
    unwrap_key_material,
    wrap_key_material,
)
from app.crypto.material import KeyMaterial
from app.crypto.private_keys import PrivateKeyMaterial
from app.crypto.root_key import EnvRootKeyProvider, RootKeyError
from app.errors import InvalidCiphertextError, ValidationError

ARN = "arn:aws:kms:us-east-1:111122223333:key/6f1c2f0e-8a5b-4c1d-9e2f-3a4b5c6d7e8f"


@pytest.fixture(scope="module")
def wrapping() -> tuple[object, bytes]:
    return new_wrapping_key("RSA_2048")


@pytest.mark.parametrize("algorithm", sorted(WRAPPING_ALGORITHMS))
def test_each_algorithm_unwraps_what_the_client_wrapped(
    wrapping: tuple[object, bytes], algorithm: str
) -> None:
    private, public = wrapping
    material = os.urandom(32)
    wrapped = wrap_key_material(public, algorithm, material)
    assert material not in wrapped
    assert unwrap_key_material(private, algorithm, wrapped) == material  # type: ignore[arg-type]


def test_aes_key_wrap_carries_material_too_large_for_one_oaep_block(
    wrapping: tuple[object, bytes],
) -> None:
    private, public = wrapping
    der = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    wrapped = wrap_key_material(public, "RSA_AES_KEY_WRAP_SHA_256", der)
    assert unwrap_key_material(private, "RSA_AES_KEY_WRAP_SHA_256", wrapped) == der  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        wrap_key_material(public, "RSAES_OAEP_SHA_256", der)


@pytest.mark.parametrize("algorithm", sorted(WRAPPING_ALGORITHMS))
def test_every_failure_to_unwrap_is_the_same_empty_error(
    wrapping: tuple[object, bytes], algorithm: str
) -> None:
    private, public = wrapping
    wrapped = bytearray(wrap_key_material(public, algorithm, os.urandom(32)))
    wrapped[-1] ^= 1
    for blob in (bytes(wrapped), b"", b"\x00" * 256, bytes(wrapped[:256])):
        with pytest.raises(InvalidCiphertextError) as caught:
            unwrap_key_material(private, algorithm, blob)  # type: ignore[arg-type]
        assert caught.value.message == ""


def test_material_wrapped_under_another_algorithm_does_not_unwrap(
    wrapping: tuple[object, bytes],
) -> None:
    private, public = wrapping
    wrapped = wrap_key_material(public, "RSAES_OAEP_SHA_1", os.urandom(32))
    with pytest.raises(InvalidCiphertextError):
        unwrap_key_material(private, "RSAES_OAEP_SHA_256", wrapped)  # type: ignore[arg-type]


def test_the_sealed_wrapping_key_is_bound_to_its_key_and_token(
    root: EnvRootKeyProvider, wrapping: tuple[object, bytes]
) -> None:
    private, _ = wrapping
    sealed = seal_wrapping_key(root, private, key_arn=ARN, token_digest="ab" * 32)  # type: ignore[arg-type]
    assert private.expose_secret_bytes() not in sealed  # type: ignore[attr-defined]
    assert unseal_wrapping_key(root, sealed, key_arn=ARN, token_digest="ab" * 32) == private
    with pytest.raises(RootKeyError):
        unseal_wrapping_key(root, sealed, key_arn=ARN, token_digest="cd" * 32)
    with pytest.raises(RootKeyError):
        unseal_wrapping_key(root, sealed, key_arn=ARN + "0", token_digest="ab" * 32)


def test_wrapping_keys_have_the_size_asked_for() -> None:
    _, public = new_wrapping_key("RSA_3072")
    loaded = serialization.load_der_public_key(public)
    assert isinstance(loaded, rsa.RSAPublicKey) and loaded.key_size == 3072


def test_imported_material_is_checked_against_the_key_spec() -> None:
    assert isinstance(imported_material("SYMMETRIC_DEFAULT", bytes(32)), KeyMaterial)
    for wrong in (bytes(16), bytes(31), bytes(33)):
        with pytest.raises(ValidationError, match="must be 32 bytes"):
            imported_material("SYMMETRIC_DEFAULT", wrong)
    assert isinstance(imported_material("HMAC_256", bytes(64)), HmacKeyMaterial)
    assert isinstance(imported_material("HMAC_384", bytes(128)), HmacKeyMaterial)
    for spec, size in (("HMAC_224", 27), ("HMAC_256", 65), ("HMAC_512", 63), ("HMAC_512", 129)):
        with pytest.raises(ValidationError, match="bytes"):
            imported_material(spec, bytes(size))


def test_a_private_key_must_be_of_the_spec_and_is_stored_canonically() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    traditional = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    material = imported_material("ECC_NIST_P256", pkcs8)
    assert isinstance(material, PrivateKeyMaterial)
    assert material.expose_secret_bytes() == pkcs8
    assert imported_material("ECC_NIST_P256", traditional) == material
    with pytest.raises(ValidationError, match="not a ECC_NIST_P384 key"):
        imported_material("ECC_NIST_P384", pkcs8)
    with pytest.raises(ValidationError, match="not a RSA_2048 key"):
        imported_material("RSA_2048", pkcs8)
    with pytest.raises(ValidationError, match="DER PKCS#8"):
        imported_material("RSA_2048", os.urandom(64))


def test_a_pem_key_file_becomes_der_and_anything_else_is_taken_as_is() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert material_from_file(pem) == der
    raw = os.urandom(32)
    assert material_from_file(raw) == raw


def test_the_wrapping_key_never_shows_in_repr(wrapping: tuple[object, bytes]) -> None:
    private, _ = wrapping
    assert "MII" not in repr(private) and len(repr(private)) < 80
