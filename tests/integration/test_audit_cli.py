"""``trent audit …`` against the database directly."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from app import open_store
from app.audit import query
from app.audit.log import AuditLog
from app.cli.audit import audit
from app.config import Settings
from app.crypto.root_key import load_root_key
from app.store.audit.repository import SqlAuditRepository
from tests.integration.test_audit_fixtures import ALICE, BOB, make_event


def _append(settings: Settings, count: int, **overrides: object) -> None:
    store = open_store(settings, cache=False)
    log = AuditLog(load_root_key(settings), settings, SqlAuditRepository(store))
    with store.connection():
        for i in range(count):
            with store.transaction():
                log.append(make_event(i, time=time.time(), **overrides))


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    _append(settings, 3, principal_arn=ALICE)
    _append(settings, 2, principal_arn=BOB, event_name="Decrypt")
    return {"TRENT_DATA_DIR": str(settings.data_dir)}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(audit, list(args), env=env, catch_exceptions=False)


def test_search_prints_events_newest_first(env: dict[str, str]) -> None:
    result = run(env, "search", "--limit", "2")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["seq"] for e in events] == [5, 4]
    assert "next cursor: " in result.stderr
    cursor = result.stderr.split("next cursor: ")[1].strip()
    rest = run(env, "search", "--cursor", cursor, "--principal", ALICE)
    assert [json.loads(line)["seq"] for line in rest.stdout.splitlines()] == [3, 2, 1]


def test_search_rejects_a_bad_cursor(env: dict[str, str]) -> None:
    result = run(env, "search", "--cursor", "bogus")
    assert result.exit_code == 1
    assert "InvalidMarkerException" in result.stderr


def test_export_to_a_file(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "audit.jsonl"
    result = run(env, "export", "--operation", "Decrypt", "--output", str(target))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["eventName"] for r in records] == ["Decrypt", "Decrypt"]
    assert records[0]["userIdentity"]["arn"] == BOB
    stdout = run(env, "export")
    assert len(stdout.stdout.splitlines()) == 5


def test_verify_passes_and_fails_with_the_first_bad_seq(
    env: dict[str, str], settings: Settings
) -> None:
    ok = run(env, "verify")
    assert ok.exit_code == 0 and "OK: the audit log verifies" in ok.stdout
    db = sqlite3.connect(settings.data_dir / "trent.db")
    db.execute("UPDATE audit_event SET source_ip = '10.6.6.6' WHERE seq = 3")
    db.commit()
    db.close()
    failed = run(env, "verify")
    assert failed.exit_code == 1
    assert "first bad sequence number 3" in failed.stdout
    report = json.loads(run(env, "verify", "--json").stdout)
    assert report["ok"] is False and report["firstBadSeq"] == 3


def test_checkpoint_writes_and_exports(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "offsite" / "checkpoints.jsonl"
    first = run(env, "checkpoint", "--to", str(target))
    assert first.exit_code == 0, first.output
    assert "checkpoint 1: events 1..5" in first.stdout
    again = run(env, "checkpoint", "--to", str(target))
    assert "no new events since checkpoint 1" in again.stdout
    assert len(target.read_text().splitlines()) == 1
    verified = run(env, "verify", "--checkpoints", str(target))
    # The copy given, and the server's own checkpoint file: one checkpoint each.
    assert verified.exit_code == 0 and "2 exported" in verified.stdout, verified.stdout
    assert str(target) in verified.stdout


def test_a_truncated_log_fails_verify_against_the_export(
    env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "checkpoints.jsonl"
    assert run(env, "checkpoint", "--to", str(target)).exit_code == 0
    db = sqlite3.connect(settings.data_dir / "trent.db")
    db.execute("DELETE FROM audit_event WHERE seq > 3")
    db.execute("DELETE FROM audit_checkpoint")
    db.execute(
        "UPDATE audit_head SET last_seq = 3, "
        "head_hash = (SELECT entry_hash FROM audit_event WHERE seq = 3), "
        "recorded_at = (SELECT recorded_at FROM audit_event WHERE seq = 3)"
    )
    db.commit()
    db.close()
    result = run(env, "verify", "--checkpoints", str(target))
    assert result.exit_code == 1
    assert "truncated" in result.stdout and "first bad sequence number 4" in result.stdout


def test_tail_is_bounded_and_follows_new_events(
    env: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    backlog = run(env, "tail", "--from-seq", "0", "--count", "3")
    assert [json.loads(line)["seq"] for line in backlog.stdout.splitlines()] == [1, 2, 3]
    started = time.monotonic()
    idle = run(env, "tail", "--seconds", "0.3", "--interval", "0.05")
    assert idle.exit_code == 0 and idle.stdout == ""
    assert time.monotonic() - started < 5

    # The events are appended once the tail has looked and found nothing new,
    # so what it prints it found by following, however slowly either starts.
    polled = threading.Event()
    events_after = query.events_after

    def observed(*args: Any, **kwargs: Any) -> Any:
        found = events_after(*args, **kwargs)
        if not found:
            polled.set()
        return found

    monkeypatch.setattr(query, "events_after", observed)

    def later() -> None:
        assert polled.wait(60), "the tail never polled"
        _append(settings, 2, event_name="GenerateDataKey")

    writer = threading.Thread(target=later)
    writer.start()
    followed = run(env, "tail", "--count", "2", "--seconds", "20", "--interval", "0.05")
    writer.join()
    names = [json.loads(line)["eventName"] for line in followed.stdout.splitlines()]
    assert names == ["GenerateDataKey", "GenerateDataKey"]


def test_tail_needs_a_bound(env: dict[str, str]) -> None:
    result = CliRunner().invoke(audit, ["tail"], env=env)
    assert result.exit_code == 2


def test_a_missing_root_key_is_a_clean_error(tmp_path: Path) -> None:
    result = run({"TRENT_DATA_DIR": str(tmp_path / "nowhere")}, "verify")
    assert result.exit_code == 1
    assert "root key" in result.stderr


def test_verify_and_export_show_progress_on_stderr_only_on_a_terminal(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = run(env, "verify")
    assert quiet.exit_code == 0 and "verified:" not in quiet.stderr
    monkeypatch.setattr("app.cli.progress.stderr_is_terminal", lambda: True)
    monkeypatch.setattr("app.cli.audit.stderr_is_terminal", lambda: True)
    shown = run(env, "verify")
    assert shown.exit_code == 0
    assert shown.stderr.endswith("\rverified: 5 of 5 events (100%)\n")
    assert shown.stdout == quiet.stdout
    exported = run(env, "export", "--output", str(tmp_path / "events.jsonl"))
    assert "\rexported: 5 events\n" in exported.stderr
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 5
