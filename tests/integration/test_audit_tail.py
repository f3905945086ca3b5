"""The tail of the audit log: checkpoints are signed soon after it grows and on
shutdown, each one leaves the database as it is made (checkpoint file, sink),
and verify compares the table with the newest checkpoint found anywhere, so
cutting the tail (and the checkpoints that cover it) from the database is
reported, naming the events that are missing."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app import open_store
from app.audit.checkpointer import Checkpointer
from app.audit.checkpoints import CheckpointLock, read_exported
from app.audit.log import AuditLog
from app.audit.verify import AuditIntegrityError, VerifyReport, verify
from app.crypto.root_key import load_root_key
from app.store.audit.models import AuditCheckpointRow, AuditEventRow, AuditHeadRow
from app.store.audit.repository import SqlAuditRepository
from tests.integration.test_audit_fixtures import (
    AuditEnv,
    audit_env,  # noqa: F401  (fixture)
    make_event,
)


@dataclasses.dataclass
class Monotonic:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def _kinds(report: VerifyReport) -> set[str]:
    return {finding.kind for finding in report.findings}


def _details(report: VerifyReport) -> str:
    return "\n".join(f"{f.kind} {f.seq} {f.detail}" for f in report.findings)


def _cut_tail(keep: int, *, checkpoints_too: bool) -> None:
    """Delete the events after ``keep`` and rewind the chain head (and, if
    asked, the checkpoints that reach past ``keep``), as someone with write
    access to the database would."""
    AuditEventRow.delete().where(AuditEventRow.seq > keep).execute()
    last = AuditEventRow.get(AuditEventRow.seq == keep)
    AuditHeadRow.update(
        last_seq=keep, head_hash=bytes(last.entry_hash), recorded_at=last.recorded_at
    ).execute()
    if checkpoints_too:
        AuditCheckpointRow.delete().where(AuditCheckpointRow.last_seq > keep).execute()


def _checkpointer(env: AuditEnv, clock: Monotonic, interval: float = 5.0) -> Checkpointer:
    # The fixture holds the test's connection: a round needs no other.
    return Checkpointer(env.log, contextlib.nullcontext, interval, clock=clock)


def _two_checkpoints(env: AuditEnv) -> tuple[Monotonic, Checkpointer]:
    """Checkpoints 1 (events 1..5) and 2 (events 6..10), signed by the checkpointer."""
    clock = Monotonic()
    checkpointer = _checkpointer(env, clock)
    env.append(5)
    assert checkpointer.tick() is not None
    env.append(5)
    clock.now += 5
    assert checkpointer.tick() is not None
    return clock, checkpointer


def test_a_checkpoint_is_signed_within_its_interval_under_traffic(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    clock = Monotonic()
    checkpointer = _checkpointer(audit_env, clock)
    audit_env.append(3)
    first = checkpointer.tick()
    assert first is not None and (first.first_seq, first.last_seq) == (1, 3)

    audit_env.append(2)  # traffic goes on
    clock.now += 4.9
    assert checkpointer.tick() is None  # not yet due
    clock.now += 0.1
    second = checkpointer.tick()
    assert second is not None and (second.first_seq, second.last_seq) == (4, 5)
    # It left the database as it was made.
    exported = [e.checkpoint for e in read_exported(audit_env.export_file)[0]]
    assert exported == [first, second]

    clock.now += 60  # an idle log: nothing to sign
    assert checkpointer.tick() is None
    audit_env.append(1)  # the first event after a quiet spell is signed at once
    third = checkpointer.tick()
    assert third is not None and (third.first_seq, third.last_seq) == (6, 6)
    assert verify(audit_env.log).ok


def test_the_checkpointer_signs_over_the_rest_when_it_stops(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    clock = Monotonic()
    checkpointer = _checkpointer(audit_env, clock, interval=3600)
    audit_env.append(2)
    assert checkpointer.tick() is not None
    audit_env.append(4)
    assert checkpointer.tick() is None  # the interval is an hour
    stop = threading.Event()
    stop.set()  # SIGTERM
    checkpointer.run(stop)
    latest = audit_env.log.latest_checkpoint()
    assert latest is not None and latest.last_seq == 6
    assert read_exported(audit_env.export_file)[0][-1].checkpoint == latest


def test_the_checkpointer_process_signs_on_sigterm(tmp_path: Path) -> None:
    from tests.conftest import init_data_dir

    settings = init_data_dir(tmp_path / "var")
    store = open_store(settings, cache=False)
    log = AuditLog(load_root_key(settings), settings, SqlAuditRepository(store))

    def append(count: int) -> None:
        with store.connection():
            for number in range(count):
                with store.transaction():
                    log.append(make_event(number, time=time.time()))

    append(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENT_")}
    env.update(
        {
            "TRENT_DATA_DIR": str(settings.data_dir),
            "TRENT_SCHEDULER_INTERVAL": "0",
            "TRENT_AUDIT_CHECKPOINT_INTERVAL": "3600",
        }
    )
    exported = settings.data_dir / "audit-checkpoints.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "audit-checkpointer"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # It signs over what is there when it starts…
        deadline = time.monotonic() + 60
        while not (exported.exists() and read_exported(exported)[0]):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "no checkpoint from the checkpointer"
            time.sleep(0.05)
        assert not CheckpointLock(settings.audit_checkpoint_lock).try_acquire()
        append(3)  # …then the log grows, and it is told to stop long before the hour
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    checkpoints = [e.checkpoint for e in read_exported(exported)[0]]
    assert [(c.first_seq, c.last_seq) for c in checkpoints] == [(1, 2), (3, 5)]


def test_the_untouched_log_verifies_against_every_copy(
    audit_env: AuditEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    sink = tmp_path / "other-mount" / "sink.jsonl"
    sink.parent.mkdir()
    audit_env.log.checkpoint_sink = sink
    clock = Monotonic()
    checkpointer = _checkpointer(audit_env, clock)
    for _ in range(3):
        audit_env.append(4)
        assert checkpointer.tick() is not None
        clock.now += 5
    report = verify(audit_env.log)
    assert report.ok, _details(report)
    assert report.checkpoint_sources == [str(audit_env.export_file), str(sink)]
    assert report.exported_checkpoints_checked == 6


@pytest.mark.parametrize("checkpoints_too", [False, True], ids=["rows", "rows+checkpoints"])
def test_a_cut_tail_is_caught_by_the_newest_checkpoint(
    audit_env: AuditEnv,  # noqa: F811
    checkpoints_too: bool,
) -> None:
    clock = Monotonic()
    checkpointer = _checkpointer(audit_env, clock)
    audit_env.append(10)
    assert checkpointer.tick() is not None
    audit_env.append(5)
    clock.now += 5
    newest = checkpointer.tick()
    assert newest is not None and newest.last_seq == 15

    _cut_tail(10, checkpoints_too=checkpoints_too)

    report = verify(audit_env.log)
    assert not report.ok
    assert report.first_bad_seq == 11
    assert "truncated" in _kinds(report)
    assert "events 11..15 are missing" in _details(report)
    if checkpoints_too:
        # Only the file outside the database remembers checkpoint 2.
        assert "exported_checkpoint_missing" in _kinds(report)
        assert verify(audit_env.log, own_sources=False).ok


def test_a_copy_given_to_verify_does_not_hide_the_checkpoint_file(
    audit_env: AuditEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    clock = Monotonic()
    checkpointer = _checkpointer(audit_env, clock)
    audit_env.append(5)
    assert checkpointer.tick() is not None
    older_copy = tmp_path / "backup.jsonl"
    older_copy.write_bytes(audit_env.export_file.read_bytes())
    audit_env.append(5)
    clock.now += 5
    assert checkpointer.tick() is not None
    _cut_tail(5, checkpoints_too=True)

    # `trent audit verify --checkpoints backup.jsonl`
    report = verify(audit_env.log, exported_checkpoints=older_copy)
    assert not report.ok and report.first_bad_seq == 6, _details(report)
    assert "events 6..10 are missing" in _details(report)


def test_the_sink_catches_it_when_the_checkpoint_file_is_rewritten_too(
    audit_env: AuditEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    sink = tmp_path / "other-mount" / "sink.jsonl"
    sink.parent.mkdir()
    audit_env.log.checkpoint_sink = sink
    _two_checkpoints(audit_env)
    # Database and data directory both in the attacker's hands: the tail,
    # its checkpoint and the checkpoint file's last line are gone.
    _cut_tail(5, checkpoints_too=True)
    lines = audit_env.export_file.read_bytes().splitlines(keepends=True)
    audit_env.export_file.write_bytes(b"".join(lines[:1]))

    report = verify(audit_env.log)
    assert not report.ok and report.first_bad_seq == 6
    assert f"exported ({sink}) checkpoint 2" in _details(report)


def test_new_events_over_a_cut_tail_do_not_match_the_checkpoint(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    _two_checkpoints(audit_env)
    _cut_tail(5, checkpoints_too=True)
    audit_env.append(7)  # the server goes on, filling 6..12 with other events
    head = audit_env.log.repository.read_head()
    assert head is not None and head.last_seq == 12

    report = verify(audit_env.log)
    assert not report.ok
    assert report.first_bad_seq == 10
    assert "checkpoint_head_mismatch" in _kinds(report), _details(report)


def test_a_sink_receives_each_checkpoint_and_syslog_too(
    audit_env: AuditEnv,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import syslog

    sent: list[str] = []
    monkeypatch.setattr(syslog, "syslog", lambda priority, message: sent.append(message))
    sink = tmp_path / "sink.jsonl"
    settings = dataclasses.replace(
        audit_env.settings, audit_checkpoint_sink=sink, audit_checkpoint_syslog=True
    )
    log = AuditLog(
        load_root_key(settings),
        settings,
        audit_env.log.repository,
        audit_env.clock,
        checkpoint_file=audit_env.export_file,
    )
    sink.write_text("")
    os.chmod(sink, 0o200)  # write-only: the sink is never read back
    audit_env.append(2)
    first = log.checkpoint()
    audit_env.append(1)
    second = log.checkpoint()
    os.chmod(sink, 0o600)
    assert first is not None and second is not None
    assert [e.checkpoint for e in read_exported(sink)[0]] == [first, second]
    assert len(sent) == 2 and all('"format": "trent-audit-checkpoint/v1"' in m for m in sent)


def test_a_worker_skips_its_round_while_the_checkpointer_holds_the_lock(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    lock_path = audit_env.settings.audit_checkpoint_lock
    holder = CheckpointLock(lock_path)  # as `trent audit-checkpointer` does
    assert holder.try_acquire()
    worker = Checkpointer(
        audit_env.log,
        contextlib.nullcontext,
        5.0,
        lock=CheckpointLock(lock_path),
        clock=Monotonic(),
    )
    audit_env.append(2)
    assert worker.tick() is None and audit_env.log.latest_checkpoint() is None
    holder.release()  # the checkpointer is gone: the worker signs
    signed = worker.tick()
    assert signed is not None and signed.last_seq == 2


def test_no_checkpoint_is_signed_over_a_cut_tail(audit_env: AuditEnv) -> None:  # noqa: F811
    clock, checkpointer = _two_checkpoints(audit_env)
    _cut_tail(5, checkpoints_too=True)
    audit_env.append(3)  # the server goes on over the cut
    clock.now += 5
    # The checkpoint file remembers checkpoint 2: the shortened history is
    # not given a fresh signature (nor a second, different checkpoint 2).
    with pytest.raises(AuditIntegrityError) as info:
        checkpointer.tick()
    assert info.value.finding.kind == "truncated"
    latest = audit_env.log.latest_checkpoint()
    assert latest is not None and latest.checkpoint_no == 1


def test_the_helper_processes_log_exports_to_the_configured_file(
    audit_env: AuditEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    # `trent audit-checkpointer` builds its AuditLog from the settings alone.
    configured = tmp_path / "configured" / "checkpoints.jsonl"
    configured.parent.mkdir()
    settings = dataclasses.replace(audit_env.settings, audit_checkpoint_file=configured)
    log = AuditLog(load_root_key(settings), settings, audit_env.log.repository, audit_env.clock)
    audit_env.append(2)
    signed = log.checkpoint()
    assert signed is not None
    assert [e.checkpoint for e in read_exported(configured)[0]] == [signed]
    assert not (settings.data_dir / "audit-checkpoints.jsonl").exists()
