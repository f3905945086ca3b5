"""RSAES-OAEP: AWS's limits, interoperability with ``cryptography``, one
error for every failure."""

from __future__ import annotations

from functools import cache

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.crypto.private_keys import PrivateKeyMaterial, generate_private_key, public_key_der
from app.crypto.rsa_encryption import max_plaintext_bytes, rsa_decrypt, rsa_encrypt
from app.errors import InvalidCiphertextError, InvalidKeyUsageError, ValidationError

SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")
ALGORITHMS = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}


@cache
def key(spec: str) -> PrivateKeyMaterial:
    return generate_private_key(spec)


def public(spec: str) -> rsa.RSAPublicKey:
    loaded = serialization.load_der_public_key(public_key_der(key(spec)))
    assert isinstance(loaded, rsa.RSAPublicKey)
    return loaded


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_largest_plaintext_round_trips_and_one_byte_more_is_refused(
    spec: str, algorithm: str
) -> None:
    limit = max_plaintext_bytes(spec, algorithm)
    hash_bytes = ALGORITHMS[algorithm]().digest_size
    assert limit == public(spec).key_size // 8 - 2 * hash_bytes - 2
    plaintext = bytes(range(256)) * 2
    blob = rsa_encrypt(key(spec), key_spec=spec, algorithm=algorithm, plaintext=plaintext[:limit])
    assert (
        rsa_decrypt(key(spec), key_spec=spec, algorithm=algorithm, ciphertext=blob)
        == (plaintext[:limit])
    )
    with pytest.raises(ValidationError) as info:
        rsa_encrypt(key(spec), key_spec=spec, algorithm=algorithm, plaintext=plaintext[: limit + 1])
    assert info.value.message == (
        f"Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {limit} bytes."
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_data_encrypted_outside_with_the_public_key_decrypts(algorithm: str) -> None:
    chosen = ALGORITHMS[algorithm]
    outside = public("RSA_3072").encrypt(
        b"from a client", padding.OAEP(mgf=padding.MGF1(chosen()), algorithm=chosen(), label=None)
    )
    assert (
        rsa_decrypt(key("RSA_3072"), key_spec="RSA_3072", algorithm=algorithm, ciphertext=outside)
        == b"from a client"
    )


def test_every_decryption_failure_is_the_same_empty_error() -> None:
    blob = rsa_encrypt(
        key("RSA_2048"), key_spec="RSA_2048", algorithm="RSAES_OAEP_SHA_256", plaintext=b"x"
    )
    attempts = [
        ("RSA_2048", "RSAES_OAEP_SHA_1", blob),  # the other hash
        ("RSA_2048", "RSAES_OAEP_SHA_256", blob[:-1]),  # truncated
        ("RSA_2048", "RSAES_OAEP_SHA_256", bytes(len(blob))),  # zeros
        # tampered: a bit flipped, so it always differs (writing 0x01 over the
        # first byte left it unchanged whenever that byte already was 0x01)
        ("RSA_2048", "RSAES_OAEP_SHA_256", blob[:-1] + bytes([blob[-1] ^ 0x01])),
    ]
    for spec, algorithm, ciphertext in attempts:
        with pytest.raises(InvalidCiphertextError) as info:
            rsa_decrypt(key(spec), key_spec=spec, algorithm=algorithm, ciphertext=ciphertext)
        assert info.value.message == ""
    with pytest.raises(InvalidCiphertextError):
        rsa_decrypt(
            key("RSA_3072"), key_spec="RSA_3072", algorithm="RSAES_OAEP_SHA_256", ciphertext=blob
        )


def test_symmetric_and_unknown_algorithms_are_invalid_key_usage() -> None:
    for algorithm in ("SYMMETRIC_DEFAULT", "SM2PKE", "RSASSA_PSS_SHA_256"):
        with pytest.raises(InvalidKeyUsageError):
            rsa_encrypt(key("RSA_2048"), key_spec="RSA_2048", algorithm=algorithm, plaintext=b"x")
