from __future__ import annotations

import hashlib
import hmac
import pickle

import pytest

from app.crypto.mac import constant_time_equal, hmac_sha256
from app.crypto.root_key import RootKeyError, RootKeyProvider
from app.crypto.signing import (
    SigningPrivateKey,
    generate_signing_key,
    public_key_bytes,
    seal_signing_key,
    sign,
    unseal_signing_key,
    verify,
)
from tests.unit.crypto.leaks import assert_no_leak

# RFC 8032 section 7.1, TEST 2.
RFC8032_SECRET = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC8032_PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC8032_MESSAGE = bytes.fromhex("72")
RFC8032_SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)


def test_sign_and_verify() -> None:
    private, public = generate_signing_key()
    assert len(public) == 32
    assert public_key_bytes(private) == public
    signature = sign(private, b"checkpoint 42")
    assert len(signature) == 64
    assert verify(public, signature, b"checkpoint 42")
    assert not verify(public, signature, b"checkpoint 43")
    _, other_public = generate_signing_key()
    assert not verify(other_public, signature, b"checkpoint 42")


def test_rfc8032_vector() -> None:
    private = SigningPrivateKey(RFC8032_SECRET)
    assert public_key_bytes(private) == RFC8032_PUBLIC
    assert sign(private, RFC8032_MESSAGE) == RFC8032_SIGNATURE
    assert verify(RFC8032_PUBLIC, RFC8032_SIGNATURE, RFC8032_MESSAGE)


def test_every_bit_flip_of_a_signature_fails() -> None:
    for index in range(64):
        for bit in range(8):
            mutated = bytearray(RFC8032_SIGNATURE)
            mutated[index] ^= 1 << bit
            assert not verify(RFC8032_PUBLIC, bytes(mutated), RFC8032_MESSAGE)


@pytest.mark.parametrize(
    ("public", "signature"),
    [
        (b"", RFC8032_SIGNATURE),
        (RFC8032_PUBLIC[:31], RFC8032_SIGNATURE),
        (RFC8032_PUBLIC, RFC8032_SIGNATURE[:63]),
        (RFC8032_PUBLIC, RFC8032_SIGNATURE + b"\x00"),
        (RFC8032_PUBLIC, b""),
    ],
)
def test_malformed_inputs_are_simply_invalid(public: bytes, signature: bytes) -> None:
    assert verify(public, signature, RFC8032_MESSAGE) is False


def test_private_key_is_sealed_with_its_own_purpose(root: RootKeyProvider) -> None:
    private, public = generate_signing_key()
    sealed = seal_signing_key(root, private, name="audit-checkpoint")
    assert private.expose_secret_bytes() not in sealed.blob
    restored = unseal_signing_key(root, sealed, name="audit-checkpoint")
    assert public_key_bytes(restored) == public
    with pytest.raises(RootKeyError):
        unseal_signing_key(root, sealed, name="other-purpose")
    with pytest.raises(RootKeyError):
        unseal_signing_key(root, sealed, name="audit-checkpoint", version=2)


def test_private_key_never_shows_or_pickles() -> None:
    private, _ = generate_signing_key()
    for text in (repr(private), str(private), f"{private}"):
        assert_no_leak(text, private.expose_secret_bytes())
    with pytest.raises(TypeError):
        pickle.dumps(private)


def test_hmac_sha256_matches_rfc4231_case_2() -> None:
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    key = bytes(range(32))
    assert hmac_sha256(key, b"data") == hmac.new(key, b"data", hashlib.sha256).digest()
    with pytest.raises(ValueError):
        hmac_sha256(b"", b"data")


def test_constant_time_equal() -> None:
    assert constant_time_equal(b"abc", b"abc")
    assert not constant_time_equal(b"abc", b"abd")
    assert not constant_time_equal(b"abc", b"abcd")
    assert not constant_time_equal(b"", b"a")
