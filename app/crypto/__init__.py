"""Cryptography for Trent: root key, sealed key material, ciphertext format v1,
data keys, signatures and MACs.

Only this package imports ``cryptography``. Callers never see salts, IVs,
derived keys or algorithm choices, and secret types refuse to be printed or
pickled. Import the public names from here.
"""

from app.crypto.cache import MaterialCache
from app.crypto.ciphertext import (
    MAX_CIPHERTEXT_BYTES,
    MAX_PLAINTEXT_BYTES,
    CiphertextHeader,
    decrypt,
    encrypt,
    parse_header,
)
from app.crypto.data_keys import DataKey, generate_data_key
from app.crypto.encryption_context import (
    MAX_CONTEXT_BYTES,
    MAX_CONTEXT_PAIRS,
    canonical_context,
)
from app.crypto.mac import constant_time_equal, hmac_sha256
from app.crypto.material import (
    KeyMaterial,
    KeyMaterialId,
    generate_material,
    material_id,
    seal_material,
    unseal_material,
)
from app.crypto.randomness import random_bytes
from app.crypto.root_key import (
    EnvRootKeyProvider,
    FileRootKeyProvider,
    RootKeyError,
    RootKeyProvider,
    RootKeyUnavailable,
    load_root_key,
)
from app.crypto.sealed import SealedMaterial
from app.crypto.signing import (
    SigningPrivateKey,
    generate_signing_key,
    public_key_bytes,
    seal_signing_key,
    sign,
    unseal_signing_key,
    verify,
)

__all__ = [
    "MAX_CIPHERTEXT_BYTES",
    "MAX_CONTEXT_BYTES",
    "MAX_CONTEXT_PAIRS",
    "MAX_PLAINTEXT_BYTES",
    "CiphertextHeader",
    "DataKey",
    "EnvRootKeyProvider",
    "FileRootKeyProvider",
    "KeyMaterial",
    "KeyMaterialId",
    "MaterialCache",
    "RootKeyError",
    "RootKeyProvider",
    "RootKeyUnavailable",
    "SealedMaterial",
    "SigningPrivateKey",
    "canonical_context",
    "constant_time_equal",
    "decrypt",
    "encrypt",
    "generate_data_key",
    "generate_material",
    "generate_signing_key",
    "hmac_sha256",
    "load_root_key",
    "material_id",
    "parse_header",
    "public_key_bytes",
    "random_bytes",
    "seal_material",
    "seal_signing_key",
    "sign",
    "unseal_material",
    "unseal_signing_key",
    "verify",
]
