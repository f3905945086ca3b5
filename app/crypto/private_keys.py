"""RSA and elliptic-curve private keys of asymmetric KMS keys.

A private key is held as :class:`PrivateKeyMaterial`: its DER PKCS#8
encoding (RFC 5958), secret bytes that refuse to be printed or pickled and
are stored only sealed (:mod:`app.crypto.typed_material`). Public keys leave
as DER SubjectPublicKeyInfo (RFC 5280), the form AWS's GetPublicKey returns.
"""

from __future__ import annotations

from typing import Final, TypeAlias

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.crypto.secret import SecretBytes
from app.keys.specs import Family, spec_info

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

RSA_PUBLIC_EXPONENT: Final = 65537

_CURVES: Final[dict[str, type[ec.EllipticCurve]]] = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}


class PrivateKeyMaterial(SecretBytes):
    """A private key as DER PKCS#8, unsealed. Never store it unsealed, never log it.

    The key object made from the DER is kept with it (``_keys``), so that a
    version held in the material cache is parsed once, and OpenSSL's per-key
    set-up for RSA (blinding, Montgomery contexts), which costs as much as a
    2048-bit signature, is done once rather than on every request.
    """

    __slots__ = ("_keys",)
    length = None

    _keys: tuple[PrivateKey, PublicKey]


def generate_private_key(key_spec: str) -> PrivateKeyMaterial:
    """A new private key of an RSA or ECC ``key_spec`` from OpenSSL's CSPRNG."""
    spec = spec_info(key_spec)
    private: PrivateKey
    if spec.family is Family.RSA:
        private = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=spec.bits)
    elif spec.family is Family.ECC:
        private = ec.generate_private_key(_CURVES[key_spec]())
    else:
        raise ValueError(f"{key_spec} is not an asymmetric key spec")
    return PrivateKeyMaterial(
        private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def load_private_key(material: PrivateKeyMaterial) -> PrivateKey:
    """The key object of ``material``, for this package's signing and decryption."""
    return _keys(material)[0]


def load_public_key(material: PrivateKeyMaterial) -> PublicKey:
    """The public half of ``material``, for verification and encryption."""
    return _keys(material)[1]


def _keys(material: PrivateKeyMaterial) -> tuple[PrivateKey, PublicKey]:
    """The key objects of ``material``, made on first use and kept with it.

    RSA's expensive consistency checks are skipped: the DER was made by
    :func:`generate_private_key` and comes back only through an authenticated
    unseal, so it is the key that was generated. Two threads that race here
    both make the same keys; either result may be kept.
    """
    if not isinstance(material, PrivateKeyMaterial):
        raise TypeError("a PrivateKeyMaterial is required")
    try:
        return material._keys
    except AttributeError:
        pass
    key = serialization.load_der_private_key(
        material.expose_secret_bytes(), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError("the material is not an RSA or elliptic-curve private key")
    keys: tuple[PrivateKey, PublicKey] = (key, key.public_key())
    material._keys = keys
    return keys


def public_key_der(material: PrivateKeyMaterial) -> bytes:
    """The DER SubjectPublicKeyInfo of ``material``'s public key."""
    return spki_der(load_public_key(material))


def spki_der(public: PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_matches_spec(material: PrivateKeyMaterial, key_spec: str) -> bool:
    """Whether ``material`` is a key of ``key_spec`` (modulus size or curve)."""
    key = load_private_key(material)
    spec = spec_info(key_spec)
    if spec.family is Family.RSA:
        return isinstance(key, rsa.RSAPrivateKey) and key.key_size == spec.bits
    curve = _CURVES.get(key_spec)
    return (
        curve is not None
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and isinstance(key.curve, curve)
    )
