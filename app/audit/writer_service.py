"""One audit writer for every worker process of a host.

Group commit inside one worker (:mod:`app.audit.group_commit`) shares an fsync
between that worker's requests, but measured under load two things kept it
slow: the workers took turns on the database's write lock, and the writer
thread, which gives up the GIL around every SQLite call, waited to get it
back behind the worker's busy request threads (a 3-event batch took 5-7 ms).
``trent serve`` therefore starts one more process, the *audit writer*, that
does nothing but append: workers send it their encoded events over a Unix
socket in the data directory and block until it answers.

The writer reads whatever events are waiting on all its connections, appends
them in one transaction (one head lock, one fsync) and then answers each with
its ``seq``. Nothing changes in what a request is promised: it is not answered
before its event is durable, and an event that cannot be written, or whose
fate is unknown (the writer died mid-batch), fails the request with 503.

Failure handling:

* When the socket is not there or refuses a connection (the writer is being
  restarted), a worker appends through its own group commit instead, which
  is slower and exactly as safe: both paths take the database's write lock
  and the chain head, so the chain stays linear whoever writes.
* Only processes of the service's own user may connect (``SO_PEERCRED``),
  and the socket file is mode 0600: whoever can send to the writer can have
  events MACed.
* ``trent serve``'s master process restarts a writer that exits, and pings
  it over its socket (an empty frame, answered with ``0`` by the writer's
  loop between batches): a writer that has not answered within
  ``TRENT_AUDIT_WRITER_HEARTBEAT_SECONDS`` (stopped, stuck) is killed with
  SIGKILL and replaced. The requests waiting on it see their connection
  close and fail at once with 503 (their events' fate is unknown); a batch it
  had begun is rolled back by SQLite, and the kernel drops its locks, so the
  replacement cannot deadlock on them. ``/readyz`` pings it the same way.

Wire format, both directions length-prefixed (4 bytes, big-endian). A request
is ``u32 len(head) || head || u32 len(tail) || tail || columns-json`` (see
:class:`~app.audit.log.PreparedEvent`; the columns are a JSON array of the
values of :data:`~app.audit.repository.EVENT_COLUMNS`, in that order); the
answer is the ``seq`` as a signed 64-bit integer, or ``-1`` for "not
written". An empty request is a ping, answered with ``0``.
"""

from __future__ import annotations

import _socket
import json
import logging
import os
import selectors
import socket
import struct
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from app.audit.events import AuditEvent
from app.audit.group_commit import describe_failure
from app.audit.log import AuditLog, PreparedEvent
from app.audit.repository import EVENT_COLUMNS
from app.errors import ServiceUnavailableError

log = logging.getLogger("trent.audit")

#: Longest path of a Unix socket (``sun_path`` is 108 bytes on Linux).
MAX_SOCKET_PATH = 100
#: Largest request frame; an encoded event is a few KiB at most.
MAX_FRAME = 1 << 20
#: Longest a request waits for the writer's answer before failing with 503.
ANSWER_TIMEOUT_SECONDS = 30.0
#: How often a gevent worker looks for waits that outlasted
#: ``ANSWER_TIMEOUT_SECONDS`` (:class:`_AnswerWatch`).
ANSWER_WATCH_SECONDS = 1.0
#: After a failed connection, how long a worker appends by itself before trying again.
RETRY_SECONDS = 1.0
#: Most events in one transaction.
MAX_BATCH = 512
#: Under load (the previous batch committed less than ``BUSY_GAP_SECONDS``
#: ago), a batch waits up to ``LINGER_SECONDS`` for more events before it
#: commits (what PostgreSQL's ``commit_delay`` does): until it holds as many
#: as there are connections that sent an event in the last
#: ``ACTIVE_SECONDS`` (whose next event may be on its way; with four clients
#: at most four are), and at most ``LINGER_EVENTS``. A commit costs the
#: writer a fixed part (its fsync, about 0.2 ms of CPU here) besides about
#: 0.08 ms per event, so fewer, larger batches cost less per event
#: (``python -m bench.audit_cpu --batch N``).
#: Measured on 2 cores (wrk, AWS-door Encrypt, two interleaved rounds): at 16
#: connections the writer's CPU per answer fell from 0.12 to 0.09-0.10 ms
#: and p99 did not rise; at 4 connections 1,590 -> 1,775 req/s. (Waiting for
#: a fixed eight would have cost 4 connections two fifths of their req/s.)
#: An idle or lightly loaded server never waits: its events arrive after the gap.
LINGER_EVENTS = 8
LINGER_SECONDS = 0.002
ACTIVE_SECONDS = 0.01
BUSY_GAP_SECONDS = 0.002

_LENGTH = struct.Struct(">I")
_COLUMNS_ENCODER = json.JSONEncoder(separators=(",", ":"))
_COLUMNS_DECODER = json.JSONDecoder()
_ANSWER = struct.Struct(">q")
#: ``struct timeval`` (seconds, microseconds) for ``SO_RCVTIMEO``/``SO_SNDTIMEO``.
_TIMEVAL = struct.Struct("@ll")
_FAILED = -1
_PING = _LENGTH.pack(0)


def socket_path_fits(path: Path) -> bool:
    """Whether ``path`` is short enough for a Unix socket."""
    return len(str(path).encode()) <= MAX_SOCKET_PATH


def encode_request(event: PreparedEvent) -> bytes:
    # The typed columns as a JSON array in EVENT_COLUMNS order: the writer
    # parses one per event, and an array without the names costs it less.
    columns = _COLUMNS_ENCODER.encode([event.columns[name] for name in EVENT_COLUMNS]).encode(
        "utf-8"
    )
    payload = b"".join(
        (_LENGTH.pack(len(event.head)), event.head, _LENGTH.pack(len(event.tail)), event.tail)
    )
    payload += columns
    return _LENGTH.pack(len(payload)) + payload


def decode_request(payload: bytes) -> PreparedEvent:
    """The event in a request frame's payload; ``ValueError`` if malformed."""
    view = memoryview(payload)
    try:
        (head_length,) = _LENGTH.unpack_from(view, 0)
        head_end = 4 + head_length
        (tail_length,) = _LENGTH.unpack_from(view, head_end)
    except struct.error:
        raise ValueError("truncated audit event frame") from None
    tail_end = head_end + 4 + tail_length
    if tail_end > len(payload):
        raise ValueError("truncated audit event frame")
    # raw_decode: json.loads would also sniff the encoding and match leading
    # and trailing whitespace, which this frame never has.
    text = str(view[tail_end:], "utf-8")
    values, end = _COLUMNS_DECODER.raw_decode(text)
    if end != len(text):
        raise ValueError("audit event columns are followed by extra data")
    if not isinstance(values, list) or len(values) != len(EVENT_COLUMNS):
        raise ValueError(f"audit event columns must be an array of {len(EVENT_COLUMNS)} values")
    return PreparedEvent(
        bytes(view[4:head_end]),
        bytes(view[head_end + 4 : tail_end]),
        dict(zip(EVENT_COLUMNS, values, strict=True)),
    )


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        #: When it last sent an event (``time.monotonic()``; pings do not count).
        self.last_event = 0.0

    def frames(self) -> list[bytes]:
        """Complete frames received so far (``ValueError`` for an oversized one)."""
        found: list[bytes] = []
        while len(self.buffer) >= 4:
            (length,) = _LENGTH.unpack_from(self.buffer, 0)
            if length > MAX_FRAME:
                raise ValueError("audit event frame too large")
            if len(self.buffer) < 4 + length:
                break
            found.append(bytes(self.buffer[4 : 4 + length]))
            del self.buffer[: 4 + length]
        return found


class WriterServer:
    """The writer process's loop: read every waiting event, append, answer."""

    def __init__(
        self,
        audit: AuditLog,
        path: Path,
        connection: Callable[[], AbstractContextManager[None]],
        transaction: Callable[[], AbstractContextManager[None]],
        *,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._audit = audit
        self.path = path
        #: Told ``(events, seconds)`` of each batch made durable (the metrics).
        self._on_batch = on_batch
        self._connection = connection
        self._transaction = transaction
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._held: AbstractContextManager[None] | None = None
        self._last_commit = 0.0

    def __repr__(self) -> str:
        return f"WriterServer({str(self.path)!r})"

    def listen(self) -> None:
        if not socket_path_fits(self.path):
            raise ValueError(f"socket path {self.path} is too long for a Unix socket")
        if self.path.exists() or self.path.is_symlink():
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Created under a restrictive umask, then bound: never world-connectable.
        old_umask = os.umask(0o177)
        try:
            listener.bind(str(self.path))
        finally:
            os.umask(old_umask)
        listener.listen(256)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, None)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def serve_forever(self) -> None:
        if self._listener is None:
            self.listen()
        try:
            while not self._stop.is_set():
                self.serve_once(timeout=0.5)
        finally:
            self.close()

    def close(self) -> None:
        self._release_connection()
        for key in list(self._selector.get_map().values()):
            self._selector.unregister(key.fileobj)
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()
        if self._listener is not None:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self._listener = None

    def serve_once(self, timeout: float) -> int:
        """Read what is waiting, append it in one transaction; returns how many events."""
        batch: list[tuple[_Connection, PreparedEvent]] = []
        self._read(timeout, batch)
        if batch and self._busy():
            # Under load a batch that waits a moment for the events already
            # on their way costs each of them less than a commit of its own.
            wanted = self._events_on_their_way()
            deadline = time.monotonic() + LINGER_SECONDS
            while len(batch) < wanted:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._read(left, batch)
        for start in range(0, len(batch), MAX_BATCH):
            self._commit(batch[start : start + MAX_BATCH])
        if batch:
            self._last_commit = time.monotonic()
        return len(batch)

    def _events_on_their_way(self) -> int:
        """How many events a batch waits for: one per connection that sent
        an event in the last ``ACTIVE_SECONDS``, at most ``LINGER_EVENTS``."""
        since = time.monotonic() - ACTIVE_SECONDS
        active = 0
        for key in self._selector.get_map().values():
            conn = key.data
            if conn is not None and conn.last_event >= since:
                active += 1
        return min(active, LINGER_EVENTS)

    def _busy(self) -> bool:
        """Whether events have been arriving back to back (the previous batch
        ended moments ago): only then is waiting for more worth it."""
        return time.monotonic() - self._last_commit < BUSY_GAP_SECONDS

    def _read(self, timeout: float, batch: list[tuple[_Connection, PreparedEvent]]) -> None:
        """Add every complete event waiting on any connection to ``batch``."""
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                self._accept()
                continue
            conn: _Connection = key.data
            try:
                data = conn.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                self._drop(conn)
                continue
            conn.buffer += data
            try:
                for frame in conn.frames():
                    if not frame:  # a ping: the loop is alive
                        self._answer(conn, 0)
                        continue
                    batch.append((conn, decode_request(frame)))
                    conn.last_event = time.monotonic()
            except (ValueError, UnicodeDecodeError) as exc:
                log.error("audit writer: dropping a connection that sent a bad frame: %s", exc)
                batch[:] = [(c, e) for c, e in batch if c is not conn]
                self._drop(conn)

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            if not _same_user(sock):
                log.error("audit writer: refused a connection from another user")
                sock.close()
                continue
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ, _Connection(sock))

    def _drop(self, conn: _Connection) -> None:
        try:
            self._selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()

    def _commit(self, batch: list[tuple[_Connection, PreparedEvent]]) -> None:
        if not batch:
            return
        started = time.monotonic()
        try:
            # One connection for the writer's life (taken again after a failure):
            # a pool checkout per batch is work every request would wait for.
            if self._held is None:
                held = self._connection()
                held.__enter__()
                self._held = held
            with self._transaction():
                seqs = self._audit.append_prepared([event for _, event in batch])
        except Exception as exc:  # noqa: BLE001 - every waiter must be answered
            log.error("audit batch of %d events failed: %s", len(batch), describe_failure(exc))
            seqs = [_FAILED] * len(batch)
            self._release_connection()
        else:
            if self._on_batch is not None:
                self._on_batch(len(batch), time.monotonic() - started)
        for (conn, _), seq in zip(batch, seqs, strict=True):
            self._answer(conn, seq)

    def _answer(self, conn: _Connection, seq: int) -> None:
        answer = _LENGTH.pack(_ANSWER.size) + _ANSWER.pack(seq)
        try:
            # 12 bytes into a socket whose peer waits for them: the send
            # completes at once; block only in the unlikely other case.
            if conn.sock.send(answer) != len(answer):
                raise BlockingIOError
        except BlockingIOError:
            try:
                conn.sock.setblocking(True)
                conn.sock.sendall(answer)
                conn.sock.setblocking(False)
            except OSError:
                self._drop(conn)
        except OSError:
            self._drop(conn)

    def _release_connection(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            try:
                held.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - a broken connection is dropped either way
                log.warning("audit writer: closing its database connection failed")


class RemoteCommitter:
    """A worker's side: hand events to the writer process, or append them
    through ``fallback`` (the in-process group commit) while it is away.

    Each submission borrows a connection to the writer from a small pool and
    gives it back once answered, so a worker holds as many as it has events
    in flight at once: a thread per request (at most the threads), or under
    ``trent serve``'s gevent worker a greenlet per client connection, of which
    a worker may hold a thousand while only a few are ever audited at once.
    """

    def __init__(
        self, audit: AuditLog, path: Path, fallback: Any, *, heartbeat_seconds: float = 1.0
    ) -> None:
        self._audit = audit
        self.path = path
        self._fallback = fallback
        self._heartbeat_seconds = heartbeat_seconds
        self._lock = threading.Lock()
        self._idle: list[socket.socket] = []
        self._pid = os.getpid()
        self._retry_at = 0.0
        #: Bounds the waits on cooperative sockets (None: the kernel does).
        self._watch: _AnswerWatch | None = None

    def __repr__(self) -> str:
        return f"RemoteCommitter({str(self.path)!r})"

    def submit(self, event: AuditEvent) -> int:
        sock = self._checkout()
        if sock is None:
            return int(self._fallback.submit(event))
        frame = encode_request(self._audit.prepare(event))
        watch = self._watch
        if watch is not None:
            watch.begin(sock)
        try:
            # A frame of a few KiB fits the socket's buffer: one send. (gevent's
            # sendall asks the kernel for the buffer's size first, every time.)
            sent = sock.send(frame)
            if sent < len(frame):
                sock.sendall(frame[sent:])
        except OSError:
            # Nothing reached the writer: this event may still go the other way.
            if watch is not None:
                watch.end(sock)
            self._discard(sock)
            return int(self._fallback.submit(event))
        try:
            answer = _receive(sock, 4 + _ANSWER.size)
        except OSError as exc:
            # Sent, but its fate is unknown: fail closed.
            why = type(exc).__name__
            if watch is not None and not watch.end(sock):
                why = f"none within {ANSWER_TIMEOUT_SECONDS} s"
            self._discard(sock)
            log.error("audit writer did not answer (%s); answering 503", why)
            raise ServiceUnavailableError() from exc
        if watch is not None:
            watch.end(sock)
        self._checkin(sock)
        (seq,) = _ANSWER.unpack_from(answer, 4)
        if seq == _FAILED:
            raise ServiceUnavailableError()
        return int(seq)

    def ready(self) -> str:
        """``"ok"`` if the writer answers a ping in time, ``"in-process"`` if
        none is listening (this worker appends its own events meanwhile);
        :class:`ServiceUnavailableError` if one listens but does not answer."""
        answered = ping(self.path, self._heartbeat_seconds)
        if answered is None:
            return "in-process"
        if not answered:
            log.error("the audit writer did not answer a ping within %s s", self._heartbeat_seconds)
            raise ServiceUnavailableError()
        return "ok"

    def _checkout(self) -> socket.socket | None:
        """An idle connection to the writer, a new one, or ``None`` while the
        writer is away (a failed connect is retried after ``RETRY_SECONDS``)."""
        with self._lock:
            if self._pid != os.getpid():
                # Forked: the parent's connections (and its watch) are the parent's.
                self._idle = []
                self._watch = None
                self._pid = os.getpid()
            if self._idle:
                return self._idle.pop()
            if time.monotonic() < self._retry_at:
                return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(ANSWER_TIMEOUT_SECONDS)
        try:
            sock.connect(str(self.path))
            if not _kernel_timeouts(sock, ANSWER_TIMEOUT_SECONDS) and self._watch is None:
                self._watch = _AnswerWatch()
        except OSError:
            sock.close()
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return None
        return sock

    def _checkin(self, sock: socket.socket) -> None:
        with self._lock:
            if self._pid == os.getpid():
                self._idle.append(sock)
                return
        sock.close()

    def _discard(self, sock: socket.socket) -> None:
        """Close a connection that failed; the others go the same way, as the
        writer that failed it is likely gone, and new ones wait ``RETRY_SECONDS``."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._retry_at = time.monotonic() + RETRY_SECONDS
        for each in (sock, *idle):
            each.close()


def ping(path: Path, timeout: float) -> bool | None:
    """Whether the writer listening on ``path`` answers a ping within
    ``timeout`` seconds; ``None`` if nothing listens there (not started yet,
    being restarted, or gone)."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        except OSError:
            return False
        try:
            sock.sendall(_PING)
            data = bytearray()
            while len(data) < 4 + _ANSWER.size:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                sock.settimeout(left)
                chunk = sock.recv(4 + _ANSWER.size - len(data))
                if not chunk:
                    return False
                data += chunk
        except OSError:
            return False
    return True


class _AnswerWatch:
    """Ends a gevent worker's waits for the writer that outlast
    ``ANSWER_TIMEOUT_SECONDS``, by shutting their connection down (the wait
    then ends as a closed connection: 503, the event's fate unknown).

    A cooperative socket with a timeout starts and cancels a timer in the
    event loop for every wait, two per request here (about 2 % of a worker's
    CPU under load). Its connections to the writer have no timeout instead,
    and this watch looks at the waits under way every
    ``ANSWER_WATCH_SECONDS``, in one thread of its own (a greenlet, as the
    worker's ``threading`` is gevent's): a wait ends within that much after
    its deadline. A request pays for a dictionary entry. The thread ends
    once its committer and watch are gone.
    """

    def __init__(self) -> None:
        #: Connections waited on, and when each wait must end.
        self._due: dict[socket.socket, float] = {}
        threading.Thread(
            target=_watch_answers,
            args=(weakref.ref(self),),
            name="trent-audit-answer-watch",
            daemon=True,
        ).start()

    def begin(self, sock: socket.socket) -> None:
        self._due[sock] = time.monotonic() + ANSWER_TIMEOUT_SECONDS

    def end(self, sock: socket.socket) -> bool:
        """Stop watching ``sock``; ``False`` if its wait had been ended here."""
        return self._due.pop(sock, None) is not None

    def expire(self, now: float) -> None:
        """Shut down the connections whose wait is over ``now``."""
        for sock, due in list(self._due.items()):
            if due <= now and self._due.pop(sock, None) is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed: nothing waits on it


def _watch_answers(ref: weakref.ReferenceType[_AnswerWatch]) -> None:
    while True:
        time.sleep(ANSWER_WATCH_SECONDS)
        watch = ref()
        if watch is None:
            return
        watch.expire(time.monotonic())
        del watch


def _kernel_timeouts(sock: socket.socket, seconds: float) -> bool:
    """Make ``sock`` blocking, with its send and receive timeouts kept by the
    kernel; ``False`` for a cooperative socket, left without a timeout (see
    :class:`_AnswerWatch`).

    A Python-level timeout (``settimeout``) makes every ``send``/``recv`` a
    ``poll`` and then the call, each giving up and taking back the GIL: with
    eight request threads per worker that is two more GIL hand-overs per
    request. With ``SO_SNDTIMEO``/``SO_RCVTIMEO`` each is one system call, and
    a timeout still ends the wait (as ``BlockingIOError``, an ``OSError``).
    Measured on 2 cores (REST Encrypt, 16 connections, three interleaved
    rounds): 2,052 -> 2,246 req/s, p99 17.2 -> 14.6 ms.
    """
    if _socket.socket not in type(sock).__mro__:
        # A cooperative socket (gevent's, in a worker of `trent serve`): it
        # waits in its event loop, where the kernel's timeouts do not apply.
        sock.settimeout(None)
        return False
    whole = int(seconds)
    timeval = _TIMEVAL.pack(whole, int((seconds - whole) * 1_000_000))
    sock.settimeout(None)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    return True


def _receive(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the audit writer closed the connection")
        data += chunk
    return bytes(data)
