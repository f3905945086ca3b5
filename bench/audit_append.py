"""Audit log throughput and search latency: ``.venv/bin/python -m bench.audit_append``.

(a) Appends per second with 1, 4 and 16 concurrent writer processes, each
    with its own connection, every event in its own durable transaction (as
    in production), on SQLite (a temporary file, ``synchronous=FULL``) and,
    if ``TRENT_TEST_POSTGRES_URL`` is set, on PostgreSQL. Next to it, the
    same transactions inserting an equally large row into a plain table with
    no chain head: the difference is the cost of the chain's serialisation.
(b) Search latency (first page, 50 events) for several filter combinations
    after bulk-loading 1,000,000 events with :meth:`AuditLog.append_batch`
    (2,000 events per transaction; a valid chain, which is then verified).

Options: ``--events N`` (default 1,000,000), ``--seconds S`` per throughput
run (default 5), ``--writers 1,4,16``, ``--engines sqlite,postgresql``,
``--skip-append``, ``--skip-search``.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.audit import query
from app.audit.events import AuditEvent
from app.audit.log import AuditLog
from app.audit.verify import verify
from app.config import load_settings
from app.crypto.root_key import EnvRootKeyProvider
from app.store.database import (
    bind_database,
    connection,
    database_proxy,
    is_postgres,
    open_database,
    transaction,
)
from app.store.migrate import apply_migrations

ACCOUNTS = ["111122223333"] * 8 + ["444455556666", "777788889999"]
OPERATIONS = [
    "Encrypt",
    "Decrypt",
    "Decrypt",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKey",
    "DescribeKey",
    "ReEncrypt",
    "ListKeys",
    "CreateKey",
    "ScheduleKeyDeletion",
    "PutKeyPolicy",
]
START = 1_790_000_000.0
SPAN = 30 * 86400.0
#: Events per bulk-load transaction.
BATCH = 2000


def _event(rng: random.Random, number: int, when: float) -> AuditEvent:
    account = rng.choice(ACCOUNTS)
    user = rng.randrange(1000)
    key = rng.randrange(5000)
    roll = rng.random()
    if roll < 0.05:
        outcome, status, error = "denied", 403, "AccessDeniedException"
    elif roll < 0.06:
        outcome, status, error = "failed", 400, "InvalidCiphertextException"
    elif roll < 0.08:
        outcome, status, error = "failed", 404, "NotFoundException"
    else:
        outcome, status, error = "success", 200, None
    key_arn = f"arn:aws:kms:us-east-1:{account}:key/{uuid.UUID(int=key)}"
    return AuditEvent(
        event_id=str(uuid.UUID(int=rng.getrandbits(128))),
        event_time=when,
        request_id=f"req-{number}",
        door="rest",
        event_name=rng.choice(OPERATIONS),
        outcome=outcome,  # type: ignore[arg-type]
        http_status=status,
        source_ip=f"10.{user % 256}.{key % 256}.{number % 250 + 1}",
        user_agent="aws-sdk-python/1.35 bench",
        principal_arn=f"arn:aws:iam::{account}:user/user-{user}",
        principal_account=account,
        principal_type="user",
        auth_method="jwt",
        token_id=f"jti-{number}",
        resources=(key_arn,),
        request_parameters={"KeyId": key_arn, "EncryptionContext": {"tenant": f"t{user}"}},
        encryption_context={"tenant": f"t{user}"},
        error_code=error,
        error_message="denied" if error else None,
        key_version=1,
        latency_ms=rng.uniform(0.5, 20),
    )


# -- databases ---------------------------------------------------------------


@contextmanager
def _database(engine: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database; yields its URL."""
    if engine == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        _bind(url, 4)
        with connection():
            apply_migrations()
        yield url
        return
    import psycopg2

    admin_url = os.environ["TRENT_TEST_POSTGRES_URL"]
    name = f"trent_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    try:
        _bind(url, 4)
        with connection():
            apply_migrations()
        yield url
    finally:
        database_proxy.obj.close_all()
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _bind(url: str, pool_size: int) -> None:
    bind_database(open_database(url, pool_size=pool_size, pool_timeout=30, busy_timeout_ms=60_000))


def _audit_log(root_b64: str, workdir: str, clock: Callable[[], float] = time.time) -> AuditLog:
    settings = load_settings({"TRENT_DATA_DIR": workdir})
    return AuditLog(EnvRootKeyProvider.from_base64(root_b64), settings, clock)


# -- (a) throughput ------------------------------------------------------------

_PLAIN_TABLE = "bench_plain_event"


def _writer(
    url: str,
    root_b64: str,
    workdir: str,
    mode: str,
    number: int,
    ready: Any,
    start: Any,
    seconds: float,
    results: Any,
) -> None:
    _bind(url, 1)
    log = _audit_log(root_b64, workdir)
    rng = random.Random()  # event ids must differ between runs
    placeholder = "%s" if url.startswith("postgres") else "?"
    insert_plain = f"INSERT INTO {_PLAIN_TABLE} (body) VALUES ({placeholder})"
    latencies: list[float] = []
    with connection():
        ready.release()
        start.wait()
        deadline = time.monotonic() + seconds
        count = 0
        while time.monotonic() < deadline:
            event = _event(rng, count, time.time())
            began = time.perf_counter()
            with transaction():
                if mode == "audit":
                    log.append(event)
                else:
                    database_proxy.execute_sql(insert_plain, (os.urandom(700),))
            latencies.append(time.perf_counter() - began)
            count += 1
    results.put((count, latencies))


def _throughput(
    url: str, root_b64: str, workdir: str, mode: str, writers: int, seconds: float
) -> tuple[float, float, float]:
    context = multiprocessing.get_context("spawn")
    ready = context.Semaphore(0)
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(
            target=_writer,
            args=(url, root_b64, workdir, mode, n, ready, start, seconds, results),
        )
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    start.set()
    counts: list[int] = []
    latencies: list[float] = []
    for _ in processes:
        count, times = results.get(timeout=seconds + 120)
        counts.append(count)
        latencies.extend(times)
    for process in processes:
        process.join()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return sum(counts) / seconds, p50, p99


def bench_appends(
    engines: list[str], writers: list[int], seconds: float, root_b64: str, workdir: Path
) -> None:
    print("\n(a) appends: every event its own durable transaction, one process per writer")
    header = (
        f"{'engine':<11} {'writers':>7} {'audited ev/s':>13} {'p50 ms':>7} {'p99 ms':>7}"
        f"   {'plain-insert tx/s':>17} {'p50 ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for engine in engines:
        with _database(engine, workdir) as url:
            key = "BIGSERIAL" if is_postgres() else "INTEGER"
            with connection():
                database_proxy.execute_sql(
                    f"CREATE TABLE {_PLAIN_TABLE} (id {key} PRIMARY KEY, body BYTEA)"
                    if is_postgres()
                    else f"CREATE TABLE {_PLAIN_TABLE} (id {key} PRIMARY KEY, body BLOB)"
                )
            for count in writers:
                audited = _throughput(url, root_b64, str(workdir), "audit", count, seconds)
                plain = _throughput(url, root_b64, str(workdir), "plain", count, seconds)
                print(
                    f"{engine:<11} {count:>7} {audited[0]:>13,.0f} {audited[1]:>7.2f} "
                    f"{audited[2]:>7.2f}   {plain[0]:>17,.0f} {plain[1]:>7.2f}",
                    flush=True,
                )
            with connection():
                report = verify(_audit_log(root_b64, str(workdir)))
            print(
                f"{'':<11} chain after the runs: {report.events_checked:,} events, ok={report.ok}"
            )


# -- (b) search latency --------------------------------------------------------


class _LoadClock:
    """The bulk loader's clock: the time of the batch being appended, so that
    ``recordedAt`` follows the synthetic event times (to within a batch)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _bulk_load(log: AuditLog, clock: _LoadClock, total: int, batch: int = BATCH) -> float:
    rng = random.Random(7)
    began = time.perf_counter()
    step = SPAN / total
    loaded = 0
    while loaded < total:
        size = min(batch, total - loaded)
        events = [_event(rng, loaded + i, START + (loaded + i) * step) for i in range(size)]
        clock.now = events[-1].event_time
        with transaction():
            log.append_batch(events)
        loaded += size
        if loaded % 100_000 == 0:
            print(f"  loaded {loaded:,} events ({time.perf_counter() - began:.0f} s)", flush=True)
    return time.perf_counter() - began


def _searches(total: int) -> list[tuple[str, query.AuditQuery, str | None]]:
    alice = "arn:aws:iam::111122223333:user/user-17"
    key = f"arn:aws:kms:us-east-1:111122223333:key/{uuid.UUID(int=42)}"
    end = START + SPAN
    return [
        ("newest 50, no filter", query.AuditQuery(), None),
        ("principal", query.AuditQuery(principal=alice), None),
        ("operation=ScheduleKeyDeletion", query.AuditQuery(operation="ScheduleKeyDeletion"), None),
        ("key ARN (~200 events)", query.AuditQuery(key=key), None),
        ("outcome=denied", query.AuditQuery(outcome="denied"), None),
        (
            "errorCode=InvalidCiphertext",
            query.AuditQuery(error_code="InvalidCiphertextException"),
            None,
        ),
        (
            "principal+operation+outcome",
            query.AuditQuery(principal=alice, operation="Decrypt", outcome="success"),
            None,
        ),
        ("since=last hour", query.AuditQuery(since=int(end - 3600)), None),
        ("until=first day", query.AuditQuery(until=int(START + 86400)), None),
        (
            "day 10 only",
            query.AuditQuery(since=int(START + 9 * 86400), until=int(START + 10 * 86400)),
            None,
        ),
        (
            "rare: principal+errorCode",
            query.AuditQuery(principal=alice, error_code="NotFoundException"),
            None,
        ),
        ("no match (unknown principal)", query.AuditQuery(principal="arn:aws:iam::1:user/x"), None),
        ("account-scoped, no filter", query.AuditQuery(), "111122223333"),
        ("account-scoped, small tenant", query.AuditQuery(), "444455556666"),
        ("account-scoped + operation", query.AuditQuery(operation="PutKeyPolicy"), "777788889999"),
        # Worst cases: a tenant with no events of a common kind, and a kind
        # nobody ever produced.
        ("scoped: empty tenant + Decrypt", query.AuditQuery(operation="Decrypt"), "000000000000"),
        (
            "scoped: empty tenant + errorCode",
            query.AuditQuery(error_code="NotFoundException"),
            "000000000000",
        ),
        ("operation nobody called", query.AuditQuery(operation="ImportKeyMaterial"), None),
        (
            "account-scoped, until=first day",
            query.AuditQuery(until=int(START + 86400)),
            "444455556666",
        ),
    ]


def _timed(action: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


def bench_search(engines: list[str], total: int, root_b64: str, workdir: Path) -> None:
    print(f"\n(b) search after bulk-loading {total:,} events (first page of 50, ms)")
    for engine in engines:
        with _database(engine, workdir) as url:
            _bind(url, 4)
            # Each engine's log exports its checkpoints to a file of its own.
            (workdir / engine).mkdir()
            clock = _LoadClock()
            log = _audit_log(root_b64, str(workdir / engine), clock)
            with connection():
                print(f"{engine}: bulk load …", flush=True)
                seconds = _bulk_load(log, clock, total)
                print(
                    f"{engine}: loaded {total:,} events in {seconds:.0f} s "
                    f"({total / seconds:,.0f} events/s in {BATCH:,}-event transactions)"
                )
                if is_postgres():
                    database_proxy.execute_sql("ANALYZE audit_event")
                header = f"{'filter':<34} {'found':>5} {'median':>8} {'max':>8}"
                print(header)
                print("-" * len(header))
                for name, filters, account in _searches(total):
                    found = len(query.search(filters, account=account, limit=50).events)
                    median, worst = _timed(
                        lambda f=filters, a=account: query.search(f, account=a, limit=50)
                    )
                    print(f"{name:<34} {found:>5} {median:>8.2f} {worst:>8.2f}", flush=True)
                cursor = query.search(query.AuditQuery(), account=None, limit=50).next_cursor
                median, worst = _timed(
                    lambda c=cursor: query.search(
                        query.AuditQuery(), account=None, limit=50, cursor=c
                    )
                )
                print(f"{'second page (cursor)':<34} {50:>5} {median:>8.2f} {worst:>8.2f}")
                began = time.perf_counter()
                checkpoint = log.checkpoint()
                assert checkpoint is not None and checkpoint.last_seq == total
                print(
                    f"first checkpoint over {total:,} events (verifies them first): "
                    f"{time.perf_counter() - began:.1f} s"
                )
                began = time.perf_counter()
                report = verify(log, exported_checkpoints=log.checkpoint_file)
                elapsed = time.perf_counter() - began
                print(
                    f"full verify: {report.events_checked:,} events in {elapsed:.1f} s "
                    f"({report.events_checked / elapsed:,.0f} events/s), ok={report.ok}"
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", default="1,4,16")
    parser.add_argument("--engines", default=None)
    parser.add_argument("--skip-append", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args(argv)
    engines = (args.engines or "sqlite,postgresql").split(",")
    if "postgresql" in engines and not os.environ.get("TRENT_TEST_POSTGRES_URL"):
        print("TRENT_TEST_POSTGRES_URL is not set: PostgreSQL skipped", file=sys.stderr)
        engines.remove("postgresql")
    root_b64 = base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory(prefix="trent-audit-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_append:
            bench_appends(
                engines, [int(w) for w in args.writers.split(",")], args.seconds, root_b64, workdir
            )
        if not args.skip_search:
            bench_search(engines, args.events, root_b64, workdir)


if __name__ == "__main__":
    main()
