"""Clients that send their requests slowly do not stop the others being answered.

Each of 200 connections sends a request line and its ``Host`` header, then
nothing more. A server that gives a connection a thread until its request
has arrived (gunicorn's ``gthread`` worker, which ``trent serve`` ran until
6 December: 2 workers x 8 threads) is out of threads after 16 of them, and a
normal request waits for ever; Trent's gevent worker holds a greenlet for
each and answers the normal request beside them.

The slow connections come from other loopback addresses than the normal
client: Trent caps the connections of one client address per worker
(``TRENT_MAX_CONNECTIONS_PER_ADDRESS``), and this test is about starvation,
not about that cap.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.conftest import Server, wait_for

SLOW_CONNECTIONS = 200
#: The slow connections' addresses (50 from each): under the per-address cap.
SLOW_SOURCES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")


def _accept_queue(port: int) -> int | None:
    """Connections waiting to be accepted on the listening sockets of ``port``
    (their ``rx_queue`` in /proc/net/tcp), or ``None`` if none listens."""
    waiting = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, queues = fields[1], fields[3], fields[4]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            waiting = (waiting or 0) + int(queues.split(":")[1], 16)
    return waiting


@contextmanager
def _slow_connections(host: str, port: int) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        opened = []
        for number in range(SLOW_CONNECTIONS):
            source = SLOW_SOURCES[number % len(SLOW_SOURCES)]
            sock = stack.enter_context(
                socket.create_connection((host, port), timeout=10, source_address=(source, 0))
            )
            sock.sendall(f"POST /v1/keys/slow/encrypt HTTP/1.1\r\nHost: {host}\r\n".encode())
            opened.append(sock)
        yield opened


def test_200_slow_connections_do_not_stop_a_normal_client(server: Server) -> None:
    token = server.token("--root")
    key = server.rest("POST", "/v1/keys", token, {})
    assert isinstance(key, dict)
    key_id = key["KeyMetadata"]["KeyId"]
    address = urlsplit(server.url)
    assert address.hostname and address.port
    with _slow_connections(address.hostname, address.port):
        # Every slow connection has been accepted by a worker (and, on a
        # threaded server, has taken a thread) before the normal request.
        assert wait_for(lambda: _accept_queue(address.port or 0) == 0, 30)
        plaintext = base64.b64encode(b"answered beside slow clients").decode()
        # Server.rest waits 10 s for the answer; 30 s in all is the bound.
        answer = None
        for _ in range(3):
            try:
                answer = server.rest(
                    "POST", f"/v1/keys/{key_id}/encrypt", token, {"Plaintext": plaintext}
                )
                break
            except TimeoutError:
                continue
        assert isinstance(answer, dict), "no answer within 30 s beside 200 slow connections"
        assert answer["CiphertextBlob"]
