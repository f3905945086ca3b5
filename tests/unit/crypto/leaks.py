"""Assertions that text shows no trace of a secret."""

from __future__ import annotations

import base64


def secret_spellings(secret: bytes) -> list[str]:
    """Every way a secret commonly leaks into text."""
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
        repr(secret)[2:-1],
        secret.decode("latin-1"),
    ]


def assert_no_leak(text: str, secret: bytes) -> None:
    for spelling in secret_spellings(secret):
        assert spelling not in text, "secret appears in text"
    # Shorter fragments too: 8 bytes of hex are already a leak.
    assert secret.hex()[:16] not in text.lower()
