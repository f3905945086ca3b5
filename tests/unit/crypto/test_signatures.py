"""Sign and Verify: every spec and algorithm, both message types, AWS's
checks, and signatures that ``cryptography`` verifies on its own."""

from __future__ import annotations

import hashlib
import pickle
from functools import cache

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.crypto.private_keys import (
    PrivateKeyMaterial,
    generate_private_key,
    key_matches_spec,
    public_key_der,
)
from app.crypto.signatures import sign, verify, verify_with_public_key
from app.errors import InvalidKeyUsageError, ValidationError
from app.keys.specs import DIGEST_BYTES, KEY_SPECS, SIGN_VERIFY
from tests.unit.crypto.leaks import assert_no_leak

ASYMMETRIC = [name for name, spec in KEY_SPECS.items() if spec.asymmetric]
PAIRS = [
    (spec, algorithm)
    for spec in ASYMMETRIC
    for algorithm in KEY_SPECS[spec].algorithms(SIGN_VERIFY)
]
HASHES = {32: hashes.SHA256, 48: hashes.SHA384, 64: hashes.SHA512}
MESSAGE = b"pay 100 to alice"


@cache
def key(spec: str) -> PrivateKeyMaterial:
    return generate_private_key(spec)


def digest(algorithm: str, message: bytes) -> bytes:
    return {32: hashlib.sha256, 48: hashlib.sha384, 64: hashlib.sha512}[DIGEST_BYTES[algorithm]](
        message
    ).digest()


@pytest.mark.parametrize("spec", ASYMMETRIC)
def test_generated_keys_are_of_their_spec(spec: str) -> None:
    assert key_matches_spec(key(spec), spec)
    other = "ECC_NIST_P384" if spec != "ECC_NIST_P384" else "RSA_2048"
    assert not key_matches_spec(key(spec), other)


@pytest.mark.parametrize(("spec", "algorithm"), PAIRS)
def test_a_signature_verifies_raw_and_as_digest(spec: str, algorithm: str) -> None:
    material = key(spec)
    signature = sign(material, key_spec=spec, algorithm=algorithm, message=MESSAGE)
    assert verify(
        material, key_spec=spec, algorithm=algorithm, message=MESSAGE, signature=signature
    )
    # AWS: the message type at verification need not be the signing one.
    assert verify(
        material,
        key_spec=spec,
        algorithm=algorithm,
        message=digest(algorithm, MESSAGE),
        signature=signature,
        message_type="DIGEST",
    )
    from_digest = sign(
        material,
        key_spec=spec,
        algorithm=algorithm,
        message=digest(algorithm, MESSAGE),
        message_type="DIGEST",
    )
    assert verify_with_public_key(
        public_key_der(material),
        key_spec=spec,
        algorithm=algorithm,
        message=MESSAGE,
        signature=from_digest,
    )
    assert not verify(
        material, key_spec=spec, algorithm=algorithm, message=MESSAGE + b"!", signature=signature
    )
    tampered = bytearray(signature)
    tampered[len(tampered) // 2] ^= 0x40
    assert not verify(
        material, key_spec=spec, algorithm=algorithm, message=MESSAGE, signature=bytes(tampered)
    )
    assert not verify(material, key_spec=spec, algorithm=algorithm, message=MESSAGE, signature=b"")


@pytest.mark.parametrize(("spec", "algorithm"), PAIRS)
def test_cryptography_verifies_the_signature_with_the_public_key_alone(
    spec: str, algorithm: str
) -> None:
    material = key(spec)
    signature = sign(material, key_spec=spec, algorithm=algorithm, message=MESSAGE)
    public = serialization.load_der_public_key(public_key_der(material))
    chosen = HASHES[DIGEST_BYTES[algorithm]]()
    if isinstance(public, rsa.RSAPublicKey):
        scheme: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size)
            if "_PSS_" in algorithm
            else padding.PKCS1v15()
        )
        public.verify(signature, MESSAGE, scheme, chosen)
        assert len(signature) == public.key_size // 8
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, MESSAGE, ec.ECDSA(chosen))
        decode_dss_signature(signature)  # DER Ecdsa-Sig-Value, as AWS returns


def test_pss_uses_a_salt_as_long_as_the_digest() -> None:
    material = key("RSA_2048")
    signature = sign(material, key_spec="RSA_2048", algorithm="RSASSA_PSS_SHA_384", message=MESSAGE)
    public = serialization.load_der_public_key(public_key_der(material))
    assert isinstance(public, rsa.RSAPublicKey)
    chosen = hashes.SHA384()
    public.verify(signature, MESSAGE, padding.PSS(mgf=padding.MGF1(chosen), salt_length=48), chosen)
    with pytest.raises(Exception):  # noqa: B017 - any verification failure
        public.verify(
            signature, MESSAGE, padding.PSS(mgf=padding.MGF1(chosen), salt_length=20), chosen
        )


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [
        ("RSA_2048", "ECDSA_SHA_256"),
        ("ECC_NIST_P256", "ECDSA_SHA_384"),
        ("ECC_NIST_P521", "RSASSA_PSS_SHA_512"),
        ("ECC_SECG_P256K1", "ECDSA_SHA_512"),
    ],
)
def test_an_algorithm_the_spec_does_not_offer_is_invalid_key_usage(
    spec: str, algorithm: str
) -> None:
    with pytest.raises(InvalidKeyUsageError) as info:
        sign(key(spec), key_spec=spec, algorithm=algorithm, message=MESSAGE)
    assert info.value.message == f"Algorithm {algorithm} is incompatible with key spec {spec}."


def test_a_digest_of_the_wrong_length_is_refused_with_aws_message() -> None:
    with pytest.raises(ValidationError) as info:
        sign(
            key("RSA_2048"),
            key_spec="RSA_2048",
            algorithm="RSASSA_PSS_SHA_256",
            message=b"\x00" * 48,
            message_type="DIGEST",
        )
    assert info.value.message == "Digest is invalid length for algorithm RSASSA_PSS_SHA_256."


def test_a_raw_message_over_4096_bytes_is_refused_and_4096_is_signed() -> None:
    material = key("ECC_NIST_P256")
    sign(material, key_spec="ECC_NIST_P256", algorithm="ECDSA_SHA_256", message=b"m" * 4096)
    with pytest.raises(ValidationError):
        sign(material, key_spec="ECC_NIST_P256", algorithm="ECDSA_SHA_256", message=b"m" * 4097)


def test_a_garbage_public_key_makes_every_signature_invalid() -> None:
    assert not verify_with_public_key(
        b"\x30\x03\x02\x01\x01",
        key_spec="ECC_NIST_P256",
        algorithm="ECDSA_SHA_256",
        message=MESSAGE,
        signature=b"\x30\x06\x02\x01\x01\x02\x01\x01",
    )


def test_a_key_of_another_family_makes_the_signature_invalid() -> None:
    rsa_signature = sign(
        key("RSA_2048"), key_spec="RSA_2048", algorithm="RSASSA_PSS_SHA_256", message=MESSAGE
    )
    assert not verify_with_public_key(
        public_key_der(key("ECC_NIST_P256")),
        key_spec="RSA_2048",
        algorithm="RSASSA_PSS_SHA_256",
        message=MESSAGE,
        signature=rsa_signature,
    )


def test_private_key_material_never_shows_or_pickles_itself() -> None:
    material = key("ECC_NIST_P384")
    secret = material.expose_secret_bytes()
    assert repr(material) == f"PrivateKeyMaterial(<{len(secret)} secret bytes>)"
    assert_no_leak(f"{material} {material!r}", secret)
    with pytest.raises(TypeError):
        pickle.dumps(material)
    loaded = serialization.load_der_private_key(secret, password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)


def test_the_key_objects_are_made_once_per_material() -> None:
    from app.crypto.private_keys import load_private_key, load_public_key

    material = generate_private_key("ECC_NIST_P256")
    assert load_private_key(material) is load_private_key(material)
    assert load_public_key(material) is load_public_key(material)
    with pytest.raises(TypeError):
        pickle.dumps(material)
