"""When checkpoints are signed: soon after the log grows, and on the way out.

A checkpoint is signed once the chain head has moved and
``TRENT_AUDIT_CHECKPOINT_INTERVAL`` seconds (default 5) have passed since the
last one, and once more when the signer stops. Each checkpoint leaves the
database as it is made (the checkpoint file, the optional sink), so the
events that someone with write access to the database can cut from the tail
without ``trent audit verify`` noticing are at most those of the last
interval (plus the polling delay) — and none once the server has stopped.

The cost is off the request path: ``trent serve``'s checkpointer process
does it (check the new events' positions, MACs, links and hashes, about
10 µs each, one Ed25519 signature, two small inserts and an fsync per
interval); while the log does not move, a round (every half second) is two
reads (latest checkpoint, head). It does not parse the events' bodies, and
so does not compare the typed columns with them: ``trent audit verify`` does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from app.audit.checkpoints import Checkpoint, CheckpointLock

if TYPE_CHECKING:
    from app.audit.log import AuditLog

log = logging.getLogger("trent.audit")

#: How often a waiting checkpointer looks at the head (seconds).
POLL_SECONDS = 0.5


class Checkpointer:
    """Signs a checkpoint whenever the head moved and the interval passed.

    ``connection`` opens a database connection for a round
    (the store's ``connection``); ``lock``, if given, is taken for
    each round and a round is skipped while someone else holds it; ``clock``
    is a monotonic clock (injected by tests).
    """

    def __init__(
        self,
        audit: AuditLog,
        connection: Callable[[], AbstractContextManager[object]],
        interval_seconds: float,
        *,
        lock: CheckpointLock | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("the checkpoint interval must be positive")
        self._audit = audit
        self._connection = connection
        self.interval = interval_seconds
        self._lock = lock
        self._clock = clock
        self._last_signed: float | None = None

    def __repr__(self) -> str:
        return f"Checkpointer(interval={self.interval})"

    @property
    def poll_seconds(self) -> float:
        return min(POLL_SECONDS, self.interval)

    def due(self) -> bool:
        """Has the interval passed since the last checkpoint this signer made?"""
        return self._last_signed is None or self._clock() - self._last_signed >= self.interval

    def tick(self) -> Checkpoint | None:
        """A round: sign a checkpoint if one is due and the head moved."""
        if not self.due():
            return None
        return self.sign_now()

    def sign_now(self) -> Checkpoint | None:
        """Sign a checkpoint over whatever is new, interval or not (shutdown)."""
        if self._lock is not None and not self._lock.try_acquire():
            return None
        try:
            with self._connection():
                checkpoint = self._audit.checkpoint()
        finally:
            if self._lock is not None:
                self._lock.release()
        if checkpoint is not None:
            self._last_signed = self._clock()
        return checkpoint

    def run(self, stop: threading.Event, keep_going: Callable[[], bool] = lambda: True) -> None:
        """Sign as due until ``stop`` is set (or ``keep_going()`` is false),
        then sign over whatever is left."""
        while not stop.wait(self.poll_seconds) and keep_going():
            self._guarded(self.tick)
        self._guarded(self.sign_now)

    @staticmethod
    def _guarded(round_: Callable[[], Checkpoint | None]) -> None:
        try:
            round_()
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            log.error("audit checkpoint failed: %s: %s", type(exc).__name__, exc)
