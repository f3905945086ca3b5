"""HMAC keys (key specs ``HMAC_224`` .. ``HMAC_512``): their material and MACs.

A key's material is as many random bytes as its spec has bits (28, 32, 48
or 64), as AWS KMS generates it. MACs are standard RFC 2104 HMACs over the
message with the one hash function the spec allows; VerifyMac compares in
constant time (``cryptography``'s ``HMAC.verify``), so the answer is not a
timing oracle for how many leading bytes of a forged MAC were right.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from app.crypto.secret import SecretBytes
from app.errors import InvalidKeyUsageError
from app.keys.specs import HMAC_KEY_BYTES, spec_info

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "HMAC_SHA_224": hashes.SHA224,
    "HMAC_SHA_256": hashes.SHA256,
    "HMAC_SHA_384": hashes.SHA384,
    "HMAC_SHA_512": hashes.SHA512,
}


class HmacKeyMaterial(SecretBytes):
    """One version of an HMAC key's material, unsealed. Never store it."""

    __slots__ = ()
    length = None


def generate_hmac_material(
    key_spec: str, random: Callable[[int], bytes] = os.urandom
) -> HmacKeyMaterial:
    """Fresh material for an HMAC key of ``key_spec``, from ``random`` (the CSPRNG)."""
    size = HMAC_KEY_BYTES[key_spec]
    value = random(size)
    if type(value) is not bytes or len(value) != size:
        raise ValueError(f"the random source returned something other than {size} bytes")
    return HmacKeyMaterial(value)


def generate_mac(
    material: HmacKeyMaterial, *, key_spec: str, algorithm: str, message: bytes
) -> bytes:
    """The HMAC of ``message`` with the algorithm of ``key_spec``."""
    mac = _hmac(material, key_spec, algorithm)
    mac.update(message)
    return mac.finalize()


def verify_mac(
    material: HmacKeyMaterial, *, key_spec: str, algorithm: str, message: bytes, mac: bytes
) -> bool:
    """Whether ``mac`` is the HMAC of ``message``; compared in constant time."""
    expected = _hmac(material, key_spec, algorithm)
    expected.update(message)
    try:
        expected.verify(mac)
    except InvalidSignature:
        return False
    return True


def _hmac(material: HmacKeyMaterial, key_spec: str, algorithm: str) -> HMAC:
    if not isinstance(material, HmacKeyMaterial):
        raise TypeError("an HMAC needs HmacKeyMaterial")
    if algorithm not in spec_info(key_spec).algorithms("GENERATE_VERIFY_MAC"):
        raise InvalidKeyUsageError(
            f"Algorithm {algorithm} is incompatible with key spec {key_spec}."
        )
    return HMAC(material.expose_secret_bytes(), _HASHES[algorithm]())
