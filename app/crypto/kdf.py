"""The one key-derivation function of the package.

NIST SP 800-108 in counter mode with HMAC-SHA256 (as AWS KMS uses for its
per-request keys), through ``cryptography``'s ``KBKDFHMAC``. The PRF input is
``counter(4 bytes) || label || 0x00 || context || L(4 bytes)``; every caller
uses its own fixed label, so outputs for different purposes come from
different PRF inputs and are independent.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode


def kbkdf_hmac_sha256(key: bytes, *, label: bytes, context: bytes, length: int = 32) -> bytes:
    """Derive ``length`` bytes from ``key`` for the purpose named by ``label``."""
    if not label:
        raise ValueError("a KDF label is required")
    kdf = KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=length,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=label,
        context=context,
        fixed=None,
    )
    return kdf.derive(key)
