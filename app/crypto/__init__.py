"""Cryptography for Trent: root key, sealed key material, ciphertext format v1,
data keys and key pairs, HMAC keys, RSA and EC keys (signatures and RSAES-OAEP),
and the audit log's signatures and MACs.

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
from app.crypto.hmac_keys import HmacKeyMaterial, generate_mac, verify_mac
from app.crypto.key_pairs import DataKeyPair, generate_data_key_pair
from app.crypto.mac import constant_time_equal, hmac_sha256
from app.crypto.material import (
    KeyMaterial,
    KeyMaterialId,
    generate_material,
    material_id,
    seal_material,
    unseal_material,
)
from app.crypto.private_keys import PrivateKeyMaterial, public_key_der
from app.crypto.randomness import random_bytes
from app.crypto.root_key import (
    EnvRootKeyProvider,
    FileRootKeyProvider,
    RootKeyError,
    RootKeyProvider,
    RootKeyUnavailable,
    load_root_key,
)
from app.crypto.rsa_encryption import rsa_decrypt, rsa_encrypt
from app.crypto.sealed import SealedMaterial
from app.crypto.signatures import sign as sign_message
from app.crypto.signatures import verify as verify_signature
from app.crypto.signing import (
    SigningPrivateKey,
    generate_signing_key,
    public_key_bytes,
    seal_signing_key,
    sign,
    unseal_signing_key,
    verify,
)
from app.crypto.typed_material import AnyMaterial, new_material, seal_any, unseal_any

__all__ = [
    "AnyMaterial",
    "DataKeyPair",
    "HmacKeyMaterial",
    "PrivateKeyMaterial",
    "generate_data_key_pair",
    "generate_mac",
    "new_material",
    "public_key_der",
    "rsa_decrypt",
    "rsa_encrypt",
    "seal_any",
    "sign_message",
    "unseal_any",
    "verify_mac",
    "verify_signature",
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
