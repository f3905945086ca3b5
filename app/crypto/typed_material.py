"""Key material of every key spec, and sealing format 2 for what is not symmetric.

A symmetric version is 32 bytes of :class:`~app.crypto.material.KeyMaterial`
sealed with format 1 (:mod:`app.crypto.material`), unchanged, so versions
sealed before other specs existed unseal exactly as before. HMAC keys
(:class:`~app.crypto.hmac_keys.HmacKeyMaterial`, 28 to 64 bytes) and RSA/ECC
private keys (:class:`~app.crypto.private_keys.PrivateKeyMaterial`, DER
PKCS#8 of up to a few KiB) are sealed with their own purpose and the key
spec in the AAD::

    "trent/key-material/v2" || 0x00 || u16 len(arn) || arn || u32 version
                            || u16 len(spec) || spec (ASCII)

so a sealed row moved to another key, version or spec, or read with format 1,
fails to unseal; and format 1 rows cannot be read as format 2.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import TypeAlias

from app.crypto.hmac_keys import HmacKeyMaterial, generate_hmac_material
from app.crypto.material import (
    KeyMaterial,
    bound_aad,
    generate_material,
    material_seal_aad,
    seal_material,
    unseal_material,
)
from app.crypto.private_keys import PrivateKeyMaterial, generate_private_key
from app.crypto.root_key import RootKeyError, RootKeyProvider
from app.crypto.sealed import SealedMaterial
from app.keys.specs import Family, spec_info

#: Unsealed material of one key version, whatever its spec.
AnyMaterial: TypeAlias = KeyMaterial | HmacKeyMaterial | PrivateKeyMaterial

_PURPOSE_TYPED_MATERIAL = b"trent/key-material/v2"


def new_material(key_spec: str, random: Callable[[int], bytes] = os.urandom) -> AnyMaterial:
    """Fresh material for a new key (or version) of ``key_spec``.

    ``random`` is used for symmetric and HMAC material (the service's source);
    RSA and EC keys come from OpenSSL's own CSPRNG, which key generation needs.
    """
    family = spec_info(key_spec).family
    if family is Family.SYMMETRIC:
        return generate_material(random)
    if family is Family.HMAC:
        return generate_hmac_material(key_spec, random)
    return generate_private_key(key_spec)


def seal_any(
    root: RootKeyProvider, material: AnyMaterial, *, key_arn: str, version: int, key_spec: str
) -> SealedMaterial:
    """Seal one version's material: format 1 for symmetric material, 2 for the rest."""
    family = spec_info(key_spec).family
    if family is Family.SYMMETRIC:
        if not isinstance(material, KeyMaterial):
            raise TypeError("a symmetric key's material is KeyMaterial")
        return seal_material(root, material, key_arn=key_arn, version=version)
    expected = HmacKeyMaterial if family is Family.HMAC else PrivateKeyMaterial
    if not isinstance(material, expected):
        raise TypeError(f"a {key_spec} key's material is {expected.__name__}")
    aad = _typed_aad(key_arn, version, key_spec)
    return SealedMaterial(root.seal(material.expose_secret_bytes(), aad))


def version_seal_aad(*, key_arn: str, version: int, key_spec: str) -> bytes:
    """The AAD a version's material is sealed with (``root-key migrate`` re-seals
    rows with it without looking at the material's type)."""
    if spec_info(key_spec).family is Family.SYMMETRIC:
        return material_seal_aad(key_arn, version)
    return _typed_aad(key_arn, version, key_spec)


def unseal_any(
    root: RootKeyProvider, sealed: SealedMaterial, *, key_arn: str, version: int, key_spec: str
) -> AnyMaterial:
    """Reverse :func:`seal_any`; a misplaced or modified blob raises ``RootKeyError``."""
    family = spec_info(key_spec).family
    if family is Family.SYMMETRIC:
        return unseal_material(root, sealed, key_arn=key_arn, version=version)
    secret = root.unseal(sealed.blob, _typed_aad(key_arn, version, key_spec))
    if not secret:
        raise RootKeyError("sealed key material is empty")
    if family is Family.HMAC:
        return HmacKeyMaterial(secret)
    return PrivateKeyMaterial(secret)


def _typed_aad(key_arn: str, version: int, key_spec: str) -> bytes:
    spec = key_spec.encode("ascii")
    return (
        bound_aad(_PURPOSE_TYPED_MATERIAL, key_arn, version) + struct.pack(">H", len(spec)) + spec
    )
