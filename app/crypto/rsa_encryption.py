"""Asymmetric Encrypt and Decrypt: RSAES-OAEP with SHA-1 or SHA-256.

As AWS KMS: MGF1 uses the same hash as OAEP, the label is empty, the output
is the bare RSA ciphertext with no header (so Decrypt needs the key and the
algorithm named again), and there is no encryption context. The largest
plaintext depends on the modulus and the hash (kms-api.md section 4.4).
Every failure to decrypt raises ``InvalidCiphertextError`` with an empty
message, whatever the cause, so the answer is no padding oracle.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.crypto.private_keys import PrivateKeyMaterial, load_private_key, load_public_key
from app.errors import InvalidCiphertextError, InvalidKeyUsageError, ValidationError
from app.keys.specs import ENCRYPT_DECRYPT, OAEP_MAX_PLAINTEXT, spec_info

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "RSAES_OAEP_SHA_1": hashes.SHA1,
    "RSAES_OAEP_SHA_256": hashes.SHA256,
}


def max_plaintext_bytes(key_spec: str, algorithm: str) -> int:
    return OAEP_MAX_PLAINTEXT[(key_spec, algorithm)]


def rsa_encrypt(
    material: PrivateKeyMaterial, *, key_spec: str, algorithm: str, plaintext: bytes
) -> bytes:
    """``plaintext`` encrypted with the public half of ``material``."""
    _check(key_spec, algorithm)
    limit = max_plaintext_bytes(key_spec, algorithm)
    if len(plaintext) > limit:
        raise ValidationError(
            f"Algorithm {algorithm} and key spec {key_spec} cannot encrypt data larger than "
            f"{limit} bytes.",
            field="Plaintext",
        )
    public = load_public_key(material)
    if not isinstance(public, rsa.RSAPublicKey):
        raise TypeError("RSAES-OAEP needs an RSA key")
    return public.encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(
    material: PrivateKeyMaterial, *, key_spec: str, algorithm: str, ciphertext: bytes
) -> bytes:
    """Reverse :func:`rsa_encrypt`; any failure is ``InvalidCiphertextError``."""
    _check(key_spec, algorithm)
    try:
        return _rsa(material).decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        # One error for every cause (length, padding, wrong key): no oracle.
        raise InvalidCiphertextError() from None


def _check(key_spec: str, algorithm: str) -> None:
    if algorithm not in spec_info(key_spec).algorithms(ENCRYPT_DECRYPT) or algorithm not in _HASHES:
        raise InvalidKeyUsageError(
            f"Algorithm {algorithm} is incompatible with key spec {key_spec}."
        )


def _rsa(material: PrivateKeyMaterial) -> rsa.RSAPrivateKey:
    key = load_private_key(material)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("RSAES-OAEP needs an RSA key")
    return key


def _oaep(algorithm: str) -> padding.OAEP:
    chosen = _HASHES[algorithm]
    return padding.OAEP(mgf=padding.MGF1(chosen()), algorithm=chosen(), label=None)
