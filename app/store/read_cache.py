"""Committed rows that every request reads, kept per process with bounded staleness.

A cryptographic request reads its key (state, policy, current version), the
caller's identity policies and, on the AWS door, the caller's access key.
Those rows change rarely, and reading them from the database on every request
cost more than the cryptography. :class:`ReadCache` keeps them, and three rules
bound what a request can see:

* **Changes made on this host are seen at once.** Every write transaction
  (:meth:`app.store.database.Store.transaction`) changes a :class:`ChangeCounter`
  after it commits. The counter lives in a small shared file next to the
  database, so every process on the host sees the change; an entry read before
  the counter changed is never used again. A request that starts after a
  change's response was sent therefore sees that change.
* **Changes made on another host** (PostgreSQL with servers on several hosts)
  are seen within ``ttl_seconds`` (``TRENT_METADATA_CACHE_SECONDS``, default 2;
  0 disables the cache).
* **Inside a write transaction nothing is cached**: a mutation reads the rows
  it changes (and compare-and-sets their revision) fresh, under its lock.

Entries are immutable domain values (frozen records, read-only mappings), so
sharing them between threads is safe. The cache holds no secret: key material
has its own cache (:mod:`app.crypto.cache`), and access-key secrets stay
sealed here.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_COUNTER = struct.Struct("<Q")


class ChangeCounter:
    """A value that changes after every committed write on this host.

    ``value()`` is ``(changes made by this process, the shared word)``. The
    shared word is 8 bytes of a memory-mapped file that each committing
    process overwrites with a fresh random value, so concurrent writers need
    no lock (any new value differs from the one a reader remembered). Without
    a file (``path`` ``None``) only this process's own changes are seen.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._local = 0
        self._lock = threading.Lock()
        self._map: mmap.mmap | None = None
        if path is not None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                if os.fstat(fd).st_size < _COUNTER.size:
                    os.ftruncate(fd, _COUNTER.size)
                self._map = mmap.mmap(fd, _COUNTER.size)
            finally:
                os.close(fd)

    def __repr__(self) -> str:
        return f"ChangeCounter({str(self.path) if self.path else None!r})"

    def value(self) -> tuple[int, int]:
        shared = _COUNTER.unpack_from(self._map)[0] if self._map is not None else 0
        return self._local, shared

    def bump(self) -> None:
        with self._lock:
            self._local += 1
        if self._map is not None:
            _COUNTER.pack_into(self._map, 0, int.from_bytes(os.urandom(8), "little"))


class ReadCache:
    """A bounded, expiring map from ``(kind, id)`` to a committed value.

    Thread-safe; least recently used entries go first past ``max_entries``.
    ``None`` results (a key that does not exist) are cached like any other.
    """

    def __init__(
        self,
        counter: ChangeCounter,
        ttl_seconds: float,
        max_entries: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must not be negative")
        self.counter = counter
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, tuple[int, int], Any]] = OrderedDict()
        #: Lookups answered from the cache and those that loaded, since the
        #: cache was made (counted under the lock each lookup takes anyway).
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"ReadCache(entries={len(self._entries)}, ttl_seconds={self._ttl})"

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value for ``key``: cached if still valid, else ``load()``'s."""
        if self._ttl == 0:
            return load()
        # Read before loading: a change that commits while we load makes
        # this entry stale at once, never the other way round.
        version = self.counter.value()
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                expires_at, entry_version, cached_value = entry
                if entry_version == version and now < expires_at:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return cached_value  # type: ignore[no-any-return]
                del self._entries[key]
            self.misses += 1
        value = load()
        with self._lock:
            self._entries[key] = (now + self._ttl, version, value)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def lookups(self) -> tuple[int, int]:
        """``(hits, misses)`` so far (for the metrics)."""
        return self.hits, self.misses

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
