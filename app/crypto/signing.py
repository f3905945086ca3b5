"""Ed25519 signatures for audit checkpoints.

The private key is a :class:`SigningPrivateKey` (32 secret bytes, the Ed25519
seed), a type distinct from customer key material. It is stored only sealed
under the root key, with AAD for the purpose ``trent/signing-key/v1`` and the
key's name, so it cannot be confused with (or swapped for) sealed key material.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from app.crypto.material import bound_aad
from app.crypto.root_key import RootKeyProvider
from app.crypto.sealed import SealedMaterial
from app.crypto.secret import SecretBytes

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64

_PURPOSE_SIGNING_KEY = b"trent/signing-key/v1"


class SigningPrivateKey(SecretBytes):
    """An Ed25519 private key (its 32-byte seed). Never store it unsealed."""

    __slots__ = ()
    length = 32


def generate_signing_key() -> tuple[SigningPrivateKey, bytes]:
    """A new key pair: the private key and the 32-byte raw public key."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return SigningPrivateKey(seed), public


def public_key_bytes(private: SigningPrivateKey) -> bytes:
    """The 32-byte raw public key of ``private``."""
    return _load(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(private: SigningPrivateKey, data: bytes) -> bytes:
    """A 64-byte Ed25519 signature of ``data``."""
    return _load(private).sign(data)


def verify(public: bytes, signature: bytes, data: bytes) -> bool:
    """True only if ``signature`` is a valid signature of ``data`` by ``public``.

    Malformed keys and signatures are simply invalid: this never raises for bad input.
    """
    if len(public) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def signing_key_seal_aad(*, name: str, version: int) -> bytes:
    """The AAD version ``version`` of the signing key ``name`` is sealed with."""
    return bound_aad(_PURPOSE_SIGNING_KEY, name, version)


def seal_signing_key(
    root: RootKeyProvider, private: SigningPrivateKey, *, name: str, version: int = 1
) -> SealedMaterial:
    """Seal ``private`` for storage as version ``version`` of the signing key ``name``."""
    if not isinstance(private, SigningPrivateKey):
        raise TypeError("seal_signing_key seals SigningPrivateKey only")
    aad = bound_aad(_PURPOSE_SIGNING_KEY, name, version)
    return SealedMaterial(root.seal(private.expose_secret_bytes(), aad))


def unseal_signing_key(
    root: RootKeyProvider, sealed: SealedMaterial, *, name: str, version: int = 1
) -> SigningPrivateKey:
    """Reverse :func:`seal_signing_key`; failures raise ``RootKeyError``."""
    aad = bound_aad(_PURPOSE_SIGNING_KEY, name, version)
    return SigningPrivateKey(root.unseal(sealed.blob, aad))


def _load(private: SigningPrivateKey) -> Ed25519PrivateKey:
    if not isinstance(private, SigningPrivateKey):
        raise TypeError("a SigningPrivateKey is required")
    return Ed25519PrivateKey.from_private_bytes(private.expose_secret_bytes())
