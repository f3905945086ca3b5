"""The key-spec catalogue agrees with AWS's tables (kms-api.md section 4)."""

from __future__ import annotations

import pytest

from app.keys.specs import (
    DIGEST_BYTES,
    HMAC_KEY_BYTES,
    KEY_SPECS,
    OAEP_MAX_PLAINTEXT,
    Family,
    describe_algorithms,
)


def test_each_spec_allows_exactly_aws_usages() -> None:
    usages = {name: sorted(spec.usages) for name, spec in KEY_SPECS.items()}
    assert usages == {
        "SYMMETRIC_DEFAULT": ["ENCRYPT_DECRYPT"],
        "HMAC_224": ["GENERATE_VERIFY_MAC"],
        "HMAC_256": ["GENERATE_VERIFY_MAC"],
        "HMAC_384": ["GENERATE_VERIFY_MAC"],
        "HMAC_512": ["GENERATE_VERIFY_MAC"],
        "RSA_2048": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
        "RSA_3072": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
        "RSA_4096": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
        "ECC_NIST_P256": ["SIGN_VERIFY"],
        "ECC_NIST_P384": ["SIGN_VERIFY"],
        "ECC_NIST_P521": ["SIGN_VERIFY"],
        "ECC_SECG_P256K1": ["SIGN_VERIFY"],
    }


def test_describe_key_lists_algorithms_as_aws_does() -> None:
    assert describe_algorithms("RSA_4096", "SIGN_VERIFY") == {
        "SigningAlgorithms": [
            "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512",
            "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",
            "RSASSA_PSS_SHA_512",
        ]
    }
    assert describe_algorithms("RSA_2048", "ENCRYPT_DECRYPT") == {
        "EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    }
    assert describe_algorithms("ECC_NIST_P521", "SIGN_VERIFY") == {
        "SigningAlgorithms": ["ECDSA_SHA_512"]
    }
    assert describe_algorithms("ECC_SECG_P256K1", "SIGN_VERIFY") == {
        "SigningAlgorithms": ["ECDSA_SHA_256"]
    }
    assert describe_algorithms("HMAC_384", "GENERATE_VERIFY_MAC") == {
        "MacAlgorithms": ["HMAC_SHA_384"]
    }
    assert describe_algorithms("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT") == {
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]
    }


@pytest.mark.parametrize(("algorithm", "size"), DIGEST_BYTES.items())
def test_digest_lengths_follow_the_hash_in_the_name(algorithm: str, size: int) -> None:
    assert size == int(algorithm.rsplit("_", 1)[1]) // 8


def test_oaep_limits_are_modulus_less_two_hashes_less_two() -> None:
    for (spec, algorithm), limit in OAEP_MAX_PLAINTEXT.items():
        hash_bytes = 20 if algorithm.endswith("SHA_1") else 32
        assert limit == KEY_SPECS[spec].bits // 8 - 2 * hash_bytes - 2


def test_hmac_material_lengths_and_families() -> None:
    assert dict(HMAC_KEY_BYTES) == {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
    assert {spec.family for spec in KEY_SPECS.values()} == set(Family)
    assert [n for n, s in KEY_SPECS.items() if s.asymmetric] == [
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
    ]
