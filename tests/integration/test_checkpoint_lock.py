"""One signer of audit checkpoints per host: whoever holds the checkpoint lock.
`trent serve`'s checkpointer process holds it for its life, and the workers'
schedulers then leave the job to it."""

from __future__ import annotations

import uuid

from flask import Flask

from app.audit.checkpoints import CheckpointLock
from app.audit.events import AuditEvent
from app.config import Settings
from app.operations.scheduler import run_jobs_once
from app.pipeline.runtime import runtime


def test_the_lock_has_one_holder_at_a_time(settings: Settings) -> None:
    first = CheckpointLock(settings.audit_checkpoint_lock)
    second = CheckpointLock(settings.audit_checkpoint_lock)
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_a_worker_signs_only_when_nobody_holds_the_lock(app: Flask, settings: Settings) -> None:
    with app.app_context():
        services = runtime().services
    with services.connection(), services.unit_of_work():
        services.audit.append(
            AuditEvent(
                event_id=str(uuid.uuid4()),
                event_time=services.now(),
                request_id="r1",
                door="rest",
                event_name="ListKeys",
                outcome="success",
                http_status=200,
            )
        )
    checkpointer = CheckpointLock(settings.audit_checkpoint_lock)
    assert checkpointer.try_acquire()  # as `trent audit-checkpointer` does
    run_jobs_once(services)
    with services.connection():
        assert services.audit.latest_checkpoint() is None
    checkpointer.release()  # the checkpointer is gone: a worker takes over
    run_jobs_once(services)
    with services.connection():
        assert services.audit.latest_checkpoint() is not None
