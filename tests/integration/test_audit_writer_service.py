"""The host's audit writer process: events from several clients share a
transaction, nobody is answered before their event is durable, a failed batch
fails every request in it, and a worker falls back to its own group commit
while the writer is away."""

from __future__ import annotations

import os
import socket
import sqlite3
import struct
import threading
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.audit import writer_service
from app.audit.events import AuditEvent
from app.audit.group_commit import GroupCommitter
from app.audit.log import AuditLog, PreparedEvent
from app.audit.repository import EVENT_COLUMNS
from app.audit.verify import verify
from app.audit.writer_service import (
    RemoteCommitter,
    WriterServer,
    decode_request,
    encode_request,
)
from app.config import Settings
from app.crypto.root_key import load_root_key
from app.errors import ServiceUnavailableError
from app.store.audit.repository import SqlAuditRepository
from app.store.database import Store, open_store
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
        principal_arn="arn:aws:iam::111122223333:user/alice",
        principal_account="111122223333",
        resources=("arn:aws:kms:us-east-1:111122223333:key/" + str(uuid.UUID(int=n)),),
    )


Env = tuple[Settings, AuditLog, Store]


class Writer:
    def __init__(self, settings: Settings, log: AuditLog, store: Store) -> None:
        self.settings = settings
        self.log = log
        self.batches: list[int] = []
        original = log.append_prepared

        def counting(events: list[PreparedEvent]) -> list[int]:
            self.batches.append(len(events))
            return original(events)

        self.server = WriterServer(
            AuditLog(log._root_key, settings, log.repository),
            settings.audit_writer_socket,
            store.connection,
            lambda: store.transaction(invalidates=False),
        )
        self.server._audit.append_prepared = counting  # type: ignore[method-assign]
        self.server.listen()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=10)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    # A short data directory path: a Unix socket path has at most 108 bytes.
    data_dir = Path("/tmp") / f"trent-writer-{uuid.uuid4().hex[:12]}"
    settings = init_data_dir(data_dir)
    # As `trent init` leaves it: a pool of two.
    store = open_store(settings.database, pool_size=2, pool_timeout=2, busy_timeout_ms=5000)
    yield settings, AuditLog(load_root_key(settings), settings, SqlAuditRepository(store)), store
    store.close()
    for path in sorted(data_dir.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    data_dir.rmdir()


def committer(
    settings: Settings, log: AuditLog, store: Store
) -> tuple[RemoteCommitter, GroupCommitter]:
    fallback = GroupCommitter(log, store.connection, lambda: store.transaction(invalidates=False))
    return RemoteCommitter(log, settings.audit_writer_socket, fallback=fallback), fallback


def durable(settings: Settings, seq: int) -> bool:
    db = sqlite3.connect(settings.data_dir / "trent.db")
    try:
        row = db.execute("SELECT COUNT(*) FROM audit_event WHERE seq = ?", (seq,)).fetchone()
    finally:
        db.close()
    return bool(row == (1,))


def test_a_request_frame_round_trips() -> None:
    columns = {name: f"{name}-\u00e9" for name in EVENT_COLUMNS}
    columns.update(recorded_at=None, occurred_at=1_790_000_000_000_000, http_status=200)
    prepared = PreparedEvent(b'{"a":1,"recordedAt":', b',"z":"\xc3\xa9"}', columns)
    frame = encode_request(prepared)
    assert struct.unpack(">I", frame[:4])[0] == len(frame) - 4
    assert decode_request(frame[4:]) == prepared
    with pytest.raises(ValueError):
        decode_request(frame[4:12])


@pytest.mark.parametrize(
    "columns",
    [b'{"door":"rest"}', b'["rest"]', b"[" + b",".join([b"1"] * 16) + b"]", b"[1] x"],
)
def test_a_frame_without_exactly_the_typed_columns_is_refused(columns: bytes) -> None:
    head, tail = b'{"recordedAt":', b"}"
    payload = struct.pack(">I", len(head)) + head + struct.pack(">I", len(tail)) + tail + columns
    with pytest.raises(ValueError):
        decode_request(payload)


def test_events_from_many_threads_share_batches_and_are_durable_when_answered(
    env: Env,
) -> None:
    settings, log, store = env
    writer = Writer(settings, log, store)
    remote, _ = committer(settings, log, store)
    seqs: list[int] = []
    lock = threading.Lock()

    def request(n: int) -> None:
        for i in range(4):
            seq = remote.submit(event(n * 10 + i))
            assert durable(settings, seq)  # before submit returned
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.stop()
    assert sorted(seqs) == list(range(1, 65))
    assert sum(writer.batches) == 64  # every event went through the writer
    assert max(writer.batches) > 1, writer.batches
    with store.connection():
        assert verify(log).ok


def test_a_failed_batch_fails_every_request_in_it_and_the_writer_recovers(
    env: Env,
) -> None:
    settings, log, store = env
    writer = Writer(settings, log, store)
    remote, _ = committer(settings, log, store)
    with failing_audit_inserts(settings):
        failures = failures_of_concurrent_calls(lambda n: remote.submit(event(n)), 8)
    assert len(failures) == 8
    assert all(isinstance(failure, ServiceUnavailableError) for failure in failures)
    assert remote.submit(event(99)) == 1
    writer.stop()


def test_without_a_writer_a_worker_appends_by_itself(env: Env) -> None:
    settings, log, store = env
    remote, fallback = committer(settings, log, store)
    assert not settings.audit_writer_socket.exists()
    assert remote.submit(event(1)) == 1
    assert durable(settings, 1)
    # Then the writer comes back: the worker uses it again once its retry pause is over.
    writer = Writer(settings, log, store)
    remote._retry_at = 0.0
    assert remote.submit(event(2)) == 2
    writer.stop()
    assert writer.batches == [1]


def test_a_writer_that_dies_after_the_event_was_sent_fails_the_request(
    env: Env,
) -> None:
    settings, log, store = env
    path = settings.audit_writer_socket
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def accept_read_and_vanish() -> None:
        conn, _ = listener.accept()
        conn.recv(1 << 16)
        conn.close()

    thread = threading.Thread(target=accept_read_and_vanish)
    thread.start()
    remote, _ = committer(settings, log, store)
    with pytest.raises(ServiceUnavailableError):
        remote.submit(event(1))
    thread.join()
    listener.close()
    # The fate of that event was unknown, so it was not sent another way either.
    with store.connection():
        assert verify(log).events_checked == 0


def test_a_writer_that_never_answers_fails_the_request_after_the_timeout(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for the answer is bounded (by the kernel's receive timeout):
    a writer that takes the event and hangs costs the request a 503, not a
    hung thread, and the event is not sent another way."""
    settings, log, store = env
    monkeypatch.setattr(writer_service, "ANSWER_TIMEOUT_SECONDS", 0.3)
    path = settings.audit_writer_socket
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    release = threading.Event()

    def accept_read_and_hang() -> None:
        conn, _ = listener.accept()
        conn.recv(1 << 16)
        release.wait(300)  # set as soon as the request has failed
        conn.close()

    thread = threading.Thread(target=accept_read_and_hang)
    thread.start()
    remote, _ = committer(settings, log, store)
    started = time.monotonic()
    try:
        with pytest.raises(ServiceUnavailableError):
            remote.submit(event(1))
        waited = time.monotonic() - started
        # The writer still holds the connection open: the request gave up by
        # its own timeout, not because the connection closed (no wall-clock bound).
        still_hanging = thread.is_alive()
    finally:
        release.set()
        thread.join()
        listener.close()
    assert still_hanging
    assert waited >= 0.25  # it did wait for the answer
    with store.connection():
        assert verify(log).events_checked == 0


def test_under_gevent_a_writer_that_never_answers_fails_the_request_after_the_timeout(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a gevent worker the connections to the writer are cooperative
    sockets, which the kernel's timeouts do not bound: the committer's watch
    shuts a connection down once its wait outlasts the timeout, and the
    request fails with 503 while the writer still holds the connection open;
    the event is not sent another way. An answered request leaves nothing
    watched."""
    from gevent import socket as cooperative

    settings, log, store = env
    monkeypatch.setattr(writer_service, "ANSWER_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(writer_service, "ANSWER_WATCH_SECONDS", 0.05)
    path = settings.audit_writer_socket
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    release = threading.Event()
    answered = threading.Event()

    def answer_once_then_hang() -> None:
        conn, _ = listener.accept()
        conn.recv(1 << 16)
        conn.sendall(struct.pack(">Iq", 8, 41))
        answered.set()
        conn.recv(1 << 16)
        release.wait(300)  # set as soon as the request has failed
        conn.close()

    hanging = threading.Thread(target=answer_once_then_hang)
    hanging.start()
    # The committer's sockets only (the writer above keeps the standard ones).
    module = types.SimpleNamespace(**{**vars(socket), "socket": cooperative.socket})
    monkeypatch.setattr("app.audit.writer_service.socket", module)
    remote, _ = committer(settings, log, store)
    assert remote.submit(event(1)) == 41
    assert answered.is_set()
    watch = remote._watch
    assert watch is not None and not watch._due  # the answered wait is no longer watched
    started = time.monotonic()
    try:
        with pytest.raises(ServiceUnavailableError):
            remote.submit(event(2))
        waited = time.monotonic() - started
        still_hanging = hanging.is_alive()
    finally:
        release.set()
        hanging.join()
        listener.close()
    assert still_hanging
    assert waited >= 0.25  # it did wait for the answer
    assert not watch._due
    with store.connection():
        assert verify(log).events_checked == 0


def test_a_bad_frame_drops_only_its_connection(env: Env) -> None:
    settings, log, store = env
    writer = Writer(settings, log, store)
    bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bad.connect(str(settings.audit_writer_socket))
    bad.sendall(struct.pack(">I", 12) + b"not a frame!")
    assert bad.recv(16) == b""  # closed without an answer
    bad.close()
    huge = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    huge.connect(str(settings.audit_writer_socket))
    huge.sendall(struct.pack(">I", 1 << 30))
    assert huge.recv(16) == b""
    huge.close()
    remote, _ = committer(settings, log, store)
    assert remote.submit(event(1)) == 1
    writer.stop()
    assert writer.batches == [1]


def test_the_socket_is_for_the_service_user_only(env: Env) -> None:
    settings, log, store = env
    writer = Writer(settings, log, store)
    assert (os.stat(settings.audit_writer_socket).st_mode & 0o777) == 0o600
    writer.stop()
    assert not settings.audit_writer_socket.exists()


def _serve_one_batch(writer_server: WriterServer, out: list[int]) -> None:
    out.append(writer_server.serve_once(timeout=5))


def test_under_load_a_small_batch_waits_for_the_events_on_their_way(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load a batch waits for one event per connection that has been
    sending events (at most ``LINGER_EVENTS``), and not for a connection that
    has not, nor when the server is idle."""
    import app.audit.writer_service as service

    # The batch ends when its second event is in, not when a pause runs out:
    # however slowly this machine runs the two threads, the outcome is the same.
    monkeypatch.setattr(service, "LINGER_SECONDS", 120.0)
    monkeypatch.setattr(service, "LINGER_EVENTS", 8)
    # "Just committed" and "has been sending" stay true however late the
    # serving thread starts.
    monkeypatch.setattr(service, "BUSY_GAP_SECONDS", 60.0)
    monkeypatch.setattr(service, "ACTIVE_SECONDS", 60.0)
    settings, log, store = env
    server = WriterServer(
        AuditLog(log._root_key, settings, log.repository),
        settings.audit_writer_socket,
        store.connection,
        lambda: store.transaction(invalidates=False),
    )
    server.listen()
    first, second, silent = (socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3))
    for client in (first, second, silent):
        client.connect(str(settings.audit_writer_socket))
    server.serve_once(timeout=0.1)  # accept them
    # Idle (nothing committed yet): the first event commits at once, without
    # waiting for the second connection, which has not sent anything yet.
    first.sendall(encode_request(log.prepare(event(1))))
    assert server.serve_once(timeout=5) == 1
    server._last_commit = 0.0  # idle again
    second.sendall(encode_request(log.prepare(event(2))))
    assert server.serve_once(timeout=5) == 1

    # Busy (a batch just committed), and two connections have been sending:
    # the first one's event waits for the second one's (the silent
    # connection is not waited for).
    server._last_commit = time.monotonic()
    # The second event is sent once the server holds the first and has
    # decided to linger for more (it asks whether it is busy only then).
    lingering = threading.Event()
    busy = server._busy

    def deciding() -> bool:
        answer = busy()
        lingering.set()
        return answer

    monkeypatch.setattr(server, "_busy", deciding)
    sizes: list[int] = []
    worker = threading.Thread(target=_serve_one_batch, args=(server, sizes))
    first.sendall(encode_request(log.prepare(event(3))))
    worker.start()
    assert lingering.wait(60), "the server never took the first event"
    second.sendall(encode_request(log.prepare(event(4))))
    worker.join(timeout=120)
    assert sizes == [2]

    # Busy, but no connection has sent an event within ACTIVE_SECONDS: the
    # first one's event commits without waiting for the second one's.
    monkeypatch.setattr(service, "ACTIVE_SECONDS", 0.0)
    server._last_commit = time.monotonic()
    first.sendall(encode_request(log.prepare(event(5))))
    started = time.monotonic()
    assert server.serve_once(timeout=5) == 1
    assert time.monotonic() - started < 60  # it did not wait out the 120 s

    # Idle (nothing committed for a while): one event commits at once.
    monkeypatch.setattr(service, "ACTIVE_SECONDS", 60.0)
    server._last_commit = 0.0
    first.sendall(encode_request(log.prepare(event(6))))
    started = time.monotonic()
    assert server.serve_once(timeout=5) == 1
    assert time.monotonic() - started < 60
    for client in (first, second, silent):
        client.close()
    server.close()


def test_a_writer_answers_pings_and_one_that_does_not_is_not_ready(
    env: Env,
) -> None:
    """The heartbeat the master (and /readyz) sends: a live writer answers it,
    a missing one is "not listening" (workers append by themselves), and one
    that takes the connection but never answers (stopped, stuck) is not ready."""
    settings, log, store = env
    path = settings.audit_writer_socket
    remote, _ = committer(settings, log, store)
    assert writer_service.ping(path, 5) is None
    assert remote.ready() == "in-process"
    writer = Writer(settings, log, store)
    try:
        assert writer_service.ping(path, 5) is True
        assert remote.ready() == "ok"
        assert remote.submit(event(1)) == 1  # a ping is no event
    finally:
        writer.stop()
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(path))
    silent.listen(4)  # connections queue, nobody reads them
    try:
        assert writer_service.ping(path, 0.3) is False
        slow = RemoteCommitter(log, path, fallback=None, heartbeat_seconds=0.3)
        with pytest.raises(ServiceUnavailableError):
            slow.ready()
    finally:
        silent.close()
        path.unlink()


def test_a_failed_batch_logs_the_database_error_text(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    settings, log, store = env
    writer = Writer(settings, log, store)
    remote, _ = committer(settings, log, store)
    try:
        with failing_audit_inserts(settings), caplog.at_level("ERROR", "trent.audit"):
            with pytest.raises(ServiceUnavailableError):
                remote.submit(event(1))
    finally:
        writer.stop()
    failed = [r.getMessage() for r in caplog.records if "audit batch" in r.getMessage()]
    assert failed and "simulated audit failure" in failed[0], failed


class _ShortSends:
    """A connection whose ``send`` takes only the first few bytes, as a full
    socket buffer would."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.short_sends = 0

    def send(self, data: bytes) -> int:
        self.short_sends += 1
        return self._sock.send(data[:5])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def test_a_frame_the_socket_takes_in_parts_arrives_whole(env: Env) -> None:
    settings, log, store = env
    writer = Writer(settings, log, store)
    remote, _ = committer(settings, log, store)
    connection = remote._checkout()
    assert connection is not None
    short = _ShortSends(connection)
    remote._idle.append(short)  # type: ignore[arg-type]
    seq = remote.submit(event(1))
    writer.stop()
    assert short.short_sends == 1
    assert durable(settings, seq)
    assert writer.batches == [1]
