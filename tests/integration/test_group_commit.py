"""Group commit: concurrent requests share a transaction, nobody is answered
before their event is durable, and a failed batch fails every request in it."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import open_store
from app.audit.events import AuditEvent
from app.audit.group_commit import GroupCommitter
from app.audit.log import AuditLog, PreparedEvent
from app.audit.verify import verify
from app.config import Settings
from app.crypto.root_key import load_root_key
from app.errors import ServiceUnavailableError
from app.store.audit.repository import SqlAuditRepository
from app.store.database import Store
from tests.conftest import failing_audit_inserts, failures_of_concurrent_calls, init_data_dir


def event(n: int) -> AuditEvent:
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=1_800_000_000.0 + n,
        request_id=f"r{n}",
        door="rest",
        event_name="Encrypt",
        outcome="success",
        http_status=200,
    )


Writer = tuple[Settings, AuditLog, GroupCommitter, Store]


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    settings = init_data_dir(tmp_path / "var")
    store = open_store(settings, pool_size=2, cache=False)
    log = AuditLog(load_root_key(settings), settings, SqlAuditRepository(store))
    yield settings, log, GroupCommitter(log, store.connection, store.transaction), store
    store.close()


def test_concurrent_events_share_batches_and_all_commit(
    writer: Writer,
) -> None:
    settings, log, committer, store = writer
    seqs: list[int] = []
    lock = threading.Lock()
    batches: list[int] = []
    original = log.append_prepared

    def counting(events: list[PreparedEvent]) -> list[int]:
        batches.append(len(events))
        return original(events)

    log.append_prepared = counting  # type: ignore[method-assign]

    def request(n: int) -> None:
        seq = committer.submit(event(n))
        # The event is durable before submit returns: another connection sees it.
        db = sqlite3.connect(settings.data_dir / "trent.db")
        try:
            found = db.execute("SELECT COUNT(*) FROM audit_event WHERE seq = ?", (seq,)).fetchone()
        finally:
            db.close()
        assert found == (1,)
        with lock:
            seqs.append(seq)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seqs) == list(range(1, 65))
    assert sum(batches) == 64
    assert max(batches) > 1, batches  # at least one batch was shared
    with store.connection():
        assert verify(log).ok


def test_a_failed_batch_fails_every_request_in_it(
    writer: Writer,
) -> None:
    settings, _, committer, _ = writer
    with failing_audit_inserts(settings):
        failures = failures_of_concurrent_calls(lambda n: committer.submit(event(n)), 8)
    assert len(failures) == 8
    assert all(isinstance(failure, ServiceUnavailableError) for failure in failures)
    assert committer.submit(event(99)) == 1  # the writer survived and recovers


def test_a_failed_batch_logs_the_database_error_text(
    writer: Writer, caplog: pytest.LogCaptureFixture
) -> None:
    settings, _, committer, _ = writer
    with failing_audit_inserts(settings), caplog.at_level("ERROR", "trent.audit"):
        with pytest.raises(ServiceUnavailableError):
            committer.submit(event(1))
    failed = [r.getMessage() for r in caplog.records if "audit batch" in r.getMessage()]
    assert failed and "simulated audit failure" in failed[0], failed
