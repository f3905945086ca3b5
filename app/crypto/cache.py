"""A small per-process cache of unsealed key material.

Unsealing costs a root-key operation (an HSM round trip with PKCS#11), so a
process keeps recently used versions for a short, absolute time-to-live
(``Settings.key_cache_seconds``); reading an entry does not extend its life.
Callers invalidate a key when it is disabled, scheduled for deletion or
rotated. The cache holds material only, never derived per-message keys, so
the key-commitment check in :func:`app.crypto.ciphertext.decrypt` runs on
every decryption whether or not the material came from here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NoReturn

from app.crypto.hmac_keys import HmacKeyMaterial
from app.crypto.material import KeyMaterial
from app.crypto.private_keys import PrivateKeyMaterial

#: What the cache may hold: unsealed material of one key version, of any spec.
CachedMaterial = KeyMaterial | HmacKeyMaterial | PrivateKeyMaterial

CacheKey = tuple[str, int]


class MaterialCache:
    """Bounded, expiring map of ``(key_arn, version)`` to unsealed material.

    A ``ttl_seconds`` of 0 disables caching. Thread-safe. Least recently
    used entries are evicted first once ``max_entries`` is reached.
    """

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must not be negative")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[CacheKey, tuple[float, CachedMaterial]] = OrderedDict()

    def get(self, key_arn: str, version: int) -> CachedMaterial | None:
        """The cached material, or ``None`` if absent or expired."""
        key = (key_arn, version)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, material = entry
            if self._clock() >= expires_at:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return material

    def put(self, key_arn: str, version: int, material: CachedMaterial) -> None:
        """Remember ``material`` for ``ttl_seconds`` from now."""
        if not isinstance(material, KeyMaterial | HmacKeyMaterial | PrivateKeyMaterial):
            raise TypeError("MaterialCache holds unsealed key material only")
        if self._ttl == 0:
            return
        key = (key_arn, version)
        with self._lock:
            now = self._clock()
            self._entries[key] = (now + self._ttl, material)
            self._entries.move_to_end(key)
            if len(self._entries) > self._max:
                self._drop_expired(now)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def get_or_load(
        self, key_arn: str, version: int, load: Callable[[], CachedMaterial]
    ) -> CachedMaterial:
        """The cached material, or ``load()``'s result, which is then cached.

        ``load`` runs outside the lock: a slow unseal does not block other keys.
        """
        material = self.get(key_arn, version)
        if material is None:
            material = load()
            self.put(key_arn, version, material)
        return material

    def invalidate(self, key_arn: str) -> None:
        """Forget every version of ``key_arn``."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == key_arn]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return (
            f"MaterialCache(entries={len(self)}, max_entries={self._max}, ttl_seconds={self._ttl})"
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError("MaterialCache cannot be pickled")

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, (expires_at, _) in self._entries.items() if now >= expires_at]:
            del self._entries[key]
