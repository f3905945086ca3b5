"""The one key-derivation function of the package.

NIST SP 800-108 in counter mode with HMAC-SHA256 (as AWS KMS uses for its
per-request keys). The PRF input is ``counter(4 bytes) || label || 0x00 ||
context || L(4 bytes)``; every caller uses its own fixed label, so outputs for
different purposes come from different PRF inputs and are independent.

Each block is one call of the standard library's one-shot HMAC (OpenSSL's,
``hmac.digest``): ``cryptography``'s ``KBKDFHMAC`` gives the same bytes (a
test compares the two on many inputs) but builds an object, validates its
arguments and hashes through several Python layers on every call, and every
Encrypt and Decrypt derives two keys.
"""

from __future__ import annotations

import hmac

_BLOCK_BYTES = 32  # SHA-256
#: SP 800-108 with a 32-bit counter and a 32-bit L (in bits).
_MAX_LENGTH = min((2**32 - 1) * _BLOCK_BYTES, (2**32 - 1) // 8)


def kbkdf_hmac_sha256(key: bytes, *, label: bytes, context: bytes, length: int = 32) -> bytes:
    """Derive ``length`` bytes from ``key`` for the purpose named by ``label``."""
    if not label:
        raise ValueError("a KDF label is required")
    if not 0 < length <= _MAX_LENGTH:
        raise ValueError(f"a KDF output length must be 1 to {_MAX_LENGTH} bytes")
    fixed = b"".join((label, b"\x00", context, (length * 8).to_bytes(4, "big")))
    blocks = [
        hmac.digest(key, counter.to_bytes(4, "big") + fixed, "sha256")
        for counter in range(1, -(-length // _BLOCK_BYTES) + 1)
    ]
    return b"".join(blocks)[:length]
