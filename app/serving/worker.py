"""Trent's gunicorn worker: gevent, with deadlines and a cap per client address.

gunicorn's gevent worker gives each connection a greenlet and parses requests
cooperatively: a client that sends its request one byte at a time holds a
greenlet and a socket, not one of a handful of threads, so it cannot keep
other clients waiting. What this class adds to it:

- **Request head:** gunicorn reads each request's line and headers under a
  timeout of ``keepalive`` seconds, counted from the accept or from the end of
  the previous answer (``TRENT_KEEPALIVE_SECONDS``), and closes the
  connection when it expires. The deadline is one timer per connection,
  started again for each request head (gunicorn makes one per request).
- **Body:** :class:`BodyDeadline` reads the body before the application is
  called, within ``TRENT_BODY_TIMEOUT_SECONDS``; a body that has not arrived
  by then is answered 408 and never reaches the application.
- **Connections:** gunicorn caps them per worker (``worker_connections``);
  :meth:`TrentWorker.handle` also caps those of one client address
  (``TRENT_MAX_CONNECTIONS_PER_ADDRESS``), closing any over the cap at once.
- **Fairness:** a greenlet runs until it waits. A request that never waits
  (an error answered without an audit append) would let one pipelining
  client keep its worker, so each connection yields after every request;
  and a worker accepts every connection waiting on its own socket at once,
  not one per turn of its loop (:class:`_OwnSocketServer`).

The worker monkey-patches the standard library (gunicorn's gevent worker
does, after the fork): threads become greenlets, and ``threading``'s locks,
conditions and events, sockets and sleeps cooperate, which is what the audit
writer's client and the in-process group commit use. SQLite calls do not
cooperate: a query or commit holds its worker for its duration. psycopg2 is
made to cooperate (:func:`_cooperative_psycopg2`).
"""

from __future__ import annotations

import email.utils
import io
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import gevent
from gevent import getcurrent
from gevent.server import StreamServer
from gunicorn import util as gunicorn_util
from gunicorn.http import message as gunicorn_message
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers import ggevent
from gunicorn.workers.ggevent import GeventWorker

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: How often, at most, the worker logs the connections it refused over the cap.
REFUSED_REPORT_SECONDS = 10.0


class TrentWorker(GeventWorker):  # type: ignore[misc]
    """gunicorn's gevent worker with the limits of :mod:`app.serving`."""

    #: The WSGI application gunicorn loaded (set by gunicorn's base class).
    wsgi: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._per_address = 0
        self._open_by_address: dict[str, int] = {}
        self._refused = 0
        self._refused_reported_at = 0.0
        self._quitting = False
        #: Each connection's keep-alive deadline, made once and restarted per
        #: request (gunicorn makes a timer for every request).
        self._keepalive: dict[Any, _RestartableTimeout] = {}

    def handle_quit(self, sig: Any, frame: Any) -> None:
        # Ctrl-C reaches a worker twice: from the terminal (SIGINT, sent to
        # the whole process group) and from the master (SIGQUIT). The second
        # quit, run while the first unwound, raised SystemExit inside the
        # interpreter's shutdown (a traceback in the log, cleanup cut short).
        if self._quitting:
            return
        self._quitting = True
        super().handle_quit(sig, frame)

    def patch(self) -> None:
        super().patch()
        _cooperative_psycopg2()

    def apply_limits(
        self,
        *,
        body_timeout_seconds: float,
        max_body_bytes: int,
        max_connections_per_address: int,
    ) -> None:
        """Called by ``post_worker_init`` (app.serving.options), once the
        application is loaded."""
        self._per_address = max_connections_per_address
        self.wsgi = BodyDeadline(self.wsgi, body_timeout_seconds, max_body_bytes)
        settle_settings(self.cfg)
        remember_per_request_constants(self.cfg)

    def run(self) -> None:
        # gunicorn's gevent worker builds its servers in run(): have it build
        # ones that accept everything waiting (see _OwnSocketServer).
        ggevent.StreamServer = _OwnSocketServer
        super().run()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        # One hub per worker: the greenlets that touch the counts never run
        # at the same time, so they need no lock.
        address = str(addr[0]) if isinstance(addr, tuple) and addr else ""
        open_now = self._open_by_address.get(address, 0)
        if self._per_address and open_now >= self._per_address:
            client.close()
            self._report_refused()
            return
        greenlet = getcurrent()
        keepalive = self._keepalive[greenlet] = _RestartableTimeout(self.cfg.keepalive, False)
        self._open_by_address[address] = open_now + 1
        try:
            super().handle(listener, client, addr)
        finally:
            del self._keepalive[greenlet]
            keepalive.close()
            left = self._open_by_address[address] - 1
            if left:
                self._open_by_address[address] = left
            else:
                del self._open_by_address[address]

    def timeout_ctx(self) -> Any:
        """The deadline for the next request head: the connection's own,
        restarted (a new one where the connection has none, as gunicorn's)."""
        keepalive = self._keepalive.get(getcurrent())
        if keepalive is None:
            return super().timeout_ctx()
        return keepalive

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        out = _HeadWithBody(sock)
        try:
            super().handle_request(listener_name, req, out, addr)
            out.flush()
        except StopIteration:
            out.flush()  # the answer, then gunicorn closes the connection
            raise
        finally:
            gevent.sleep(0)  # let the other connections' greenlets run

    def _report_refused(self) -> None:
        self._refused += 1
        now = time.monotonic()
        if now - self._refused_reported_at >= REFUSED_REPORT_SECONDS:
            self.log.warning(
                "refused %d connection(s) of addresses that already had %d open "
                "(TRENT_MAX_CONNECTIONS_PER_ADDRESS)",
                self._refused,
                self._per_address,
            )
            self._refused = 0
            self._refused_reported_at = now


class _RestartableTimeout(gevent.Timeout):  # type: ignore[misc]
    """A silent deadline that a ``with`` block starts and stops, and that the
    next ``with`` block starts again (gevent's own is closed on leaving the
    block: one timer made per use). Closed by its owner when done."""

    def __exit__(self, typ: Any, value: Any, tb: Any) -> bool:
        self.cancel()
        return value is self and self.exception is False  # as gevent's: silent


class _HeadWithBody:
    """A client socket whose answer's head leaves with the start of its body.

    gunicorn sends an answer's status line and headers with one ``sendall``
    and then each piece of the body with another. Trent's answers are one
    piece: held back, the head goes out with it in one send (one system
    call, one TCP segment for the client to read, instead of two). The head
    is held only until the next write, or any other use of the socket
    (``fileno`` for a sendfile, ``close``, ``shutdown``), or the end of the
    request (:meth:`flush`), whichever comes first: what is sent, and in
    what order, is unchanged.
    """

    __slots__ = ("_sock", "_held", "_first")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._held: bytes | None = None
        self._first = True

    def sendall(self, data: bytes) -> None:
        if self._first:  # the head
            self._first = False
            self._held = bytes(data)
            return
        held, self._held = self._held, None
        self._send(data if held is None else held + data)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._send(held)

    def _send(self, data: bytes) -> None:
        # An answer fits the socket's buffer: one send. (gevent's sendall
        # asks the kernel for the buffer's size first, every time.)
        sent = self._sock.send(data)
        if sent < len(data):
            self._sock.sendall(memoryview(data)[sent:])

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._sock, name)


def settle_settings(cfg: Any) -> None:
    """Make every gunicorn setting of ``cfg`` a plain attribute of it.

    gunicorn reads its settings through ``Config.__getattr__``, a lookup in
    its table of settings and a method call each, a dozen times a request
    (the keep-alive, the hooks, the parser's limits, the trusted proxies). A
    worker's settings never change once it runs (a reload replaces the
    workers), so each is read once here and then found as an attribute.
    Settings that gunicorn computes (its properties, such as ``is_ssl``)
    are left as they are.
    """
    for name, setting in cfg.settings.items():
        # Config.__setattr__ refuses setting names ("Invalid access!").
        cfg.__dict__[name] = setting.get()


def remember_per_request_constants(cfg: Any) -> None:
    """Have this worker's gunicorn compute once what it computes the same way
    for every request (its settings are settled: :func:`settle_settings`).

    - the environ's constant part (``base_environ``: the WSGI version and
      flags, the error stream), built once and copied per request;
    - the ``Date`` header's text, formatted once a second (it names whole
      seconds);
    - whether a client address is in ``forwarded_allow_ips`` /
      ``proxy_allow_ips``, remembered per address (gunicorn parses the
      address and searches the networks for every request).

    Each gives exactly what gunicorn's own function gives
    (``tests/unit/test_serving_worker.py``). Applied in the
    worker process only, after the fork.
    """
    base = gunicorn_wsgi.base_environ(cfg)

    def base_environ(_cfg: Any) -> dict[str, Any]:
        return dict(base)

    gunicorn_wsgi.base_environ = base_environ
    gunicorn_util.http_date = _HttpDate()
    gunicorn_message._ip_in_allow_list = _AllowListMemo(gunicorn_message._ip_in_allow_list)


class _HttpDate:
    """gunicorn's ``util.http_date``, formatted at most once a second (the
    header names whole seconds; one hub per worker, so no lock is needed)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._second = -1
        self._text = ""

    def __call__(self, timestamp: float | None = None) -> str:
        if timestamp is not None:
            return email.utils.formatdate(timestamp, localtime=False, usegmt=True)
        second = int(self._clock())
        if second != self._second:
            self._text = email.utils.formatdate(second, localtime=False, usegmt=True)
            self._second = second
        return self._text


class _AllowListMemo:
    """``_ip_in_allow_list(ip, allow_list, networks)`` remembered per address
    and list (``networks`` is gunicorn's parse of ``allow_list``); at most
    :attr:`MOST` answers are kept, then forgotten all at once."""

    MOST = 4096

    def __init__(self, check: Callable[[str, Any, Any], bool]) -> None:
        self._check = check
        self._known: dict[tuple[str, tuple[str, ...]], bool] = {}

    def __call__(self, ip: str, allow_list: Any, networks: Any) -> bool:
        key = (ip, tuple(allow_list))
        known = self._known.get(key)
        if known is None:
            known = bool(self._check(ip, allow_list, networks))
            if len(self._known) >= self.MOST:
                self._known.clear()
            self._known[key] = known
        return known


class _OwnSocketServer(StreamServer):  # type: ignore[misc]
    """gevent's server, accepting every connection waiting on the socket.

    With more than one worker gunicorn has each accept one connection per
    turn of its event loop, so that workers sharing one listening socket
    share its connections. Trent's workers each listen on a socket of their
    own (``reuse_port``: the kernel has spread the connections already), and
    one connection per turn, when a turn runs every ready request, left new
    connections waiting seconds to be accepted: at 256 connections p99 was
    1.8-2.3 s, and 180 ms accepting up to 100 per turn (gevent's default).
    """

    @property
    def max_accept(self) -> int:
        return 100

    @max_accept.setter
    def max_accept(self, _: int) -> None:
        pass  # gunicorn's 1 is for a socket shared by the workers


class BodyDeadline:
    """WSGI middleware: the request body is read, within ``seconds``, before
    ``app`` is called, and handed to it from memory.

    Only bodies the application would read are read here: one whose declared
    length is over ``max_body_bytes`` goes to the application unread (which
    refuses it unread, and gunicorn's ``pre_request`` hook has marked its
    connection to close); of a chunked body at most ``max_body_bytes`` + 1
    bytes are read, enough for the application to see that it is too large.
    A body that has not arrived in time is answered 408; the connection is
    then closed, since the rest of the body is not read either.
    """

    def __init__(self, app: WsgiApp, seconds: float, max_body_bytes: int) -> None:
        self._app = app
        self._seconds = seconds
        self._max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared:
            if not declared.isdigit() or int(declared) > self._max_body_bytes:
                return self._app(environ, start_response)
            wanted = int(declared)
        elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            wanted = self._max_body_bytes + 1
        else:
            wanted = 0
        if wanted == 0:
            return self._app(environ, start_response)
        parts: list[bytes] = []
        deadline = gevent.Timeout(self._seconds)
        deadline.start()
        try:
            _read_up_to(environ["wsgi.input"], wanted, parts)
        except gevent.Timeout as expired:
            if expired is not deadline:
                raise
            return _request_timeout(environ, start_response, self._seconds)
        except OSError as broken:
            # The connection broke mid-body: the application sees the same
            # bytes and then the same error as it would have reading itself.
            environ["wsgi.input"] = _BrokenBody(b"".join(parts), broken)
            return self._app(environ, start_response)
        finally:
            deadline.cancel()
        environ["wsgi.input"] = io.BytesIO(b"".join(parts))
        return self._app(environ, start_response)


def _read_up_to(stream: Any, wanted: int, parts: list[bytes]) -> None:
    """Append to ``parts`` up to ``wanted`` bytes of ``stream`` (fewer if it ends first)."""
    left = wanted
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            return
        parts.append(chunk)
        left -= len(chunk)


class _BrokenBody:
    """A body cut short: the bytes that arrived, then the error that ended it."""

    def __init__(self, data: bytes, error: OSError) -> None:
        self._data = io.BytesIO(data)
        self._error = error

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        if chunk:
            return chunk
        raise self._error


def _request_timeout(
    environ: dict[str, Any], start_response: Callable[..., Any], seconds: float
) -> list[bytes]:
    message = f"the request body did not arrive within {seconds:g} s"
    if environ.get("HTTP_X_AMZ_TARGET"):  # the AWS door's shape of an error
        document: dict[str, Any] = {"__type": "RequestTimeout", "message": message}
        content_type = "application/x-amz-json-1.1"
    else:
        document = {"error": {"code": "RequestTimeout", "message": message}}
        content_type = "application/json"
    body = json.dumps(document).encode()
    start_response(
        "408 Request Timeout",
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


def _cooperative_psycopg2() -> None:
    """Make psycopg2 wait for PostgreSQL through gevent's hub (psycopg2's
    documented wait callback for coroutine libraries) instead of blocking
    the worker for every query."""
    try:
        import psycopg2
        from psycopg2 import extensions
    except ImportError:  # pragma: no cover - psycopg2 is a dependency
        return
    from gevent.socket import wait_read, wait_write

    def wait(connection: Any, timeout: float | None = None) -> None:
        while True:
            state = connection.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                wait_read(connection.fileno(), timeout=timeout)
            elif state == extensions.POLL_WRITE:
                wait_write(connection.fileno(), timeout=timeout)
            else:
                raise psycopg2.OperationalError(f"unexpected state from poll(): {state}")

    extensions.set_wait_callback(wait)
