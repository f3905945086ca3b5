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
(c) Appends the way the service makes them, on SQLite: a data directory made
    by ``trent init``, P processes x T request threads (like gunicorn's
    workers x threads) each calling ``RemoteCommitter.submit`` in a loop,
    first through the ``trent audit-writer`` process (one transaction per
    batch of every waiting event), then with no writer process, so that each
    process group-commits its own threads' events. Reports how many events
    went through the writer and how many through the in-process fallback.

Options: ``--events N`` (default 1,000,000), ``--seconds S`` per throughput
run (default 5), ``--writers 1,4,16``, ``--engines sqlite,postgresql``,
``--service-writers 2x8`` (processes x threads, comma-separated for several),
``--skip-append``, ``--skip-search``, ``--skip-service``.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.audit import query
from app.audit.events import AuditEvent
from app.audit.group_commit import GroupCommitter
from app.audit.log import AuditLog
from app.audit.verify import verify
from app.audit.writer_service import MAX_SOCKET_PATH, RemoteCommitter
from app.config import load_settings
from app.crypto.root_key import EnvRootKeyProvider, load_root_key
from app.errors import ServiceUnavailableError
from app.store.audit.repository import SqlAuditRepository
from app.store.database import Store, open_store
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
        _migrate(url)
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
        _migrate(url)
        yield url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _open(url: str, pool_size: int) -> Store:
    return open_store(
        url, pool_size=pool_size, pool_timeout=30, busy_timeout_ms=60_000, create=True
    )


def _migrate(url: str) -> None:
    store = _open(url, 1)
    with store.connection():
        apply_migrations(store)
    store.close()


def _audit_log(
    root_b64: str, workdir: str, store: Store, clock: Callable[[], float] = time.time
) -> AuditLog:
    settings = load_settings({"TRENT_DATA_DIR": workdir})
    return AuditLog(
        EnvRootKeyProvider.from_base64(root_b64), settings, SqlAuditRepository(store), clock
    )


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
    store = _open(url, 1)
    log = _audit_log(root_b64, workdir, store)
    rng = random.Random()  # event ids must differ between runs
    placeholder = "%s" if url.startswith("postgres") else "?"
    insert_plain = f"INSERT INTO {_PLAIN_TABLE} (body) VALUES ({placeholder})"
    latencies: list[float] = []
    with store.connection():
        ready.release()
        start.wait()
        deadline = time.monotonic() + seconds
        count = 0
        while time.monotonic() < deadline:
            event = _event(rng, count, time.time())
            began = time.perf_counter()
            with store.transaction():
                if mode == "audit":
                    log.append(event)
                else:
                    store.execute_sql(insert_plain, (os.urandom(700),))
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
    p50, p99 = _percentiles(latencies)
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
            store = _open(url, 1)
            key = "BIGSERIAL" if store.is_postgres() else "INTEGER"
            with store.connection():
                store.execute_sql(
                    f"CREATE TABLE {_PLAIN_TABLE} (id {key} PRIMARY KEY, body BYTEA)"
                    if store.is_postgres()
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
            with store.connection():
                report = verify(_audit_log(root_b64, str(workdir), store))
            store.close()
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


def _bulk_load(
    store: Store, log: AuditLog, clock: _LoadClock, total: int, batch: int = BATCH
) -> float:
    rng = random.Random(7)
    began = time.perf_counter()
    step = SPAN / total
    loaded = 0
    while loaded < total:
        size = min(batch, total - loaded)
        events = [_event(rng, loaded + i, START + (loaded + i) * step) for i in range(size)]
        clock.now = events[-1].event_time
        with store.transaction():
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
            store = _open(url, 4)
            # Each engine's log exports its checkpoints to a file of its own.
            (workdir / engine).mkdir()
            clock = _LoadClock()
            log = _audit_log(root_b64, str(workdir / engine), store, clock)
            records = log.repository
            with store.connection():
                print(f"{engine}: bulk load …", flush=True)
                seconds = _bulk_load(store, log, clock, total)
                print(
                    f"{engine}: loaded {total:,} events in {seconds:.0f} s "
                    f"({total / seconds:,.0f} events/s in {BATCH:,}-event transactions)"
                )
                if store.is_postgres():
                    store.execute_sql("ANALYZE audit_event")
                header = f"{'filter':<34} {'found':>5} {'median':>8} {'max':>8}"
                print(header)
                print("-" * len(header))
                for name, filters, account in _searches(total):
                    found = len(query.search(records, filters, account=account, limit=50).events)
                    median, worst = _timed(
                        lambda f=filters, a=account, r=records: query.search(
                            r, f, account=a, limit=50
                        )
                    )
                    print(f"{name:<34} {found:>5} {median:>8.2f} {worst:>8.2f}", flush=True)
                cursor = query.search(
                    records, query.AuditQuery(), account=None, limit=50
                ).next_cursor
                median, worst = _timed(
                    lambda c=cursor, r=records: query.search(
                        r, query.AuditQuery(), account=None, limit=50, cursor=c
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


# -- (c) the service's path: the audit writer process ---------------------------

REPOSITORY = Path(__file__).resolve().parent.parent
_TRENT = "from app.cli import main; main()"
#: Longest wait for ``trent audit-writer`` to create its socket.
SOCKET_WAIT_SECONDS = 30.0
#: Longest wait for a process to exit after SIGTERM before it is killed.
STOP_WAIT_SECONDS = 10.0
#: Longest wait for a writer process to get ready (imports, first event).
READY_WAIT_SECONDS = 120.0
WRITER_PATH = "writer process"
LOCAL_PATH = "per-process group commit"


@dataclass(frozen=True)
class ServiceRun:
    path: str
    processes: int
    threads: int
    events_per_second: float
    p50_ms: float
    p99_ms: float
    via_writer: int
    via_fallback: int
    errors: int


def parse_layouts(text: str) -> list[tuple[int, int]]:
    """``"2x8,4x4"`` → ``[(2, 8), (4, 4)]`` (processes x threads)."""
    layouts = []
    for item in text.split(","):
        processes, sep, threads = item.strip().lower().partition("x")
        if not sep or not processes.isdigit() or not threads.isdigit():
            raise argparse.ArgumentTypeError(f"expected PROCESSESxTHREADS, e.g. 2x8 (got {item!r})")
        if int(processes) < 1 or int(threads) < 1:
            raise argparse.ArgumentTypeError(f"processes and threads must be >= 1 (got {item!r})")
        layouts.append((int(processes), int(threads)))
    return layouts


def _trent_environment(data_dir: Path) -> dict[str, str]:
    """The caller's environment without its ``TRENT_*`` variables (an unknown
    one is a startup error), pointed at ``data_dir``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRENT_")}
    environment["TRENT_DATA_DIR"] = str(data_dir)
    return environment


def _trent_init(data_dir: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _TRENT, "init"],
        env=_trent_environment(data_dir),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"`trent init` failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}"
        )


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[-limit:]
    except OSError:
        return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def _audit_writer(data_dir: Path, socket_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``trent audit-writer`` on ``data_dir``, from its socket's appearance
    until SIGTERM (then a kill after ``STOP_WAIT_SECONDS``)."""
    log_path = data_dir.parent / "audit-writer.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-c", _TRENT, "audit-writer"],
            env=_trent_environment(data_dir),
            cwd=REPOSITORY,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SOCKET_WAIT_SECONDS
        while not socket_path.exists():
            if process.poll() is not None:
                raise RuntimeError(
                    f"`trent audit-writer` exited ({process.returncode}) before creating "
                    f"{socket_path}: {_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"`trent audit-writer` did not create {socket_path} within "
                    f"{SOCKET_WAIT_SECONDS:.0f} s: {_tail(log_path)}"
                )
            time.sleep(0.05)
        yield process
        if process.poll() is not None:
            raise RuntimeError(
                f"`trent audit-writer` exited ({process.returncode}) during the run: "
                f"{_tail(log_path)}"
            )
    finally:
        _stop(process)


class _CountingFallback:
    """The in-process group commit, counting per thread how often the
    :class:`RemoteCommitter` fell back to it (it calls it in the request's thread)."""

    def __init__(self, inner: GroupCommitter) -> None:
        self._inner = inner
        self._local = threading.local()

    def calls(self) -> int:
        return int(getattr(self._local, "calls", 0))

    def submit(self, event: AuditEvent) -> int:
        self._local.calls = self.calls() + 1
        return self._inner.submit(event)


@dataclass
class _ThreadResult:
    count: int = 0
    via_fallback: int = 0
    errors: int = 0
    began: float = 0.0
    ended: float = 0.0


def _request_thread(
    committer: RemoteCommitter,
    fallback: _CountingFallback,
    warmed: threading.Barrier,
    go: threading.Event,
    seconds: float,
    result: _ThreadResult,
    latencies: list[float],
) -> None:
    rng = random.Random()  # event ids must differ between runs
    # One event before the clock starts: the connection to the writer (or the
    # group commit's thread and a pooled database connection) is made here.
    try:
        committer.submit(_event(rng, 0, time.time()))
    except BaseException:
        warmed.abort()  # the process fails at once instead of at the barrier's timeout
        raise
    warmed.wait()
    go.wait()
    fallback_before = fallback.calls()
    number = 1
    result.began = time.monotonic()
    deadline = result.began + seconds
    while time.monotonic() < deadline:
        event = _event(rng, number, time.time())
        began = time.perf_counter()
        try:
            committer.submit(event)
        except ServiceUnavailableError:
            result.errors += 1
        else:
            latencies.append(time.perf_counter() - began)
            result.count += 1
        number += 1
    result.ended = time.monotonic()
    result.via_fallback = fallback.calls() - fallback_before


def _service_process(
    data_dir: str, threads: int, seconds: float, ready: Any, start: Any, results: Any
) -> None:
    """One "gunicorn worker": ``threads`` request threads submitting events
    through a :class:`RemoteCommitter` wired as :class:`Services` wires it."""
    settings = load_settings({"TRENT_DATA_DIR": data_dir, "TRENT_SCHEDULER_INTERVAL": "0"})
    store = open_store(
        settings.database, pool_size=threads + 2, pool_timeout=30, busy_timeout_ms=60_000
    )
    log = AuditLog(load_root_key(settings), settings, SqlAuditRepository(store))
    fallback = _CountingFallback(
        GroupCommitter(log, store.connection, lambda: store.transaction(invalidates=False))
    )
    committer = RemoteCommitter(log, settings.audit_writer_socket, fallback=fallback)
    warmed = threading.Barrier(threads + 1)
    go = threading.Event()
    outcomes = [_ThreadResult() for _ in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    workers = [
        threading.Thread(
            target=_request_thread,
            args=(committer, fallback, warmed, go, seconds, outcomes[n], latencies[n]),
            daemon=True,
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    warmed.wait(timeout=READY_WAIT_SECONDS)
    ready.release()
    start.wait()
    go.set()
    for worker in workers:
        worker.join()
    results.put(
        (
            sum(o.count for o in outcomes),
            sum(o.via_fallback for o in outcomes),
            sum(o.errors for o in outcomes),
            min(o.began for o in outcomes),
            max(o.ended for o in outcomes),
            [t for times in latencies for t in times],
        )
    )


def _check_alive(processes: list[Any]) -> None:
    for process in processes:
        if process.exitcode not in (None, 0):
            raise RuntimeError(f"a writer process exited with {process.exitcode}")


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds (0 if there were none)."""
    if not latencies:
        return 0.0, 0.0
    latencies = sorted(latencies)
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return p50, p99


def _service_throughput(
    path: str, data_dir: Path, processes_count: int, threads: int, seconds: float
) -> ServiceRun:
    context = multiprocessing.get_context("spawn")
    ready = context.Semaphore(0)
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(
            target=_service_process,
            args=(str(data_dir), threads, seconds, ready, start, results),
            daemon=True,
        )
        for _ in range(processes_count)
    ]
    try:
        for process in processes:
            process.start()
        deadline = time.monotonic() + READY_WAIT_SECONDS
        for _ in processes:
            while not ready.acquire(timeout=0.5):
                _check_alive(processes)
                if time.monotonic() > deadline:
                    raise RuntimeError("the writer processes did not get ready in time")
        start.set()
        received: list[tuple[int, int, int, float, float, list[float]]] = []
        deadline = time.monotonic() + seconds + READY_WAIT_SECONDS
        while len(received) < len(processes):
            try:
                received.append(results.get(timeout=0.5))
            except queue.Empty:
                _check_alive(processes)
                if time.monotonic() > deadline:
                    raise RuntimeError("the writer processes did not finish in time") from None
        for process in processes:
            process.join(timeout=STOP_WAIT_SECONDS)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=STOP_WAIT_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
    count = sum(r[0] for r in received)
    via_fallback = sum(r[1] for r in received)
    elapsed = max(r[4] for r in received) - min(r[3] for r in received)
    p50, p99 = _percentiles([t for r in received for t in r[5]])
    return ServiceRun(
        path=path,
        processes=processes_count,
        threads=threads,
        events_per_second=count / elapsed if elapsed > 0 else 0.0,
        p50_ms=p50,
        p99_ms=p99,
        via_writer=count - via_fallback,
        via_fallback=via_fallback,
        errors=sum(r[2] for r in received),
    )


def service_row(run: ServiceRun) -> str:
    layout = f"{run.processes}x{run.threads}"
    return (
        f"{run.path:<26} {layout:>10} {run.events_per_second:>9,.0f} {run.p50_ms:>7.2f} "
        f"{run.p99_ms:>7.2f} {run.via_writer:>11,} {run.via_fallback:>12,}"
    )


def bench_service(layouts: list[tuple[int, int]], seconds: float) -> bool:
    """Runs (c); returns whether the chain verified."""
    print(
        "\n(c) appends as the service makes them (SQLite, synchronous=FULL): P processes x T "
        "request threads\n    submitting through the audit writer process, then through "
        "each process's own group commit"
    )
    header = (
        f"{'path':<26} {'proc x thr':>10} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'via writer':>11} {'via fallback':>12}"
    )
    base = "/tmp" if os.path.isdir("/tmp") else None
    with ExitStack() as stack:
        # Short: the writer's socket lives in the data directory.
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tab-", dir=base)))
        data_dir = data_dir / "d"
        settings = load_settings({"TRENT_DATA_DIR": str(data_dir), "TRENT_SCHEDULER_INTERVAL": "0"})
        socket_path = settings.audit_writer_socket
        if len(str(socket_path)) > MAX_SOCKET_PATH:
            raise RuntimeError(f"socket path {socket_path} is too long for a Unix socket")
        _trent_init(data_dir)
        print(header)
        print("-" * len(header))
        notes: list[str] = []
        for processes, threads in layouts:
            for path in (WRITER_PATH, LOCAL_PATH):
                with _audit_writer(data_dir, socket_path) if path == WRITER_PATH else ExitStack():
                    if path == LOCAL_PATH and socket_path.exists():
                        raise RuntimeError(f"{socket_path} is still there: no writer must listen")
                    run = _service_throughput(path, data_dir, processes, threads, seconds)
                print(service_row(run), flush=True)
                if path == WRITER_PATH and run.via_fallback:
                    notes.append(
                        f"note: {run.processes}x{run.threads}: {run.via_fallback:,} of "
                        f"{run.via_writer + run.via_fallback:,} events went through the "
                        "in-process group commit (the writer was not reachable): that row "
                        "is not the writer path alone"
                    )
                if run.errors:
                    notes.append(
                        f"note: {run.path} {run.processes}x{run.threads}: {run.errors:,} "
                        "submits failed (503) and are not counted"
                    )
        for note in notes:
            print(note)
        store = open_store(settings.database, pool_size=2, pool_timeout=30, busy_timeout_ms=60_000)
        stack.callback(store.close)
        log = AuditLog(load_root_key(settings), settings, SqlAuditRepository(store))
        with store.connection():
            report = verify(log)
        print(f"chain after the runs: {report.events_checked:,} events, ok={report.ok}")
        return bool(report.ok)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", default="1,4,16")
    parser.add_argument("--engines", default=None)
    parser.add_argument(
        "--service-writers",
        type=parse_layouts,
        default="2x8",
        help="(c): processes x threads, comma-separated for several (default 2x8)",
    )
    parser.add_argument("--skip-append", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-service", action="store_true")
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
    if not args.skip_service:
        if "sqlite" not in engines:
            print("\n(c) skipped: it measures the service on SQLite (--engines sqlite)")
        elif not bench_service(args.service_writers, args.seconds):
            sys.exit("the audit chain did not verify after (c)")


if __name__ == "__main__":
    main()
