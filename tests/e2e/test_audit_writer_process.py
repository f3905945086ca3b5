"""The audit writer process of `trent serve`: the workers' events go through it,
killing it costs no request and no event (the workers append by themselves
until it is back), and it is restarted."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.conftest import TRENT, Server, writer_pids


def encrypt(server: Server, token: str, key_id: str) -> None:
    body = {"Plaintext": base64.b64encode(os.urandom(32)).decode()}
    answer = server.rest("POST", f"/v1/keys/{key_id}/encrypt", token, body)
    assert isinstance(answer, dict) and answer["CiphertextBlob"]


def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_killing_the_writer_costs_no_request_and_it_comes_back(server: Server) -> None:
    socket_path = server.data_dir / "audit-writer.sock"
    assert wait_for(socket_path.exists, 10), "no audit writer socket"
    before = writer_pids(server.data_dir)
    assert len(before) == 1, before
    token = server.token("--root")
    created = server.rest("POST", "/v1/keys", token, {})
    assert isinstance(created, dict)
    key_id = created["KeyMetadata"]["KeyId"]
    for _ in range(5):
        encrypt(server, token, key_id)

    os.kill(before[0], signal.SIGKILL)
    # A request in flight at the moment it dies gets 503 (its event's fate is
    # unknown); once it is gone, none does.
    assert wait_for(lambda: not Path(f"/proc/{before[0]}/cmdline").exists(), 10)
    for _ in range(20):  # while it is away, and while it restarts
        encrypt(server, token, key_id)
    assert wait_for(lambda: writer_pids(server.data_dir) not in ([], before), 15)
    assert wait_for(socket_path.exists, 10)
    for _ in range(5):
        encrypt(server, token, key_id)

    # Every request above left exactly one event, and the chain is whole.
    verified = subprocess.run(
        [TRENT, "audit", "verify"], env=server.env, capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
