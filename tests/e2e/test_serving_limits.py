"""The limits `trent serve` puts on a client, each set by its ``TRENT_*`` setting:
connections per client address, the deadline for a request head, the deadline
for a body, and the sizes of the request line and headers.

Each test reads its outcome from what the server does to a connection (closes
it, answers 408 or 400); the generous bounds are only there so that a broken
server fails instead of hanging."""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import TRENT, wait_for

#: The clients of these tests come from their own loopback address.
CLIENT = "127.0.0.7"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(directory: Path, settings: dict[str, str]) -> Iterator[int]:
    """A one-worker `trent serve` with ``settings``; yields its port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRENT_", "AWS_"))}
    env.update(
        {
            "TRENT_DATA_DIR": str(directory / "var"),
            "TRENT_BIND": f"127.0.0.1:{port}",
            "TRENT_SCHEDULER_INTERVAL": "0",
            **settings,
        }
    )
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    with open(directory / "server.log", "wb") as log:
        process = subprocess.Popen(
            [TRENT, "serve", "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:

            def ready() -> bool:
                try:
                    url = f"http://127.0.0.1:{port}/healthz"
                    with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310
                        return bool(answer.status == 200)
                except OSError:
                    return False

            assert wait_for(ready, 30), (directory / "server.log").read_text(errors="replace")
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    settings = {
        "TRENT_MAX_CONNECTIONS_PER_ADDRESS": "4",
        "TRENT_KEEPALIVE_SECONDS": "120",
        "TRENT_BODY_TIMEOUT_SECONDS": "1",
    }
    with _server(tmp_path_factory.mktemp("limits"), settings) as found:
        yield found


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(CLIENT, 0))


def _closed(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (without waiting for it)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.setblocking(True)


def _answer(sock: socket.socket, request: bytes) -> bytes:
    """The status line of the server's answer to ``request``."""
    sock.sendall(request)
    return sock.recv(4096).split(b"\r\n", 1)[0]


def test_connections_of_one_address_over_the_cap_are_closed_at_once(port: int) -> None:
    with ExitStack() as stack:
        opened = [stack.enter_context(_connect(port)) for _ in range(10)]
        # The first four are the address's allowance; the six after them are
        # closed without a word (the head deadline, 120 s, is far off).
        assert wait_for(lambda: sum(_closed(sock) for sock in opened) == 6, 30)
        assert [_closed(sock) for sock in opened[:4]] == [False] * 4
        # Another address is not affected.
        status = _answer(
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=30)),
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        assert status == b"HTTP/1.1 200 OK"


def test_a_body_that_does_not_arrive_in_time_is_answered_408(port: int) -> None:
    with _connect(port) as sock:
        head = b"POST /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
        assert _answer(sock, head) == b"HTTP/1.1 408 Request Timeout"


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(101)) + b"\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9300 + b"\r\n\r\n",
    ],
    ids=["request line over 8190", "101 header fields", "a header over 9216 bytes"],
)
def test_request_heads_over_the_limits_are_refused(port: int, request_head: bytes) -> None:
    with _connect(port) as sock:
        status = _answer(sock, request_head)
    assert status.split(b" ")[1] in (b"400", b"414", b"431")


@pytest.mark.parametrize("answered_first", [0, 2])
def test_a_request_head_that_does_not_arrive_in_time_closes_the_connection(
    tmp_path: Path, answered_first: int
) -> None:
    """Also after requests answered on the same connection: its deadline
    is started again for every request head."""
    with _server(tmp_path, {"TRENT_KEEPALIVE_SECONDS": "1"}) as found, _connect(found) as sock:
        for _ in range(answered_first):
            assert _answer(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").startswith(
                b"HTTP/1.1 200"
            )
        sock.sendall(b"POST /v1/keys HTTP/1.1\r\nHost: x\r\n")
        assert wait_for(lambda: _closed(sock), 30)
