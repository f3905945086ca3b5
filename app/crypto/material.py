"""Customer key material: unsealed in memory, sealed at rest.

:class:`KeyMaterial` (32 secret bytes) and :class:`SealedMaterial` (what the
database stores) are unrelated types, so a repository typed to take
``SealedMaterial`` cannot be handed unsealed bytes by mistake.

Sealing binds the blob to the key ARN and version through the AAD::

    "trent/key-material/v1" || 0x00 || u16 len(arn) || arn (UTF-8) || u32 version

so a sealed row copied to another key or version fails to unseal.
"""

from __future__ import annotations

import os
import struct
import uuid
from collections.abc import Callable
from typing import NewType

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from app.crypto.root_key import RootKeyProvider
from app.crypto.sealed import SealedMaterial
from app.crypto.secret import SecretBytes

MATERIAL_BYTES = 32
MAX_KEY_VERSION = 0xFFFF_FFFF

#: 64 lowercase hex characters; DescribeKey's ``CurrentKeyMaterialId``.
KeyMaterialId = NewType("KeyMaterialId", str)

_PURPOSE_MATERIAL = b"trent/key-material/v1"
_PURPOSE_MATERIAL_ID = b"trent/key-material-id/v1"


class KeyMaterial(SecretBytes):
    """One version of a symmetric key's material, unsealed. Never store it."""

    __slots__ = ()
    length = MATERIAL_BYTES


def generate_material(random: Callable[[int], bytes] = os.urandom) -> KeyMaterial:
    """Fresh key material from ``random`` (the operating system's CSPRNG)."""
    return KeyMaterial(random(MATERIAL_BYTES))


def seal_material(
    root: RootKeyProvider, material: KeyMaterial, *, key_arn: str, version: int
) -> SealedMaterial:
    """Seal ``material`` for storage as version ``version`` of ``key_arn``."""
    if not isinstance(material, KeyMaterial):
        raise TypeError("seal_material seals KeyMaterial only")
    return SealedMaterial(
        root.seal(material.expose_secret_bytes(), material_seal_aad(key_arn, version))
    )


def material_seal_aad(key_arn: str, version: int) -> bytes:
    """The AAD symmetric material (seal format 1) is sealed with."""
    return bound_aad(_PURPOSE_MATERIAL, key_arn, version)


def unseal_material(
    root: RootKeyProvider, sealed: SealedMaterial, *, key_arn: str, version: int
) -> KeyMaterial:
    """Unseal version ``version`` of ``key_arn``; a misplaced or modified blob raises
    :class:`app.crypto.root_key.RootKeyError`."""
    aad = bound_aad(_PURPOSE_MATERIAL, key_arn, version)
    return KeyMaterial(root.unseal(sealed.blob, aad))


def material_id(key_id: uuid.UUID, material: SecretBytes) -> KeyMaterialId:
    """A public identifier of one key version's material (of any key spec).

    HMAC-SHA256 keyed with the material over a label and the key id: a PRF
    output, so it reveals nothing about the material, yet identifies it.
    The message starts with the label, never with the 4-byte counter that
    starts every KBKDF input, so it cannot coincide with a derived key.
    """
    mac = HMAC(material.expose_secret_bytes(), hashes.SHA256())
    mac.update(_PURPOSE_MATERIAL_ID + b"\x00" + key_id.bytes)
    return KeyMaterialId(mac.finalize().hex())


def bound_aad(purpose: bytes, name: str, version: int) -> bytes:
    """Unambiguous AAD naming what a sealed secret is for: purpose, name, version."""
    if not name:
        raise ValueError("a sealed secret must be bound to a non-empty name")
    if not 0 <= version <= MAX_KEY_VERSION:
        raise ValueError("version must fit in 32 bits")
    encoded = name.encode("utf-8")
    if len(encoded) > 0xFFFF:
        raise ValueError("name is too long to bind")
    return (
        purpose + b"\x00" + struct.pack(">H", len(encoded)) + encoded + struct.pack(">I", version)
    )
