from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from app.crypto import ciphertext as ciphertext_module
from app.crypto.ciphertext import (
    HEADER_BYTES,
    LABEL_COMMITMENT,
    LABEL_ENCRYPTION_KEY,
    MAX_CIPHERTEXT_BYTES,
    MAX_PLAINTEXT_BYTES,
    MIN_CIPHERTEXT_BYTES,
    CiphertextHeader,
    decrypt,
    encrypt,
    parse_header,
)
from app.crypto.encryption_context import canonical_context
from app.crypto.kdf import kbkdf_hmac_sha256
from app.crypto.material import KeyMaterial, generate_material
from app.errors import InvalidCiphertextError, ValidationError

CONTEXT = {"purpose": "unit-test", "tenant": "acme"}

# Field offsets of format v1, written out here independently of the module.
FIELDS = {
    "format version": (0, 1),
    "suite": (1, 2),
    "key id": (2, 18),
    "key version": (18, 22),
    "salt": (22, 54),
    "commitment": (54, 86),
    "iv": (86, 98),
}

context_text = st.text(max_size=12)
contexts = st.dictionaries(st.text(min_size=1, max_size=12), context_text, max_size=8)


def _seal(material: KeyMaterial, key_id: uuid.UUID, plaintext: bytes = b"secret!") -> bytes:
    return encrypt(material, key_id=key_id, key_version=3, plaintext=plaintext, context=CONTEXT)


def _open(material: KeyMaterial, blob: bytes, context: Mapping[str, str] = CONTEXT) -> bytes:
    return decrypt(material, parse_header(blob), blob, context)


def _assert_invalid(material: KeyMaterial, blob: bytes, context: Mapping[str, str]) -> None:
    with pytest.raises(InvalidCiphertextError) as caught:
        _open(material, blob, context)
    assert caught.value.message == ""
    assert str(caught.value) == ""


# Round trips ---------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=MAX_PLAINTEXT_BYTES), context=contexts)
def test_round_trip(plaintext: bytes, context: dict[str, str]) -> None:
    material = generate_material()
    key_id = uuid.uuid4()
    blob = encrypt(material, key_id=key_id, key_version=9, plaintext=plaintext, context=context)
    assert len(blob) == MIN_CIPHERTEXT_BYTES + len(plaintext)
    header = parse_header(blob)
    assert header == CiphertextHeader(key_id=key_id, key_version=9)
    assert decrypt(material, header, blob, context) == plaintext
    if len(plaintext) >= 16:
        assert plaintext not in blob[HEADER_BYTES:]


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1024, MAX_PLAINTEXT_BYTES])
def test_round_trip_boundary_sizes(material: KeyMaterial, key_id: uuid.UUID, size: int) -> None:
    plaintext = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    blob = encrypt(material, key_id=key_id, key_version=1, plaintext=plaintext, context={})
    assert len(blob) <= MAX_CIPHERTEXT_BYTES
    assert _open(material, blob, {}) == plaintext


def test_round_trip_with_tricky_contexts(material: KeyMaterial, key_id: uuid.UUID) -> None:
    context = {"a": "", "ab": "", "abc": "x", "\u00e9": "\U0001f511", "A": "case"}
    blob = encrypt(material, key_id=key_id, key_version=1, plaintext=b"p", context=context)
    assert _open(material, blob, context) == b"p"


def test_encryption_is_randomised(material: KeyMaterial, key_id: uuid.UUID) -> None:
    first, second = _seal(material, key_id), _seal(material, key_id)
    assert first != second
    assert first[22:54] != second[22:54]  # salt
    assert first[86:98] != second[86:98]  # IV


def test_plaintext_larger_than_4096_is_refused(material: KeyMaterial, key_id: uuid.UUID) -> None:
    with pytest.raises(ValidationError) as caught:
        encrypt(
            material,
            key_id=key_id,
            key_version=1,
            plaintext=bytes(MAX_PLAINTEXT_BYTES + 1),
            context={},
        )
    assert caught.value.field == "Plaintext"


def test_encrypt_refuses_raw_bytes_as_material(key_id: uuid.UUID) -> None:
    with pytest.raises(TypeError):
        encrypt(bytes(32), key_id=key_id, key_version=1, plaintext=b"", context={})  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [-1, 2**32])
def test_encrypt_refuses_key_versions_outside_32_bits(
    material: KeyMaterial, key_id: uuid.UUID, version: int
) -> None:
    with pytest.raises(ValueError):
        encrypt(material, key_id=key_id, key_version=version, plaintext=b"", context={})


def test_layout_matches_the_specification(material: KeyMaterial, key_id: uuid.UUID) -> None:
    blob = encrypt(material, key_id=key_id, key_version=0x01020304, plaintext=b"abc", context={})
    assert blob[0] == 0x01
    assert blob[1] == 0x01
    assert blob[2:18] == key_id.bytes
    assert blob[18:22] == b"\x01\x02\x03\x04"
    assert len(blob) == 98 + 3 + 16
    secret = material.expose_secret_bytes()
    expected_key = kbkdf_hmac_sha256(secret, label=LABEL_ENCRYPTION_KEY, context=blob[:54])
    expected_commitment = kbkdf_hmac_sha256(secret, label=LABEL_COMMITMENT, context=blob[:54])
    assert blob[54:86] == expected_commitment
    assert expected_key != expected_commitment
    aad = blob[:98] + canonical_context({})
    assert AESGCM(expected_key).decrypt(blob[86:98], blob[98:], aad) == b"abc"


# Tampering -------------------------------------------------------------------


def test_every_single_bit_flip_is_rejected(material: KeyMaterial, key_id: uuid.UUID) -> None:
    blob = _seal(material, key_id, b"tiny")
    for index in range(len(blob)):
        for bit in range(8):
            mutated = bytearray(blob)
            mutated[index] ^= 1 << bit
            _assert_invalid(material, bytes(mutated), CONTEXT)


def test_every_truncation_is_rejected(material: KeyMaterial, key_id: uuid.UUID) -> None:
    blob = _seal(material, key_id, b"tiny")
    for length in range(len(blob)):
        _assert_invalid(material, blob[:length], CONTEXT)


@pytest.mark.parametrize("extra", [b"\x00", b"\xff", bytes(16)])
def test_appended_bytes_are_rejected(
    material: KeyMaterial, key_id: uuid.UUID, extra: bytes
) -> None:
    blob = _seal(material, key_id, b"tiny")
    _assert_invalid(material, blob + extra, CONTEXT)


def test_oversized_blob_fails_parse_even_with_a_valid_prefix(
    material: KeyMaterial, key_id: uuid.UUID
) -> None:
    blob = _seal(material, key_id, bytes(MAX_PLAINTEXT_BYTES))
    assert len(blob) == MAX_CIPHERTEXT_BYTES
    with pytest.raises(InvalidCiphertextError):
        parse_header(blob + b"\x00")


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_each_header_field_mutated_is_rejected(
    material: KeyMaterial, key_id: uuid.UUID, field: str
) -> None:
    blob = _seal(material, key_id)
    start, end = FIELDS[field]
    for replacement in (bytes(end - start), b"\xff" * (end - start)):
        mutated = blob[:start] + replacement + blob[end:]
        if mutated == blob:
            continue
        _assert_invalid(material, mutated, CONTEXT)


def test_a_header_for_another_ciphertext_is_rejected(
    material: KeyMaterial, key_id: uuid.UUID
) -> None:
    blob = _seal(material, key_id)
    other_header = CiphertextHeader(key_id=key_id, key_version=4)
    with pytest.raises(InvalidCiphertextError):
        decrypt(material, other_header, blob, CONTEXT)


@pytest.mark.parametrize("blob", [b"", b"\x01", "text", bytearray(200), None])
def test_parse_header_rejects_garbage(blob: object) -> None:
    with pytest.raises(InvalidCiphertextError) as caught:
        parse_header(blob)  # type: ignore[arg-type]
    assert str(caught.value) == ""


def test_unknown_version_and_suite_are_rejected(material: KeyMaterial, key_id: uuid.UUID) -> None:
    blob = _seal(material, key_id)
    for prefix in (b"\x02\x01", b"\x00\x01", b"\x01\x03", b"\x01\x00"):
        with pytest.raises(InvalidCiphertextError):
            parse_header(prefix + blob[2:])


def test_software_material_refuses_the_token_suite(
    material: KeyMaterial, key_id: uuid.UUID
) -> None:
    """Suite 2 belongs to keys held in a token: a blob relabelled as suite 2
    parses (its length fits) but software material never opens it."""
    blob = b"\x01\x02" + _seal(material, key_id)[2:]
    header = parse_header(blob)
    assert header.suite == 2
    with pytest.raises(InvalidCiphertextError):
        decrypt(material, header, blob, CONTEXT)


# Encryption context ------------------------------------------------------------


def test_reordered_context_still_decrypts(material: KeyMaterial, key_id: uuid.UUID) -> None:
    blob = _seal(material, key_id)
    reordered = dict(reversed(list(CONTEXT.items())))
    assert list(reordered) != list(CONTEXT)
    assert _open(material, blob, reordered) == b"secret!"


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"purpose": "unit-test"},
        {"purpose": "unit-test", "tenant": "acme", "extra": ""},
        {"purpose": "unit-test", "tenant": "Acme"},
        {"purpose": "unit-test", "tenant": "acme "},
        {"Purpose": "unit-test", "tenant": "acme"},
        {"purpose": "unit-test", "tenantx": "acme"},
        {"purpose": "acme", "tenant": "unit-test"},
    ],
)
def test_any_context_change_fails(
    material: KeyMaterial, key_id: uuid.UUID, context: dict[str, str]
) -> None:
    blob = _seal(material, key_id)
    _assert_invalid(material, blob, context)


def test_length_prefixes_separate_keys_from_values(
    material: KeyMaterial, key_id: uuid.UUID
) -> None:
    blob = encrypt(material, key_id=key_id, key_version=1, plaintext=b"x", context={"ab": "c"})
    _assert_invalid(material, blob, {"a": "bc"})
    assert _open(material, blob, {"ab": "c"}) == b"x"


@settings(max_examples=100, deadline=None)
@given(context=contexts, other=contexts)
def test_different_contexts_never_decrypt(context: dict[str, str], other: dict[str, str]) -> None:
    material = generate_material()
    blob = encrypt(material, key_id=uuid.uuid4(), key_version=1, plaintext=b"m", context=context)
    if other == context:
        assert _open(material, blob, other) == b"m"
    else:
        _assert_invalid(material, blob, other)


def test_invalid_context_on_decrypt_is_a_validation_error(
    material: KeyMaterial, key_id: uuid.UUID
) -> None:
    blob = _seal(material, key_id)
    with pytest.raises(ValidationError):
        _open(material, blob, {"": "x"})


# Wrong key and key commitment -----------------------------------------------------


def test_material_of_another_key_fails(material: KeyMaterial, key_id: uuid.UUID) -> None:
    blob = _seal(material, key_id)
    _assert_invalid(generate_material(), blob, CONTEXT)


def _forge_gcm_valid_for(
    material_b: KeyMaterial, key_id: uuid.UUID, commitment: bytes, context: Mapping[str, str]
) -> bytes:
    """A blob whose GCM tag is valid under B's derived key but whose commitment is not B's."""
    salt, iv = bytes(range(32)), bytes(12)
    prefix = struct.pack(">BB16sI", 1, 1, key_id.bytes, 3) + salt
    header = prefix + commitment + iv
    key_b = kbkdf_hmac_sha256(
        material_b.expose_secret_bytes(), label=LABEL_ENCRYPTION_KEY, context=prefix
    )
    return header + AESGCM(key_b).encrypt(iv, b"forged", header + canonical_context(context))


def test_commitment_mismatch_is_refused_even_when_gcm_would_accept(
    material: KeyMaterial, key_id: uuid.UUID
) -> None:
    material_b = generate_material()
    # Use A's commitment for the same header prefix: what an attacker would
    # copy from a genuine ciphertext under A.
    prefix = struct.pack(">BB16sI", 1, 1, key_id.bytes, 3) + bytes(range(32))
    commitment_a = kbkdf_hmac_sha256(
        material.expose_secret_bytes(), label=LABEL_COMMITMENT, context=prefix
    )
    forged = _forge_gcm_valid_for(material_b, key_id, commitment_a, CONTEXT)
    # Sanity: GCM alone would accept it under B.
    key_b = kbkdf_hmac_sha256(
        material_b.expose_secret_bytes(), label=LABEL_ENCRYPTION_KEY, context=prefix
    )
    aad = forged[:98] + canonical_context(CONTEXT)
    assert AESGCM(key_b).decrypt(forged[86:98], forged[98:], aad) == b"forged"
    _assert_invalid(material_b, forged, CONTEXT)
    _assert_invalid(material, forged, CONTEXT)


def test_commitment_is_checked_before_gcm(
    material: KeyMaterial, key_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _seal(material, key_id)
    calls: list[bytes] = []

    def spy_aesgcm(key: bytes) -> AESGCM:
        calls.append(key)
        return AESGCM(key)

    monkeypatch.setattr(ciphertext_module, "AESGCM", spy_aesgcm)
    wrong_commitment = blob[:54] + bytes(32) + blob[86:]
    _assert_invalid(material, wrong_commitment, CONTEXT)
    _assert_invalid(generate_material(), blob, CONTEXT)
    assert calls == []
    assert _open(material, blob) == b"secret!"
    assert len(calls) == 1


def test_header_key_id_and_version_are_bound(material: KeyMaterial) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    blob = encrypt(material, key_id=first, key_version=1, plaintext=b"x", context={})
    moved = blob[:2] + second.bytes + blob[18:]
    assert parse_header(moved).key_id == second
    _assert_invalid(material, moved, {})
    bumped = blob[:18] + (2).to_bytes(4, "big") + blob[22:]
    assert parse_header(bumped).key_version == 2
    _assert_invalid(material, bumped, {})
