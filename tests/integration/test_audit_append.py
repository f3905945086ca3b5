"""Appending under failure and under concurrency; bounded 401 records; no secrets."""

from __future__ import annotations

import base64
import json
import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from app.audit.auth_failures import AuthFailureSampler
from app.audit.log import AUTH_FAILURE_SUMMARY, AuditLog
from app.audit.query import AuditQuery, export_records, search
from app.audit.repository import Head
from app.audit.verify import verify
from app.config import load_settings
from app.crypto.root_key import load_root_key
from app.errors import ServiceUnavailableError
from app.store.audit.models import AuditEventRow, AuditHeadRow
from app.store.audit.repository import SqlAuditRepository
from app.store.database import open_store
from app.store.identity_policies import SqlIdentityPolicyRepository
from tests.conftest import ACCOUNT
from tests.integration.test_audit_fixtures import (
    ALICE,
    AuditEnv,
    audit_env,  # noqa: F401  (fixture)
    make_event,
)


def _head(env: AuditEnv) -> tuple[int, bytes]:
    head = env.log.repository.read_head()
    assert head is not None
    return head.last_seq, head.head_hash


def _policy_exists(env: AuditEnv) -> bool:
    return SqlIdentityPolicyRepository(env.store).get(ALICE, "audited-change") is not None


def _audited_change(env: AuditEnv) -> None:
    """A mutation and its audit event in one unit of work, as operations do it."""
    with env.store.transaction():
        SqlIdentityPolicyRepository(env.store).put(
            ACCOUNT, ALICE, "audited-change", "{}", env.clock.now
        )
        env.log.append(make_event(99, event_name="PutPrincipalPolicy"))


def test_a_missing_table_fails_closed_and_rolls_back_the_change(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    audit_env.append(3)
    before = _head(audit_env)
    audit_env.store.execute_sql("ALTER TABLE audit_event RENAME TO audit_event_gone")
    with pytest.raises(ServiceUnavailableError):
        _audited_change(audit_env)
    audit_env.store.execute_sql("ALTER TABLE audit_event_gone RENAME TO audit_event")
    assert not _policy_exists(audit_env)
    assert _head(audit_env) == before
    # The service recovers by itself once the table is back.
    _audited_change(audit_env)
    assert _policy_exists(audit_env) and _head(audit_env)[0] == 4
    assert verify(audit_env.log).ok


def test_an_error_after_the_insert_leaves_nothing_half_written(
    audit_env: AuditEnv,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audit_env.append(2)
    before = _head(audit_env)

    def disk_full(*args: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(audit_env.log.repository, "advance_head", disk_full)
    with pytest.raises(ServiceUnavailableError):
        _audited_change(audit_env)
    monkeypatch.undo()
    assert AuditEventRow.select().where(AuditEventRow.seq == 3).count() == 0
    assert not _policy_exists(audit_env)
    assert _head(audit_env) == before
    assert audit_env.append(1) == [3]
    assert verify(audit_env.log).ok


def test_a_moved_head_refuses_to_fork_the_chain(
    audit_env: AuditEnv,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audit_env.append(3)
    stale = Head(1, bytes(32), 0)
    monkeypatch.setattr(audit_env.log.repository, "lock_head", lambda: stale)
    with pytest.raises(ServiceUnavailableError):
        audit_env.append(1)
    monkeypatch.undo()
    assert AuditEventRow.select().count() == 3
    assert verify(audit_env.log).ok


def test_append_refuses_to_run_outside_a_transaction(audit_env: AuditEnv) -> None:  # noqa: F811
    with pytest.raises(RuntimeError, match="transaction"):
        audit_env.log.append(make_event(1))
    assert AuditEventRow.select().count() == 0


def test_an_unencodable_event_is_a_503(audit_env: AuditEnv) -> None:  # noqa: F811
    with pytest.raises(ServiceUnavailableError), audit_env.store.transaction():
        audit_env.log.append(make_event(1, event_time=float("nan")))
    assert AuditEventRow.select().count() == 0


def test_concurrent_threads_keep_the_chain_linear(audit_env: AuditEnv) -> None:  # noqa: F811
    threads, per_thread = 8, 25
    seqs: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(number: int) -> None:
        try:
            with audit_env.store.connection():
                start.wait()
                for i in range(per_thread):
                    with audit_env.store.transaction():
                        seq = audit_env.log.append(make_event(number * 1000 + i))
                    seqs.append(seq)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert errors == []
    assert sorted(seqs) == list(range(1, threads * per_thread + 1))
    report = verify(audit_env.log)
    assert report.ok and report.events_checked == threads * per_thread


def _process_writer(data_dir: str, database_url: str, count: int, tag: int) -> None:
    env = {"TRENT_DATA_DIR": data_dir}
    if database_url.startswith("postgresql"):
        env["TRENT_DATABASE_URL"] = database_url
    settings = load_settings(env)
    store = open_store(settings.database, pool_size=2, pool_timeout=10, busy_timeout_ms=20_000)
    log = AuditLog(load_root_key(settings), settings, SqlAuditRepository(store))
    with store.connection():
        for i in range(count):
            with store.transaction():
                log.append(make_event(tag * 1000 + i, time=time.time()))


def test_concurrent_processes_keep_the_chain_linear(audit_env: AuditEnv) -> None:  # noqa: F811
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_process_writer,
            args=(str(audit_env.settings.data_dir), audit_env.settings.database, 20, tag),
        )
        for tag in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    report = verify(audit_env.log)
    assert report.ok and report.events_checked == 80 and report.head_seq == 80


def test_an_authentication_flood_does_not_grow_the_table(audit_env: AuditEnv) -> None:  # noqa: F811
    clock = audit_env.clock
    log = audit_env.log
    log.auth_failures = AuthFailureSampler(
        clock, per_source_limit=5, window_seconds=60, global_limit=50
    )

    def failure(ip: str, n: int) -> int | None:
        event = make_event(
            n,
            time=clock.now,
            event_name="Authenticate",
            outcome="failed",
            http_status=401,
            error_code="UnauthenticatedException",
            principal_arn=None,
            principal_account=None,
            principal_type=None,
            auth_method=None,
            token_id=None,
            resources=(),
            source_ip=ip,
        )
        return log.append_auth_failure(ip, "expired", "arn:aws:iam::999:user/claimed", event)

    clock.now = 1_800_000_000.0  # the start of a window
    results = [failure("198.51.100.7", n) for n in range(500)]
    assert [r is not None for r in results] == [True] * 5 + [False] * 495
    assert AuditEventRow.select().count() == 5
    # A distributed flood: many sources, still at most global_limit records.
    for n in range(2000):
        failure(f"203.0.{n // 250}.{n % 250}", n)
    assert AuditEventRow.select().count() == 50
    # The window ends; the next recorded failure brings the summaries with it.
    clock.now += 60
    assert failure("198.51.100.7", 9999) is not None
    summaries = list(AuditEventRow.select().where(AuditEventRow.event_name == AUTH_FAILURE_SUMMARY))
    counts = [json.loads(bytes(row.body))["authFailureSummary"] for row in summaries]
    assert sum(c["suppressedCount"] for c in counts) == 495 + 2000 - 45
    assert len(summaries) <= 50 + 1
    recorded = AuditEventRow.select().where(AuditEventRow.event_name == "Authenticate").count()
    assert recorded + sum(c["suppressedCount"] for c in counts) == 500 + 2000 + 1
    body = json.loads(bytes(AuditEventRow.get(AuditEventRow.seq == 1).body))
    assert body["authFailure"] == {
        "reason": "expired",
        "attemptedPrincipal": "arn:aws:iam::999:user/claimed",
    }
    # The scheduler's poll writes summaries of a window nobody failed in after.
    failure("198.51.100.7", 1)
    failure("198.51.100.7", 2)
    clock.now += 1
    for n in range(10):
        failure("198.51.100.7", n)
    assert log.flush_auth_failure_summaries() == 0  # the window is still open
    clock.now += 60
    assert log.flush_auth_failure_summaries() == 1
    assert verify(log).ok


PLAINTEXT = b"PLAINTEXT-MARKER-5e1f0c"
CIPHERTEXT = b"CIPHERTEXT-MARKER-77a2"
POLICY_MARKER = "POLICY-BODY-MARKER-9d3c"
SECRET = "SECRET-ACCESS-KEY-MARKER-4b1e"
MARKERS = [
    PLAINTEXT,
    base64.b64encode(PLAINTEXT),
    CIPHERTEXT,
    base64.b64encode(CIPHERTEXT),
    POLICY_MARKER.encode(),
    SECRET.encode(),
]


def test_no_event_ever_holds_a_secret_it_was_given(audit_env: AuditEnv) -> None:  # noqa: F811
    secrets = {
        "KeyId": "alias/app",
        "Plaintext": PLAINTEXT,
        "CiphertextBlob": base64.b64encode(CIPHERTEXT).decode(),
        "Policy": json.dumps({"Statement": [{"Sid": POLICY_MARKER}]}),
        "SecretAccessKey": SECRET,
        "GrantTokens": [SECRET],
        "DataKey": PLAINTEXT,
    }
    for name in ("Encrypt", "Decrypt", "GenerateDataKey", "PutKeyPolicy", "CreateAccessKey"):
        audit_env.append(1, event_name=name, request_parameters=secrets)
    audit_env.log.checkpoint()
    stored = b"".join(bytes(row.body) for row in AuditEventRow.select())
    records = audit_env.log.repository
    exported = "".join(
        export_records(records, AuditQuery(), account=None, region="us-east-1")
    ).encode()
    searched = json.dumps(search(records, AuditQuery(), account=None, limit=10).events).encode()
    files = b""
    if audit_env.engine == "sqlite":
        audit_env.store.execute_sql("PRAGMA wal_checkpoint(FULL)")
        database = Path(audit_env.settings.database[len("sqlite:///") :])
        files = b"".join(
            path.read_bytes() for path in (database, Path(f"{database}-wal")) if path.exists()
        )
    files += audit_env.export_file.read_bytes()
    for marker in MARKERS:
        for where in (stored, exported, searched, files):
            assert marker not in where
    assert b"alias/app" in stored  # the allowed parameters are there
    assert AuditHeadRow.get().last_seq == 5


def test_lone_surrogates_are_cleaned_in_body_and_columns_alike(
    audit_env: AuditEnv,  # noqa: F811
) -> None:
    odd = f"arn:aws:iam::{ACCOUNT}:user/bad\ud800name"
    audit_env.append(1, principal_arn=odd, user_agent="agent\udfff")
    row = AuditEventRow.get(AuditEventRow.seq == 1)
    assert row.principal_arn == f"arn:aws:iam::{ACCOUNT}:user/bad\ufffdname"
    assert json.loads(bytes(row.body))["userAgent"] == "agent\ufffd"
    assert verify(audit_env.log).ok
