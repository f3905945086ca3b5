"""The key specs Trent serves, as AWS KMS defines them (kms-api.md section 4).

Pure data: what each ``KeySpec`` is (its family), which ``KeyUsage`` values
it may be created with, and which algorithms ``DescribeKey`` and
``GetPublicKey`` list for each usage, in AWS's order. The cryptography that
makes and uses the keys lives in :mod:`app.crypto`; operations and schemas
ask this module what is allowed, so every rule about specs is written once.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"

ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
SIGN_VERIFY = "SIGN_VERIFY"
GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"

RAW = "RAW"
DIGEST = "DIGEST"
#: ``MessageType`` values Trent accepts (``EXTERNAL_MU`` is for ML-DSA keys only).
MESSAGE_TYPES = (RAW, DIGEST)


class Family(enum.StrEnum):
    SYMMETRIC = "SYMMETRIC"
    HMAC = "HMAC"
    RSA = "RSA"
    ECC = "ECC"


_RSA_SIGNING = (
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
)
_RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")


@dataclass(frozen=True)
class KeySpecInfo:
    """One ``KeySpec``: its family and, per allowed usage, its algorithms."""

    name: str
    family: Family
    #: Usage -> the algorithms of that usage, as AWS lists them.
    usages: Mapping[str, tuple[str, ...]]
    #: The RSA modulus or curve size in bits; the HMAC key length in bits.
    bits: int

    def allows(self, usage: str) -> bool:
        return usage in self.usages

    def algorithms(self, usage: str) -> tuple[str, ...]:
        return self.usages.get(usage, ())

    @property
    def asymmetric(self) -> bool:
        return self.family in (Family.RSA, Family.ECC)


def _spec(name: str, family: Family, bits: int, **usages: tuple[str, ...]) -> KeySpecInfo:
    return KeySpecInfo(name, family, MappingProxyType(dict(usages)), bits)


#: Every ``KeySpec`` Trent can create, by name.
KEY_SPECS: Mapping[str, KeySpecInfo] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _spec(SYMMETRIC_DEFAULT, Family.SYMMETRIC, 256, ENCRYPT_DECRYPT=(SYMMETRIC_DEFAULT,)),
            _spec("HMAC_224", Family.HMAC, 224, GENERATE_VERIFY_MAC=("HMAC_SHA_224",)),
            _spec("HMAC_256", Family.HMAC, 256, GENERATE_VERIFY_MAC=("HMAC_SHA_256",)),
            _spec("HMAC_384", Family.HMAC, 384, GENERATE_VERIFY_MAC=("HMAC_SHA_384",)),
            _spec("HMAC_512", Family.HMAC, 512, GENERATE_VERIFY_MAC=("HMAC_SHA_512",)),
            _spec(
                "RSA_2048",
                Family.RSA,
                2048,
                ENCRYPT_DECRYPT=_RSA_ENCRYPTION,
                SIGN_VERIFY=_RSA_SIGNING,
            ),
            _spec(
                "RSA_3072",
                Family.RSA,
                3072,
                ENCRYPT_DECRYPT=_RSA_ENCRYPTION,
                SIGN_VERIFY=_RSA_SIGNING,
            ),
            _spec(
                "RSA_4096",
                Family.RSA,
                4096,
                ENCRYPT_DECRYPT=_RSA_ENCRYPTION,
                SIGN_VERIFY=_RSA_SIGNING,
            ),
            _spec("ECC_NIST_P256", Family.ECC, 256, SIGN_VERIFY=("ECDSA_SHA_256",)),
            _spec("ECC_NIST_P384", Family.ECC, 384, SIGN_VERIFY=("ECDSA_SHA_384",)),
            _spec("ECC_NIST_P521", Family.ECC, 521, SIGN_VERIFY=("ECDSA_SHA_512",)),
            _spec("ECC_SECG_P256K1", Family.ECC, 256, SIGN_VERIFY=("ECDSA_SHA_256",)),
        )
    }
)

#: ``KeyPairSpec`` values GenerateDataKeyPair makes (AWS's list less SM2 and Ed25519).
KEY_PAIR_SPECS: tuple[str, ...] = (
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
)

#: Length in bytes of the digest each signing algorithm signs (a DIGEST
#: message must be exactly this long).
DIGEST_BYTES: Mapping[str, int] = MappingProxyType(
    {
        "RSASSA_PKCS1_V1_5_SHA_256": 32,
        "RSASSA_PKCS1_V1_5_SHA_384": 48,
        "RSASSA_PKCS1_V1_5_SHA_512": 64,
        "RSASSA_PSS_SHA_256": 32,
        "RSASSA_PSS_SHA_384": 48,
        "RSASSA_PSS_SHA_512": 64,
        "ECDSA_SHA_256": 32,
        "ECDSA_SHA_384": 48,
        "ECDSA_SHA_512": 64,
    }
)

#: Every signing, MAC and asymmetric encryption algorithm Trent implements.
SIGNING_ALGORITHMS: tuple[str, ...] = tuple(DIGEST_BYTES)
MAC_ALGORITHMS: tuple[str, ...] = ("HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512")
RSA_ENCRYPTION_ALGORITHMS: tuple[str, ...] = _RSA_ENCRYPTION

#: The largest plaintext RSAES-OAEP encrypts, per key spec and algorithm
#: (modulus bytes - 2 * hash bytes - 2; AWS's table, kms-api.md section 4.4).
OAEP_MAX_PLAINTEXT: Mapping[tuple[str, str], int] = MappingProxyType(
    {
        ("RSA_2048", "RSAES_OAEP_SHA_1"): 214,
        ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
        ("RSA_3072", "RSAES_OAEP_SHA_1"): 342,
        ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
        ("RSA_4096", "RSAES_OAEP_SHA_1"): 470,
        ("RSA_4096", "RSAES_OAEP_SHA_256"): 446,
    }
)

#: HMAC key material length in bytes per spec (the spec's bit length, as AWS generates).
HMAC_KEY_BYTES: Mapping[str, int] = MappingProxyType(
    {name: spec.bits // 8 for name, spec in KEY_SPECS.items() if spec.family is Family.HMAC}
)


def spec_info(key_spec: str) -> KeySpecInfo:
    """The catalogue entry of a spec Trent serves (``KeyError`` for any other)."""
    return KEY_SPECS[key_spec]


def family_of(key_spec: str) -> Family:
    return KEY_SPECS[key_spec].family


def describe_algorithms(key_spec: str, key_usage: str) -> dict[str, list[str]]:
    """The algorithm lists ``DescribeKey`` and ``GetPublicKey`` show for a key."""
    algorithms = list(spec_info(key_spec).algorithms(key_usage))
    if key_usage == ENCRYPT_DECRYPT:
        return {"EncryptionAlgorithms": algorithms}
    if key_usage == SIGN_VERIFY:
        return {"SigningAlgorithms": algorithms}
    if key_usage == GENERATE_VERIFY_MAC:
        return {"MacAlgorithms": algorithms}
    return {}
