from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.crypto.encryption_context import (
    MAX_CONTEXT_BYTES,
    MAX_CONTEXT_PAIRS,
    canonical_context,
)
from app.errors import ValidationError


def test_exact_encoding() -> None:
    encoded = canonical_context({"b": "2", "a": "", "\u00e9": "\U0001f511"})
    assert encoded == (
        b"\x00\x03"
        + b"\x00\x01a"
        + b"\x00\x00"
        + b"\x00\x01b"
        + b"\x00\x012"
        + b"\x00\x02\xc3\xa9"
        + b"\x00\x04\xf0\x9f\x94\x91"
    )


def test_empty_context() -> None:
    assert canonical_context({}) == b"\x00\x00"


def test_order_of_pairs_does_not_matter() -> None:
    assert canonical_context({"x": "1", "y": "2"}) == canonical_context({"y": "2", "x": "1"})


def test_key_value_boundaries_cannot_collide() -> None:
    assert canonical_context({"ab": "c"}) != canonical_context({"a": "bc"})
    assert canonical_context({"a": "b", "c": "d"}) != canonical_context({"a": "b\x00\x01c"})


def test_case_and_unicode_form_are_kept_exactly() -> None:
    composed, decomposed = "\u00e9", "e\u0301"
    assert canonical_context({"k": composed}) != canonical_context({"k": decomposed})
    assert canonical_context({"K": "v"}) != canonical_context({"k": "v"})


@given(st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=10))
def test_encoding_is_injective_and_order_free(context: dict[str, str]) -> None:
    encoded = canonical_context(context)
    assert canonical_context(dict(reversed(list(context.items())))) == encoded
    # Decode it back: the encoding carries everything needed to recover the map.
    count = int.from_bytes(encoded[:2], "big")
    offset, decoded, keys = 2, {}, []
    for _ in range(count):
        parts = []
        for _ in range(2):
            size = int.from_bytes(encoded[offset : offset + 2], "big")
            parts.append(encoded[offset + 2 : offset + 2 + size].decode("utf-8"))
            offset += 2 + size
        keys.append(parts[0].encode("utf-8"))
        decoded[parts[0]] = parts[1]
    assert offset == len(encoded)
    assert decoded == context
    assert keys == sorted(keys)


def test_pair_limit() -> None:
    canonical_context({f"k{i}": "" for i in range(MAX_CONTEXT_PAIRS)})
    with pytest.raises(ValidationError) as caught:
        canonical_context({f"k{i}": "" for i in range(MAX_CONTEXT_PAIRS + 1)})
    assert caught.value.field == "EncryptionContext"


def test_size_limit() -> None:
    # 2 (count) + 4 (two lengths) + 1 (key) + value = exactly the limit.
    value = "v" * (MAX_CONTEXT_BYTES - 7)
    assert len(canonical_context({"k": value})) == MAX_CONTEXT_BYTES
    with pytest.raises(ValidationError) as caught:
        canonical_context({"k": value + "v"})
    assert caught.value.field == "EncryptionContext"


def test_huge_string_is_refused_not_overflowed() -> None:
    with pytest.raises(ValidationError):
        canonical_context({"k": "v" * 70_000})


@pytest.mark.parametrize(
    "context",
    [
        {"": "value"},
        {"\ud800": "lone surrogate key"},
        {"key": "lone surrogate \udfff value"},
        {"key": 1},
        {1: "value"},
        {"key": None},
    ],
)
def test_invalid_contexts(context: dict[object, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        canonical_context(context)  # type: ignore[arg-type]
    assert caught.value.field == "EncryptionContext"
