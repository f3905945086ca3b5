"""Ciphertext format v1 for symmetric Encrypt, Decrypt and data keys.

Layout (integers big-endian; security.md section 2.6)::

    offset  len  field
         0    1  format version       0x01
         1    1  algorithm suite      0x01 = KBKDF-HMAC-SHA256 -> AES-256-GCM, committed
         2   16  key id               UUID bytes
        18    4  key version
        22   32  KDF salt             random per message
        54   32  key commitment
        86   12  GCM IV               random per message
        98    n  ciphertext           0 <= n <= 4096
      98+n   16  GCM tag

Per message, two values are derived from the version's material with
SP 800-108 counter-mode HMAC-SHA256 (:mod:`app.crypto.kdf`), both with the
context ``header[0:54]`` (version, suite, key id, key version, salt):

* label ``trent/ciphertext/v1/aes-256-gcm-key`` -> the 32-byte AES-256-GCM key;
* label ``trent/ciphertext/v1/key-commitment`` -> the 32-byte commitment.

Every message has a fresh random 256-bit salt and therefore a fresh AES key,
so the 2^32 random-IV limit of GCM never binds. The GCM AAD is the whole
98-byte header followed by the canonical encryption context
(:mod:`app.crypto.encryption_context`); the context is not stored.

AES-GCM alone is not key-committing: one ciphertext can be built to decrypt
under two keys. Decrypt therefore recomputes the commitment from the
material it was given and compares it in constant time before GCM runs, on
every path (the material cache holds material, never derived keys).

Suite 2 is for keys held in a PKCS#11 token (custom key stores,
:mod:`app.crypto.token_keys`), whose material Trent never holds, so nothing
can be derived from it outside the token. The token runs AES-256-GCM with
the key itself::

    offset  len  field
         0    1  format version       0x01
         1    1  algorithm suite      0x02 = AES-256-GCM in a PKCS#11 token
         2   16  key id               UUID bytes
        18    4  key version
        22   12  GCM IV               random per message
        34    n  ciphertext           0 <= n <= 4096
      34+n   16  GCM tag

with the 34-byte header and the canonical context as the AAD. There is no
key commitment: the key is the one object the header names, found by the key
id and version the AAD authenticates, never chosen by trial. Random 96-bit
IVs under one key keep to NIST's limit of 2^32 messages per key; a token key
is not rotated (custom key store keys cannot be), so that is its budget.

Every failure to parse or decrypt raises ``InvalidCiphertextError`` with an
empty message, so the response is not an oracle for which check failed.
"""

from __future__ import annotations

import hmac
import os
import struct
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto.encryption_context import canonical_context
from app.crypto.kdf import kbkdf_hmac_sha256
from app.crypto.material import MAX_KEY_VERSION, KeyMaterial
from app.errors import InvalidCiphertextError, ValidationError

FORMAT_VERSION = 0x01
SUITE_KBKDF_SHA256_AES256GCM_COMMIT = 0x01
SUITE_TOKEN_AES256GCM = 0x02

MAX_PLAINTEXT_BYTES = 4096
SALT_BYTES = 32
COMMITMENT_BYTES = 32
IV_BYTES = 12
TAG_BYTES = 16

_KDF_CONTEXT_END = 1 + 1 + 16 + 4 + SALT_BYTES  # 54: version .. salt
_COMMITMENT_END = _KDF_CONTEXT_END + COMMITMENT_BYTES  # 86
HEADER_BYTES = _COMMITMENT_END + IV_BYTES  # 98
MIN_CIPHERTEXT_BYTES = HEADER_BYTES + TAG_BYTES  # 114: empty plaintext
MAX_CIPHERTEXT_BYTES = MIN_CIPHERTEXT_BYTES + MAX_PLAINTEXT_BYTES  # 4210

LABEL_ENCRYPTION_KEY = b"trent/ciphertext/v1/aes-256-gcm-key"
LABEL_COMMITMENT = b"trent/ciphertext/v1/key-commitment"

_PREFIX = struct.Struct(">BB16sI")
_TOKEN_HEADER_BYTES = _PREFIX.size + IV_BYTES  # 34
_TOKEN_MIN_BYTES = _TOKEN_HEADER_BYTES + TAG_BYTES  # 50


class TokenHeldKey(Protocol):
    """A key version whose material stays in a token (:class:`app.crypto.token_keys.TokenKey`).

    ``decrypt`` raises :class:`cryptography.exceptions.InvalidTag` when the
    tag does not verify."""

    def encrypt(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes: ...

    def decrypt(self, iv: bytes, body: bytes, aad: bytes) -> bytes: ...


#: What encrypts and decrypts for one symmetric key version.
SymmetricKey: TypeAlias = KeyMaterial | TokenHeldKey


@dataclass(frozen=True, slots=True)
class CiphertextHeader:
    """What a caller may learn from a ciphertext before decrypting: the key it names."""

    key_id: uuid.UUID
    key_version: int
    suite: int = SUITE_KBKDF_SHA256_AES256GCM_COMMIT


def encrypt(
    material: SymmetricKey,
    *,
    key_id: uuid.UUID,
    key_version: int,
    plaintext: bytes,
    context: Mapping[str, str],
    random: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """Encrypt ``plaintext`` (at most 4096 bytes) under one key version's material.

    ``random`` exists so known-answer tests can pin the salt and the IV (drawn
    in that order); production code never passes it.
    """
    if not isinstance(key_id, uuid.UUID):
        raise TypeError("key_id must be a uuid.UUID")
    if not 0 <= key_version <= MAX_KEY_VERSION:
        raise ValueError("key_version must fit in 32 bits")
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValidationError(
            f"Plaintext must be at most {MAX_PLAINTEXT_BYTES} bytes", field="Plaintext"
        )
    _check_key(material)
    aad_context = canonical_context(context)
    if not isinstance(material, KeyMaterial):
        prefix = _PREFIX.pack(FORMAT_VERSION, SUITE_TOKEN_AES256GCM, key_id.bytes, key_version)
        iv = _draw(random, IV_BYTES)
        header = prefix + iv
        return header + material.encrypt(iv, plaintext, header + aad_context)
    salt = _draw(random, SALT_BYTES)
    iv = _draw(random, IV_BYTES)
    kdf_context = (
        _PREFIX.pack(FORMAT_VERSION, SUITE_KBKDF_SHA256_AES256GCM_COMMIT, key_id.bytes, key_version)
        + salt
    )
    message_key, commitment = _derive(material, kdf_context)
    header = kdf_context + commitment + iv
    return header + AESGCM(message_key).encrypt(iv, plaintext, header + aad_context)


def parse_header(blob: bytes) -> CiphertextHeader:
    """The key id and version a ciphertext names; structural checks only.

    The result is not authenticated until :func:`decrypt` succeeds; use it to
    find and authorise the key, never as proof of anything.
    """
    if not isinstance(blob, bytes) or len(blob) < _TOKEN_MIN_BYTES:
        raise InvalidCiphertextError()
    version, suite, key_id, key_version = _PREFIX.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise InvalidCiphertextError()
    if suite == SUITE_KBKDF_SHA256_AES256GCM_COMMIT:
        if not MIN_CIPHERTEXT_BYTES <= len(blob) <= MAX_CIPHERTEXT_BYTES:
            raise InvalidCiphertextError()
    elif suite == SUITE_TOKEN_AES256GCM:
        if len(blob) > _TOKEN_MIN_BYTES + MAX_PLAINTEXT_BYTES:
            raise InvalidCiphertextError()
    else:
        raise InvalidCiphertextError()
    return CiphertextHeader(uuid.UUID(bytes=key_id), key_version, suite)


def decrypt(
    material: SymmetricKey,
    header: CiphertextHeader,
    blob: bytes,
    context: Mapping[str, str],
) -> bytes:
    """Decrypt ``blob`` with the material of the key version ``header`` names.

    ``header`` is what :func:`parse_header` returned for ``blob`` and was used
    to look up ``material``; it is checked again here so material found for
    one ciphertext cannot be applied to another. Raises ``ValidationError``
    for an invalid context and ``InvalidCiphertextError`` for everything else.
    """
    _check_key(material)
    aad_context = canonical_context(context)
    if parse_header(blob) != header:
        raise InvalidCiphertextError()
    if not isinstance(material, KeyMaterial):
        # A token key opens suite 2 only, and software material suite 1 only.
        if header.suite != SUITE_TOKEN_AES256GCM:
            raise InvalidCiphertextError()
        head = blob[:_TOKEN_HEADER_BYTES]
        try:
            return material.decrypt(
                head[_PREFIX.size :], blob[_TOKEN_HEADER_BYTES:], head + aad_context
            )
        except InvalidTag:
            raise InvalidCiphertextError() from None
    if header.suite != SUITE_KBKDF_SHA256_AES256GCM_COMMIT:
        raise InvalidCiphertextError()
    message_key, expected_commitment = _derive(material, blob[:_KDF_CONTEXT_END])
    # The commitment is compared first, in constant time: GCM alone would let a
    # ciphertext crafted for two keys decrypt under the wrong one.
    if not hmac.compare_digest(expected_commitment, blob[_KDF_CONTEXT_END:_COMMITMENT_END]):
        raise InvalidCiphertextError()
    iv = blob[_COMMITMENT_END:HEADER_BYTES]
    try:
        return AESGCM(message_key).decrypt(
            iv, blob[HEADER_BYTES:], blob[:HEADER_BYTES] + aad_context
        )
    except InvalidTag:
        # All failures raise the same error so the response is not a tag oracle.
        raise InvalidCiphertextError() from None


def _check_key(material: object) -> None:
    if not isinstance(material, KeyMaterial) and not callable(getattr(material, "decrypt", None)):
        raise TypeError("needs KeyMaterial or a token-held key")


def _derive(material: KeyMaterial, kdf_context: bytes) -> tuple[bytes, bytes]:
    secret = material.expose_secret_bytes()
    message_key = kbkdf_hmac_sha256(secret, label=LABEL_ENCRYPTION_KEY, context=kdf_context)
    commitment = kbkdf_hmac_sha256(secret, label=LABEL_COMMITMENT, context=kdf_context)
    return message_key, commitment


def _draw(random: Callable[[int], bytes], size: int) -> bytes:
    value = random(size)
    if type(value) is not bytes or len(value) != size:
        raise ValueError(f"the random source returned something other than {size} bytes")
    return value
