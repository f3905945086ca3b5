"""`trent serve` spreads connections over its workers: each worker listens on
a socket of its own (SO_REUSEPORT), and a second server on the same address
is refused rather than sharing the port."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.conftest import TRENT, Server


def listening_sockets(port: int) -> int:
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def test_each_worker_listens_on_its_own_socket(server: Server) -> None:
    port = urlsplit(server.url).port
    assert port is not None
    assert listening_sockets(port) == 2  # the e2e server runs two workers


def test_a_second_server_on_the_same_address_is_refused(server: Server) -> None:
    started = subprocess.run(
        [TRENT, "serve", "--workers", "1"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "cannot listen on" in started.stderr
