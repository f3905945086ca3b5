"""Imported key material (``Origin=EXTERNAL``): wrapping keys, unwrapping, checks.

GetParametersForImport hands out the public half of a fresh RSA wrapping key;
its private half is sealed under the root key (bound to the KMS key and the
import token) and never leaves the service. ImportKeyMaterial unwraps with it
in one of AWS's four wrapping algorithms:

* ``RSAES_OAEP_SHA_1`` / ``RSAES_OAEP_SHA_256``: the material itself is
  RSA-OAEP encrypted (MGF1 with the same hash, empty label);
* ``RSA_AES_KEY_WRAP_SHA_1`` / ``RSA_AES_KEY_WRAP_SHA_256`` (PKCS#11
  ``CKM_RSA_AES_KEY_WRAP``): an ephemeral AES-256 key is RSA-OAEP encrypted,
  and the material is wrapped under it with AES Key Wrap with Padding
  (RFC 5649); the blob is the RSA part followed by the wrapped part.

:func:`wrap_key_material` is the client's side of the same procedure (the
CLI's ``trent keys import`` and the tests use it). Every failure to unwrap is
the same ``InvalidCiphertextError`` with an empty message: no padding oracle.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.crypto.hmac_keys import HmacKeyMaterial
from app.crypto.material import MATERIAL_BYTES, KeyMaterial, bound_aad
from app.crypto.private_keys import PrivateKeyMaterial, key_matches_spec
from app.crypto.root_key import RootKeyProvider
from app.crypto.secret import SecretBytes
from app.crypto.typed_material import AnyMaterial
from app.errors import InvalidCiphertextError, ValidationError
from app.keys.specs import Family, spec_info

WRAPPING_KEY_SPECS: Final[dict[str, int]] = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
WRAPPING_ALGORITHMS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "RSAES_OAEP_SHA_1": hashes.SHA1,
    "RSAES_OAEP_SHA_256": hashes.SHA256,
    "RSA_AES_KEY_WRAP_SHA_1": hashes.SHA1,
    "RSA_AES_KEY_WRAP_SHA_256": hashes.SHA256,
}
#: Accepted lengths (bytes) of imported HMAC material per spec (AWS's table).
HMAC_IMPORT_BYTES: Final[dict[str, tuple[int, int]]] = {
    "HMAC_224": (28, 64),
    "HMAC_256": (32, 64),
    "HMAC_384": (48, 128),
    "HMAC_512": (64, 128),
}
_AES_WRAP_KEY_BYTES = 32
_PURPOSE_WRAPPING_KEY = b"trent/import-wrapping-key/v1"


class WrappingPrivateKey(SecretBytes):
    """The private half of an import wrapping key, DER PKCS#8. Never store it unsealed."""

    __slots__ = ()
    length = None


def new_wrapping_key(wrapping_key_spec: str) -> tuple[WrappingPrivateKey, bytes]:
    """A fresh RSA wrapping key: (private half, DER SubjectPublicKeyInfo of the public half)."""
    private = rsa.generate_private_key(
        public_exponent=65537, key_size=WRAPPING_KEY_SPECS[wrapping_key_spec]
    )
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return WrappingPrivateKey(der), public


def _wrapping_aad(key_arn: str, token_digest: str) -> bytes:
    return bound_aad(_PURPOSE_WRAPPING_KEY, f"{key_arn}#{token_digest}", 1)


def seal_wrapping_key(
    root: RootKeyProvider, private: WrappingPrivateKey, *, key_arn: str, token_digest: str
) -> bytes:
    """Seal the wrapping key for the database, bound to its KMS key and import token."""
    return root.seal(private.expose_secret_bytes(), _wrapping_aad(key_arn, token_digest))


def unseal_wrapping_key(
    root: RootKeyProvider, sealed: bytes, *, key_arn: str, token_digest: str
) -> WrappingPrivateKey:
    return WrappingPrivateKey(root.unseal(sealed, _wrapping_aad(key_arn, token_digest)))


def _oaep(wrapping_algorithm: str) -> padding.OAEP:
    chosen = WRAPPING_ALGORITHMS[wrapping_algorithm]
    return padding.OAEP(mgf=padding.MGF1(chosen()), algorithm=chosen(), label=None)


def unwrap_key_material(
    private: WrappingPrivateKey, wrapping_algorithm: str, encrypted: bytes
) -> bytes:
    """The material ``encrypted`` carries; ``InvalidCiphertextError`` for any failure."""
    key = serialization.load_der_private_key(private.expose_secret_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("an import wrapping key is an RSA key")
    oaep = _oaep(wrapping_algorithm)
    try:
        if wrapping_algorithm.startswith("RSAES_OAEP_"):
            return key.decrypt(encrypted, oaep)
        split = key.key_size // 8
        if len(encrypted) <= split:
            raise ValueError("no wrapped part")
        aes_key = key.decrypt(encrypted[:split], oaep)
        if len(aes_key) != _AES_WRAP_KEY_BYTES:
            raise ValueError("the ephemeral key is not AES-256")
        return keywrap.aes_key_unwrap_with_padding(aes_key, encrypted[split:])
    except (ValueError, keywrap.InvalidUnwrap):
        raise InvalidCiphertextError() from None


def wrap_key_material(public_key_der: bytes, wrapping_algorithm: str, material: bytes) -> bytes:
    """The client's side: wrap ``material`` for import with the public key that
    GetParametersForImport returned, as AWS documents the procedure."""
    public = serialization.load_der_public_key(public_key_der)
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("the wrapping public key is not an RSA key")
    if wrapping_algorithm not in WRAPPING_ALGORITHMS:
        raise ValueError(f"unknown wrapping algorithm {wrapping_algorithm}")
    oaep = _oaep(wrapping_algorithm)
    if wrapping_algorithm.startswith("RSAES_OAEP_"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(_AES_WRAP_KEY_BYTES)
    return public.encrypt(aes_key, oaep) + keywrap.aes_key_wrap_with_padding(aes_key, material)


def material_from_file(content: bytes) -> bytes:
    """The bytes to import from a key file: a PEM private key becomes DER
    PKCS#8 (AWS's format for asymmetric material); anything else is taken as is."""
    if content.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(content, password=None)
        return key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    return content


def imported_material(key_spec: str, raw: bytes) -> AnyMaterial:
    """Check unwrapped material against the key's spec and type it.

    Symmetric: 32 bytes. HMAC: a length in AWS's range for the spec. RSA/ECC:
    a DER PKCS#8 private key of exactly the spec's size or curve, re-encoded
    canonically so the same key always has the same material id.
    """
    spec = spec_info(key_spec)
    if spec.family is Family.SYMMETRIC:
        if len(raw) != MATERIAL_BYTES:
            raise _wrong(f"Key material for {key_spec} must be {MATERIAL_BYTES} bytes.")
        return KeyMaterial(raw)
    if spec.family is Family.HMAC:
        low, high = HMAC_IMPORT_BYTES[key_spec]
        if not low <= len(raw) <= high:
            raise _wrong(f"Key material for {key_spec} must be {low} to {high} bytes.")
        return HmacKeyMaterial(raw)
    try:
        key = serialization.load_der_private_key(raw, password=None)
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    except (ValueError, TypeError):
        raise _wrong(f"Key material for {key_spec} must be a DER PKCS#8 private key.") from None
    material = PrivateKeyMaterial(der)
    try:
        matches = key_matches_spec(material, key_spec)
    except TypeError:
        matches = False
    if not matches:
        raise _wrong(f"The imported private key is not a {key_spec} key.")
    return material


def _wrong(message: str) -> ValidationError:
    return ValidationError(message, field="EncryptedKeyMaterial")
