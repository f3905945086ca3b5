"""Verified bearer tokens, remembered until they expire.

A service calls Trent with the same token many times; verifying its
signature each time is the largest single cost of a request. Once a token
has passed every check, the principal it proves is kept under the SHA-256 of
the exact token text (never the token itself) until the token's own expiry,
so a cached answer is never valid longer than the token is. Bounded: the least
recently used entries go first.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import NamedTuple, NoReturn

from app.auth.principal import Principal


class _Entry(NamedTuple):
    valid_from: float
    valid_until: float
    principal: Principal


class VerifiedTokens:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()

    def get(self, token: str, now: float) -> Principal | None:
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
            return entry.principal

    def put(self, token: str, principal: Principal, valid_from: float, valid_until: float) -> None:
        key = self._key(token)
        with self._lock:
            self._entries[key] = _Entry(valid_from, valid_until, principal)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"VerifiedTokens(<{len(self._entries)} entries>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("VerifiedTokens cannot be pickled")
