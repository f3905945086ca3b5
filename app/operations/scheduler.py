"""The background jobs every server process runs: automatic rotation, the
deletion of keys whose waiting period has ended, the expiry of imported key
material whose ``ValidTo`` has passed, the summaries of suppressed
authentication failures, and a signed audit checkpoint (exported to the
checkpoint file) over the events written since the last one.

The checkpoint has its own, shorter cadence (``TRENT_AUDIT_CHECKPOINT_INTERVAL``,
see :mod:`app.audit.checkpointer`), and a worker signs only while no other
process of the host holds the checkpoint lock: under ``trent serve`` the
checkpointer process holds it, and a worker's round is then one ``flock``
attempt.

Every process runs them; that is safe because each job re-checks and changes
one key per transaction with a compare-and-set (see
:func:`app.operations.rotation.rotate_due_keys`).
"""

from __future__ import annotations

import logging
import threading
import time

from app.audit.checkpointer import Checkpointer
from app.audit.checkpoints import CheckpointLock
from app.operations.key_import import expire_imported_material
from app.operations.keys import delete_expired_keys
from app.operations.rotation import rotate_due_keys
from app.operations.services import Services

log = logging.getLogger("trent.scheduler")


def run_jobs_once(services: Services) -> tuple[list[str], list[str]]:
    """Run each job once; returns (rotated key ARNs, deleted key ARNs).

    The audit checkpoint is signed here only if no other process of the host
    holds the checkpoint lock (``trent serve``'s checkpointer process does,
    for as long as it runs; see :class:`app.audit.checkpoints.CheckpointLock`).
    """
    with services.connection():
        rotated = rotate_due_keys(services)
        deleted = delete_expired_keys(services)
        expired = expire_imported_material(services)
        services.audit.flush_auth_failure_summaries()
        lock = CheckpointLock(services.settings.audit_checkpoint_lock)
        if lock.try_acquire():
            try:
                services.audit.checkpoint()
            finally:
                lock.release()
    for arn in deleted:
        log.info("deleted %s: its waiting period ended", arn)
    for arn in expired:
        log.info("deleted the imported key material of %s: it expired", arn)
    return rotated, deleted


class Scheduler:
    def __init__(self, services: Services, interval_seconds: float) -> None:
        self._services = services
        self._interval = interval_seconds
        self._stop = threading.Event()
        settings = services.settings
        self._checkpointer = Checkpointer(
            services.audit,
            services.connection,
            settings.audit_checkpoint_interval_seconds,
            lock=CheckpointLock(settings.audit_checkpoint_lock),
        )
        self._thread = threading.Thread(target=self._loop, name="trent-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        next_jobs = time.monotonic() + self._interval
        poll = min(self._interval, self._checkpointer.poll_seconds)
        while not self._stop.wait(poll):
            try:
                if time.monotonic() >= next_jobs:
                    next_jobs = time.monotonic() + self._interval
                    run_jobs_once(self._services)
                else:
                    self._checkpointer.tick()
            except Exception:  # noqa: BLE001 - the loop must survive a failed round
                log.exception("scheduled jobs failed; retrying")
