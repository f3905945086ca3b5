"""Verified bearer tokens, remembered until they expire or lose their key.

A service calls Trent with the same token many times; verifying its
signature each time is the largest single cost of a request. Once a token
has passed every check, the principal it proves is kept under the SHA-256 of
the exact token text (never the token itself) until the token's own expiry,
so a cached answer is never valid longer than the token is. Each entry also
records which issuer settings and which key (``kid`` and key fingerprint)
verified it: the verifier serves a hit only while that issuer's current key
set still holds that exact key, so a cached answer never outlives the key
either. Bounded: the least recently used entries go first.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import NamedTuple, NoReturn

from app.auth.jwks import VerificationKey
from app.auth.principal import Principal


class CachedVerification(NamedTuple):
    valid_from: float
    valid_until: float
    principal: Principal
    #: The issuer settings the token was checked against (compared by identity).
    issuer: object
    #: The key that verified the signature.
    key: VerificationKey


class VerifiedTokens:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, CachedVerification] = OrderedDict()

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()

    def get(self, token: str, now: float) -> CachedVerification | None:
        """The entry for ``token`` inside its validity window; the caller checks its key."""
        key = self._key(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not entry.valid_from <= now < entry.valid_until:
                # Expired (or not yet valid): verify it again, which refuses it.
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(
        self,
        token: str,
        principal: Principal,
        valid_from: float,
        valid_until: float,
        *,
        issuer: object,
        key: VerificationKey,
    ) -> None:
        entry = CachedVerification(valid_from, valid_until, principal, issuer, key)
        digest = self._key(token)
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        with self._lock:
            self._entries.pop(self._key(token), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"VerifiedTokens(<{len(self._entries)} entries>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("VerifiedTokens cannot be pickled")
