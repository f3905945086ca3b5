"""Group commit: many requests' audit events, one durable transaction.

A read or cryptographic request must not answer before its audit event is
durable, and a durable commit costs one fsync (milliseconds on ordinary
disks). Committed one by one, events cap the whole service at one request per
fsync. Here a request hands its event to a writer thread and waits; the writer
takes every event queued at that moment, appends them in one transaction (one
head lock, one fsync) and then releases every waiter at once. Nothing is
answered before its event committed, and an event that could not be written
fails its request with 503 exactly as before: the guarantee is unchanged,
only its cost is shared.

Mutations do not come here: their event commits in their own transaction,
together with the change.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from app.audit.events import AuditEvent
from app.audit.log import AuditLog, PreparedEvent
from app.errors import ServiceUnavailableError

log = logging.getLogger("trent.audit")

#: Most events one transaction takes; bounds the time a batch holds the lock.
MAX_BATCH = 256
#: Longest a request waits for its event to commit before answering 503.
WAIT_SECONDS = 30.0


def describe_failure(exc: BaseException) -> str:
    """``Type: text`` of the error at the root of ``exc`` and of what followed
    it, for the log.

    The database's own words ("database or disk is full", "attempt to write
    a readonly database", "disk I/O error") are what an operator needs, and
    they are often links down the chain: the audit log wraps them in
    ServiceUnavailableError, peewee re-raises the driver's error as its own,
    and a failed rollback can follow the failure it was cleaning up after.
    Database error texts name no event content, key material or token.
    """
    chain: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        text = str(current)
        entry = f"{type(current).__name__}: {text}" if text else type(current).__name__
        if entry not in chain:  # peewee's copy of the driver's error says the same
            chain.append(entry)
        current = current.__cause__ or current.__context__
    return "; then ".join(reversed(chain))


@dataclass
class _Pending:
    event: PreparedEvent
    done: threading.Event = field(default_factory=threading.Event)
    seq: int | None = None
    failed: bool = False


class GroupCommitter:
    """One writer thread per process, started on first use."""

    def __init__(
        self,
        audit: AuditLog,
        connection: Callable[[], AbstractContextManager[None]],
        transaction: Callable[[], AbstractContextManager[None]],
        *,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._audit = audit
        self._connection = connection
        self._transaction = transaction
        #: Told ``(events, seconds)`` of each batch made durable (the metrics).
        self._on_batch = on_batch
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, event: AuditEvent) -> int:
        """Append ``event`` durably; returns its ``seq``. Blocks until its batch
        committed; raises :class:`ServiceUnavailableError` if it did not."""
        self._ensure_started()
        # Encoded here, in the request's thread: the writer's time is what
        # every request of the batch waits for.
        pending = _Pending(self._audit.prepare(event))
        self._queue.put(pending)
        if not pending.done.wait(WAIT_SECONDS) or pending.failed or pending.seq is None:
            raise ServiceUnavailableError()
        return pending.seq

    def _ensure_started(self) -> None:
        # Started lazily, in the worker process that uses it: a thread does
        # not survive the fork of a pre-loading server.
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="trent-audit-writer", daemon=True
                )
                self._thread.start()

    def _batches(self) -> Iterator[list[_Pending]]:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            yield batch

    def _run(self) -> None:
        for batch in self._batches():
            started = time.monotonic()
            try:
                with self._connection(), self._transaction():
                    seqs = self._audit.append_prepared([p.event for p in batch])
            except Exception as exc:  # noqa: BLE001 - every waiter must be released
                log.error("audit batch of %d events failed: %s", len(batch), describe_failure(exc))
                for pending in batch:
                    pending.failed = True
                    pending.done.set()
                continue
            if self._on_batch is not None:
                self._on_batch(len(batch), time.monotonic() - started)
            for pending, seq in zip(batch, seqs, strict=True):
                pending.seq = seq
                pending.done.set()
