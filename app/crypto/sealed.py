"""Sealed secrets: what the database may store.

:class:`SealedMaterial` is the only form in which key material, access-key
secrets and signing keys reach a repository. It lives in a module of its own,
importing nothing, so that the store can take it without importing the
cryptography that makes and opens it (:mod:`app.crypto.material`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SealedMaterial:
    """A secret sealed under the root key: opaque bytes, safe to store."""

    blob: bytes

    def __post_init__(self) -> None:
        if type(self.blob) is not bytes:
            raise TypeError("SealedMaterial holds bytes")

    def __repr__(self) -> str:
        return f"SealedMaterial(<{len(self.blob)} bytes>)"
