"""Random bytes for callers (GenerateRandom) from the operating system's CSPRNG."""

from __future__ import annotations

import os


def random_bytes(n: int) -> bytes:
    """``n`` bytes from ``os.urandom``; the only source of randomness the service uses."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError("the number of random bytes must be a non-negative integer")
    return os.urandom(n)
