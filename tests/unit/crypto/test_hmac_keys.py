"""HMAC keys: RFC 4231 known answers, constant-time verification, material."""

from __future__ import annotations

import pickle

import pytest

from app.crypto.hmac_keys import (
    HmacKeyMaterial,
    generate_hmac_material,
    generate_mac,
    verify_mac,
)
from app.errors import InvalidKeyUsageError
from tests.unit.crypto.leaks import assert_no_leak
from tests.unit.crypto.vector_files import records, vector_file

SPECS = {"224": "HMAC_224", "256": "HMAC_256", "384": "HMAC_384", "512": "HMAC_512"}


def rfc4231_cases() -> list[tuple[str, bytes, bytes, bytes]]:
    cases = []
    for bits, spec in SPECS.items():
        for record in records(vector_file("HMAC", f"rfc-4231-sha{bits}.txt")):
            cases.append(
                (
                    spec,
                    bytes.fromhex(record["Key"]),
                    bytes.fromhex(record["Msg"]),
                    bytes.fromhex(record["MD"]),
                )
            )
    return cases


CASES = rfc4231_cases()


def test_the_rfc_4231_files_hold_every_case_for_every_hash() -> None:
    # Six cases per hash (the RFC's seven less the truncated-output one).
    assert len(CASES) == 24
    assert {spec for spec, *_ in CASES} == set(SPECS.values())


@pytest.mark.parametrize(("spec", "key", "message", "expected"), CASES)
def test_generate_mac_matches_rfc_4231(
    spec: str, key: bytes, message: bytes, expected: bytes
) -> None:
    algorithm = "HMAC_SHA_" + spec.removeprefix("HMAC_")
    material = HmacKeyMaterial(key)
    assert generate_mac(material, key_spec=spec, algorithm=algorithm, message=message) == expected
    assert verify_mac(material, key_spec=spec, algorithm=algorithm, message=message, mac=expected)


@pytest.mark.parametrize(("spec", "key", "message", "expected"), CASES[:4])
def test_verify_mac_refuses_any_changed_byte_or_length(
    spec: str, key: bytes, message: bytes, expected: bytes
) -> None:
    algorithm = "HMAC_SHA_" + spec.removeprefix("HMAC_")
    material = HmacKeyMaterial(key)
    for index in (0, len(expected) // 2, len(expected) - 1):
        forged = bytearray(expected)
        forged[index] ^= 0x01
        assert not verify_mac(
            material, key_spec=spec, algorithm=algorithm, message=message, mac=bytes(forged)
        )
    assert not verify_mac(
        material, key_spec=spec, algorithm=algorithm, message=message, mac=expected[:-1]
    )
    assert not verify_mac(
        material, key_spec=spec, algorithm=algorithm, message=message + b"x", mac=expected
    )


def test_an_algorithm_of_another_spec_is_refused_as_aws_words_it() -> None:
    material = generate_hmac_material("HMAC_256")
    with pytest.raises(InvalidKeyUsageError) as info:
        generate_mac(material, key_spec="HMAC_256", algorithm="HMAC_SHA_512", message=b"m")
    assert info.value.message == "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."


@pytest.mark.parametrize(
    ("spec", "size"), [("HMAC_224", 28), ("HMAC_256", 32), ("HMAC_384", 48), ("HMAC_512", 64)]
)
def test_generated_material_is_as_long_as_the_spec_has_bits(spec: str, size: int) -> None:
    first = generate_hmac_material(spec)
    second = generate_hmac_material(spec)
    assert len(first.expose_secret_bytes()) == size
    assert first != second


def test_a_short_random_source_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_hmac_material("HMAC_256", lambda n: b"\x00" * (n - 1))


def test_hmac_material_never_shows_or_pickles_itself() -> None:
    material = generate_hmac_material("HMAC_512")
    secret = material.expose_secret_bytes()
    assert repr(material) == "HmacKeyMaterial(<64 secret bytes>)"
    assert_no_leak(f"{material} {material!r}", secret)
    with pytest.raises(TypeError):
        pickle.dumps(material)
    with pytest.raises(ValueError):
        HmacKeyMaterial(b"")
