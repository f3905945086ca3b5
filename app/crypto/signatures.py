"""Sign and Verify with RSA and ECDSA keys, as AWS KMS does.

* ``RSASSA_PKCS1_V1_5_SHA_*``: PKCS #1 v1.5 signatures (RFC 8017);
* ``RSASSA_PSS_SHA_*``: PSS with MGF1 over the same hash and a salt as long
  as the digest (32, 48 or 64 bytes), AWS's choice;
* ``ECDSA_SHA_*``: DER-encoded ``Ecdsa-Sig-Value`` (RFC 3279).

``MessageType`` RAW hashes a message of at most 4096 bytes; DIGEST takes the
digest itself, which must be exactly as long as the algorithm's hash. An
algorithm the key spec does not offer is refused with AWS's
``InvalidKeyUsageException`` message. Verification never raises for a bad
signature: it answers ``False`` (a malformed signature is simply invalid).
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from app.crypto.private_keys import (
    PrivateKeyMaterial,
    PublicKey,
    load_private_key,
    load_public_key,
)
from app.errors import InvalidKeyUsageError, ValidationError
from app.keys.specs import DIGEST, DIGEST_BYTES, RAW, SIGN_VERIFY, spec_info

MAX_RAW_MESSAGE_BYTES: Final = 4096

_HASHES: Final[dict[int, type[hashes.HashAlgorithm]]] = {
    32: hashes.SHA256,
    48: hashes.SHA384,
    64: hashes.SHA512,
}


def sign(
    material: PrivateKeyMaterial,
    *,
    key_spec: str,
    algorithm: str,
    message: bytes,
    message_type: str = RAW,
) -> bytes:
    """The signature of ``message`` (or of the digest it is) by the private key."""
    chosen = _hash(key_spec, algorithm, message, message_type)
    key = load_private_key(material)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, _rsa_padding(algorithm, chosen), chosen)
    return key.sign(message, ec.ECDSA(chosen))


def verify(
    material: PrivateKeyMaterial,
    *,
    key_spec: str,
    algorithm: str,
    message: bytes,
    signature: bytes,
    message_type: str = RAW,
) -> bool:
    """Whether ``signature`` is a valid signature of ``message`` by this key pair."""
    chosen = _hash(key_spec, algorithm, message, message_type)
    return _verify(load_public_key(material), algorithm, chosen, message, signature)


def verify_with_public_key(
    public_key: bytes,
    *,
    key_spec: str,
    algorithm: str,
    message: bytes,
    signature: bytes,
    message_type: str = RAW,
) -> bool:
    """:func:`verify` with a DER SubjectPublicKeyInfo instead of the private key
    (what a client holding GetPublicKey's answer does). An unreadable or
    unsuitable key makes every signature invalid."""
    chosen = _hash(key_spec, algorithm, message, message_type)
    try:
        public = serialization.load_der_public_key(public_key)
    except (ValueError, TypeError):
        return False
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return False
    return _verify(public, algorithm, chosen, message, signature)


def _verify(
    public: PublicKey,
    algorithm: str,
    chosen: hashes.HashAlgorithm | Prehashed,
    message: bytes,
    signature: bytes,
) -> bool:
    try:
        if isinstance(public, rsa.RSAPublicKey):
            if not algorithm.startswith("RSASSA_"):
                return False
            public.verify(signature, message, _rsa_padding(algorithm, chosen), chosen)
        else:
            if not algorithm.startswith("ECDSA_"):
                return False
            public.verify(signature, message, ec.ECDSA(chosen))
    except (InvalidSignature, ValueError):
        return False
    return True


def _hash(
    key_spec: str, algorithm: str, message: bytes, message_type: str
) -> hashes.HashAlgorithm | Prehashed:
    """The hash to sign with, after AWS's checks of algorithm and message."""
    if algorithm not in spec_info(key_spec).algorithms(SIGN_VERIFY):
        raise InvalidKeyUsageError(
            f"Algorithm {algorithm} is incompatible with key spec {key_spec}."
        )
    digest_bytes = DIGEST_BYTES[algorithm]
    algorithm_hash = _HASHES[digest_bytes]()
    if message_type == RAW:
        if len(message) > MAX_RAW_MESSAGE_BYTES:
            raise ValidationError(
                f"Message must be at most {MAX_RAW_MESSAGE_BYTES} bytes", field="Message"
            )
        return algorithm_hash
    if message_type == DIGEST:
        if len(message) != digest_bytes:
            raise ValidationError(
                f"Digest is invalid length for algorithm {algorithm}.", field="Message"
            )
        return Prehashed(algorithm_hash)
    raise ValidationError(f"MessageType {message_type} is not supported.", field="MessageType")


def _rsa_padding(
    algorithm: str, chosen: hashes.HashAlgorithm | Prehashed
) -> padding.AsymmetricPadding:
    if algorithm.startswith("RSASSA_PSS_"):
        digest_bytes = DIGEST_BYTES[algorithm]
        return padding.PSS(mgf=padding.MGF1(_HASHES[digest_bytes]()), salt_length=digest_bytes)
    return padding.PKCS1v15()
