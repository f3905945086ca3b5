"""Trent's gunicorn worker: the body deadline and the cap per client address."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import pytest
from gunicorn.config import Config

from app.config import Settings
from app.serving.options import gunicorn_options
from app.serving.worker import (
    BodyDeadline,
    TrentWorker,
    _HeadWithBody,
    _RestartableTimeout,
    settle_settings,
)


class _Recorder:
    """A WSGI application that keeps the body it was handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(environ["wsgi.input"].read())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


class _Trickle:
    """A request body that arrives ``size`` bytes per ``pause`` seconds."""

    def __init__(self, data: bytes, *, size: int, pause: float) -> None:
        self._data = io.BytesIO(data)
        self._size = size
        self._pause = pause
        self.read_calls = 0

    def read(self, size: int = -1) -> bytes:
        self.read_calls += 1
        gevent.sleep(self._pause)
        return self._data.read(min(size, self._size) if size >= 0 else self._size)


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, bytes]:
    statuses: list[str] = []
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], body


def test_a_body_that_arrives_in_time_reaches_the_application() -> None:
    recorder = _Recorder()
    app = BodyDeadline(recorder, seconds=5, max_body_bytes=1024)
    environ = {"CONTENT_LENGTH": "10", "wsgi.input": _Trickle(b"0123456789", size=3, pause=0)}
    assert _call(app, environ) == ("200 OK", b"ok")
    assert recorder.bodies == [b"0123456789"]


def test_a_body_that_does_not_arrive_in_time_is_answered_408_without_the_application() -> None:
    recorder = _Recorder()
    app = BodyDeadline(recorder, seconds=0.05, max_body_bytes=1024)
    environ = {"CONTENT_LENGTH": "10", "wsgi.input": _Trickle(b"0123456789", size=1, pause=0.02)}
    status, body = _call(app, environ)
    assert status == "408 Request Timeout"
    assert json.loads(body)["error"]["code"] == "RequestTimeout"
    assert recorder.bodies == []


def test_the_aws_door_gets_its_own_shape_of_408() -> None:
    app = BodyDeadline(_Recorder(), seconds=0.05, max_body_bytes=1024)
    environ = {
        "CONTENT_LENGTH": "10",
        "HTTP_X_AMZ_TARGET": "TrentService.Encrypt",
        "wsgi.input": _Trickle(b"0123456789", size=1, pause=0.02),
    }
    status, body = _call(app, environ)
    assert status == "408 Request Timeout"
    assert json.loads(body)["__type"] == "RequestTimeout"


def test_a_declared_oversized_body_goes_to_the_application_unread() -> None:
    stream = _Trickle(b"x" * 2048, size=2048, pause=0)
    app = BodyDeadline(lambda environ, start: [b""], seconds=5, max_body_bytes=1024)
    environ = {"CONTENT_LENGTH": "2048", "wsgi.input": stream}
    app(environ, lambda *_: None)
    assert stream.read_calls == 0
    assert environ["wsgi.input"] is stream


def test_of_a_chunked_body_at_most_one_byte_over_the_limit_is_read() -> None:
    recorder = _Recorder()
    app = BodyDeadline(recorder, seconds=5, max_body_bytes=100)
    environ = {
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": _Trickle(b"y" * 1000, size=64, pause=0),
    }
    _call(app, environ)
    assert recorder.bodies == [b"y" * 101]


class _Breaks:
    """A request body whose connection breaks after ``data``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, b""
        if data:
            return data
        raise ConnectionResetError("the client went away")


def test_a_broken_body_reaches_the_application_as_it_broke() -> None:
    seen: list[object] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        stream = environ["wsgi.input"]
        seen.append(stream.read(100))
        try:
            stream.read(100)
        except ConnectionResetError as exc:
            seen.append(exc)
        start_response("400 Bad Request", [])
        return [b""]

    app_with_deadline = BodyDeadline(app, seconds=5, max_body_bytes=100)
    environ = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": _Breaks(b"half")}
    assert _call(app_with_deadline, environ)[0] == "400 Bad Request"
    assert seen[0] == b"half"
    assert isinstance(seen[1], ConnectionResetError)


def test_a_request_without_a_body_is_passed_on_as_it_is() -> None:
    recorder = _Recorder()
    stream = io.BytesIO(b"")
    app = BodyDeadline(recorder, seconds=5, max_body_bytes=100)
    environ = {"wsgi.input": stream}
    _call(app, environ)
    assert environ["wsgi.input"] is stream


class _Client:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def worker() -> TrentWorker:
    """A worker with only what :meth:`TrentWorker.handle` uses; the
    connection's own handling (gunicorn's) records who was served."""
    instance = TrentWorker.__new__(TrentWorker)
    instance._per_address = 2
    instance._open_by_address = {}
    instance._refused = 0
    instance._refused_reported_at = 0.0
    instance._keepalive = {}
    instance.cfg = type("Config", (), {"keepalive": 2})()
    instance.log = type("Log", (), {"warning": staticmethod(lambda *args: None)})()
    return instance


def test_connections_over_the_cap_of_one_address_are_closed_at_once(
    worker: TrentWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[str, int]] = []
    events = [gevent.event.Event() for _ in range(4)]

    def handle(self: Any, listener: Any, client: Any, addr: Any) -> None:
        served.append(addr)
        events[len(served) - 1].wait()

    monkeypatch.setattr("gunicorn.workers.ggevent.GeventWorker.handle", handle)
    clients = [_Client() for _ in range(4)]
    addresses = [("10.0.0.1", 1), ("10.0.0.1", 2), ("10.0.0.1", 3), ("10.0.0.2", 4)]
    greenlets = [
        gevent.spawn(worker.handle, None, client, addr)
        for client, addr in zip(clients, addresses, strict=True)
    ]
    gevent.sleep(0)
    assert served == [("10.0.0.1", 1), ("10.0.0.1", 2), ("10.0.0.2", 4)]
    assert [client.closed for client in clients] == [False, False, True, False]
    assert worker._open_by_address == {"10.0.0.1": 2, "10.0.0.2": 1}
    for event in events:
        event.set()
    gevent.joinall(greenlets)
    assert worker._open_by_address == {}
    assert worker._keepalive == {}  # each connection's deadline went with it


def test_settled_settings_read_as_gunicorn_reads_them(tmp_path: Path) -> None:
    config = Config()
    for name, value in gunicorn_options("127.0.0.1:0", 2, Settings(data_dir=tmp_path)).items():
        config.set(name, value)
    before = {name: getattr(config, name) for name in config.settings}
    settle_settings(config)
    assert {name: getattr(config, name) for name in config.settings} == before
    assert config.keepalive == before["keepalive"]
    assert "keepalive" in vars(config)  # an attribute now, not a lookup
    assert not config.is_ssl  # gunicorn's computed settings still work


class _Wire:
    """A client socket that records what the worker does with it."""

    def __init__(self, room: int = 1 << 20) -> None:
        self.calls: list[tuple[str, bytes]] = []
        #: How much one ``send`` takes (a socket's free buffer).
        self.room = room

    def send(self, data: bytes) -> int:
        taken = bytes(data[: self.room])
        self.calls.append(("send", taken))
        return len(taken)

    def sendall(self, data: bytes) -> None:
        self.calls.append(("sendall", bytes(data)))

    def sent(self) -> bytes:
        return b"".join(data for call, data in self.calls if call in ("send", "sendall"))

    def fileno(self) -> int:
        self.calls.append(("fileno", b""))
        return 99


def test_an_answers_head_leaves_with_its_body_in_one_send() -> None:
    wire = _Wire()
    out = _HeadWithBody(wire)
    out.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    assert wire.calls == []
    out.sendall(b"{}")
    out.flush()
    assert wire.calls == [("send", b"HTTP/1.1 200 OK\r\n\r\n{}")]


def test_later_pieces_of_a_body_are_sent_as_they_come() -> None:
    wire = _Wire()
    out = _HeadWithBody(wire)
    for piece in (b"head;", b"one;", b"two;", b"three"):
        out.sendall(piece)
    out.flush()
    assert wire.calls == [("send", b"head;one;"), ("send", b"two;"), ("send", b"three")]


def test_what_one_send_does_not_take_follows_it_in_order() -> None:
    wire = _Wire(room=5)
    out = _HeadWithBody(wire)
    out.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    out.sendall(b'{"a": 1}')
    out.flush()
    assert wire.calls[0] == ("send", b"HTTP/")
    assert [call for call, _ in wire.calls] == ["send", "sendall"]
    assert wire.sent() == b'HTTP/1.1 200 OK\r\n\r\n{"a": 1}'


def test_a_head_without_a_body_and_any_other_use_of_the_socket_send_it_first() -> None:
    wire = _Wire()
    out = _HeadWithBody(wire)
    out.sendall(b"head")
    assert out.fileno() == 99  # e.g. a sendfile: the head must precede it
    out.flush()
    assert wire.calls == [("send", b"head"), ("fileno", b"")]
    lone = _Wire()
    out = _HeadWithBody(lone)
    out.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
    out.flush()
    out.flush()
    assert lone.calls == [("send", b"HTTP/1.1 204 No Content\r\n\r\n")]


@pytest.mark.parametrize("closes", [False, True])
def test_the_worker_sends_a_held_head_before_the_next_request_or_the_close(
    monkeypatch: pytest.MonkeyPatch, closes: bool
) -> None:
    def handle_request(self: Any, listener: Any, req: Any, sock: Any, addr: Any) -> None:
        sock.sendall(b"head")  # gunicorn's Response.send_headers, and no body
        if closes:
            raise StopIteration()

    monkeypatch.setattr("gunicorn.workers.base_async.AsyncWorker.handle_request", handle_request)
    wire = _Wire()
    worker = TrentWorker.__new__(TrentWorker)
    if closes:
        with pytest.raises(StopIteration):
            worker.handle_request(None, None, wire, None)
    else:
        worker.handle_request(None, None, wire, None)
    assert wire.calls == [("send", b"head")]


def test_a_connections_head_deadline_expires_again_after_each_use() -> None:
    """The keep-alive deadline a connection reuses cuts every wait it
    guards, silently (gunicorn then closes the connection), not only the first."""
    deadline = _RestartableTimeout(0.01, False)
    cut = []
    try:
        for _ in range(3):
            with deadline:
                gevent.sleep(60)
                cut.append(False)  # never reached: the deadline ends the block
            cut.append(True)
        with deadline:
            pass  # a head that arrived in time: nothing is cut
        assert not deadline.pending
    finally:
        deadline.close()
    assert cut == [True, True, True]


def _request_bytes(cfg: Config, raw: bytes) -> tuple[dict[str, Any], bytes]:
    """What gunicorn makes of ``raw``: the environ, and the answer's bytes
    (the Date header's value cut out)."""
    from gunicorn.http import wsgi
    from gunicorn.http.parser import RequestParser

    class _Socket:
        def __init__(self) -> None:
            self.incoming = raw
            self.sent = b""

        def recv(self, size: int) -> bytes:
            chunk, self.incoming = self.incoming[:size], self.incoming[size:]
            return chunk

        def send(self, data: bytes) -> int:
            self.sent += data
            return len(data)

        def sendall(self, data: bytes) -> None:
            self.sent += data

    sock = _Socket()
    request = next(RequestParser(cfg, sock, ("10.1.2.3", 40000)))
    response, environ = wsgi.create(request, sock, ("10.1.2.3", 40000), ("127.0.0.1", 8000), cfg)
    body = environ["wsgi.input"].read()
    response.start_response("200 OK", [("Content-Length", str(len(body)))])
    response.write(body)
    response.close()
    head, _, rest = sock.sent.partition(b"Date: ")
    return environ, head + rest[rest.index(b"\r\n") :]


def test_the_constants_a_worker_remembers_change_nothing_gunicorn_makes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gunicorn import util
    from gunicorn.http import message, wsgi

    from app.serving.worker import remember_per_request_constants

    patched = ((wsgi, "base_environ"), (util, "http_date"), (message, "_ip_in_allow_list"))
    originals = [(module, name, getattr(module, name)) for module, name in patched]
    raw = (
        b"POST /v1/keys/k/encrypt?x=1 HTTP/1.1\r\nHost: trent.example:8000\r\n"
        b"X-Forwarded-Proto: https\r\nX-Forwarded-For: 192.0.2.7\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    for allowed in ("127.0.0.1", "10.0.0.0/8", "*"):
        for module, name, original in originals:  # gunicorn's own (restored after the test)
            monkeypatch.setattr(module, name, original)
        cfg = Config()
        cfg.set("forwarded_allow_ips", allowed)
        settle_settings(cfg)
        before_environ, before_answer = _request_bytes(cfg, raw)
        remember_per_request_constants(cfg)
        for _ in range(2):  # the second time from what was remembered
            environ, answer = _request_bytes(cfg, raw)
            assert answer == before_answer
            assert environ.keys() == before_environ.keys()
            for name, value in environ.items():
                if name not in {"wsgi.errors", "wsgi.input", "wsgi.early_hints", "gunicorn.socket"}:
                    assert value == before_environ[name], name
            assert environ["wsgi.url_scheme"] == ("http" if allowed == "127.0.0.1" else "https")
            environ["wsgi.version"] = (9, 9)  # each request has an environ of its own


def test_the_date_header_is_the_time_of_its_second() -> None:
    from gunicorn import util

    from app.serving.worker import _HttpDate

    original = util.http_date
    moments = iter((1_780_000_000.2, 1_780_000_000.9, 1_780_000_001.0, 1_780_000_059.5))
    now = 0.0

    def clock() -> float:
        return now

    http_date = _HttpDate(clock)
    for now in moments:
        assert http_date() == original(now)
    assert http_date(1_000_000_000.5) == original(1_000_000_000.5)


def test_the_allow_list_memo_answers_as_gunicorn_and_stays_bounded() -> None:
    from gunicorn.http import message

    from app.serving.worker import _AllowListMemo

    memo = _AllowListMemo(message._ip_in_allow_list)
    memo.MOST = 8
    cfg = Config()
    cfg.set("forwarded_allow_ips", "10.0.0.0/8,192.0.2.1")
    allow = cfg.forwarded_allow_ips
    networks = cfg.forwarded_allow_networks()
    addresses = ["10.1.1.1", "11.0.0.1", "192.0.2.1", "192.0.2.2", "not an address", "::1"]
    for _ in range(3):
        for ip in addresses + [f"10.0.0.{n}" for n in range(20)]:
            assert memo(ip, allow, networks) is message._ip_in_allow_list(ip, allow, networks)
            assert memo(ip, ["*"], []) is True
    assert len(memo._known) <= 8
