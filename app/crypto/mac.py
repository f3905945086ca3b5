"""HMAC-SHA256 and constant-time comparison for service keys (audit chain, tokens)."""

from __future__ import annotations

import hmac


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """The 32-byte HMAC-SHA256 of ``data`` under ``key`` (which must not be empty)."""
    if not key:
        raise ValueError("an HMAC key must not be empty")
    return hmac.digest(key, data, "sha256")


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two MACs, digests or tokens without leaking where they differ."""
    return hmac.compare_digest(a, b)
