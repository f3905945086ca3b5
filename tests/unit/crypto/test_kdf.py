"""The KDF is NIST SP 800-108 counter mode with HMAC-SHA256: the same bytes as
``cryptography``'s ``KBKDFHMAC`` with the parameters the package documents."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from hypothesis import given, settings
from hypothesis import strategies as st

from app.crypto.kdf import kbkdf_hmac_sha256


def _reference(key: bytes, label: bytes, context: bytes, length: int) -> bytes:
    return KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=length,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=label,
        context=context,
        fixed=None,
    ).derive(key)


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=0, max_size=100),
    label=st.binary(min_size=1, max_size=40),
    context=st.binary(max_size=200),
    length=st.integers(min_value=1, max_value=200),
)
def test_same_bytes_as_cryptography_kbkdfhmac(
    key: bytes, label: bytes, context: bytes, length: int
) -> None:
    derived = kbkdf_hmac_sha256(key, label=label, context=context, length=length)
    assert derived == _reference(key, label, context, length)


@pytest.mark.parametrize("length", [1, 16, 31, 32, 33, 64, 65, 1000])
def test_block_boundaries(length: int) -> None:
    key = bytes(range(32))
    derived = kbkdf_hmac_sha256(key, label=b"label", context=b"context", length=length)
    assert len(derived) == length
    assert derived == _reference(key, b"label", b"context", length)


def test_a_label_is_required() -> None:
    with pytest.raises(ValueError, match="label"):
        kbkdf_hmac_sha256(b"k" * 32, label=b"", context=b"")


@pytest.mark.parametrize("length", [0, -1])
def test_a_positive_length_is_required(length: int) -> None:
    with pytest.raises(ValueError, match="length"):
        kbkdf_hmac_sha256(b"k" * 32, label=b"l", context=b"", length=length)
