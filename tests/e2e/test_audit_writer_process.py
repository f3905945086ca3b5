"""The audit writer process of `trent serve`: the workers' events go through it,
killing it costs no request and no event (the workers append by themselves
until it is back), and it is restarted."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

from tests.e2e.conftest import TRENT, Server, helper_pids, wait_for, writer_pids


def encrypt(server: Server, token: str, key_id: str) -> None:
    body = {"Plaintext": base64.b64encode(os.urandom(32)).decode()}
    answer = server.rest("POST", f"/v1/keys/{key_id}/encrypt", token, body)
    assert isinstance(answer, dict) and answer["CiphertextBlob"]


def test_killing_the_writer_costs_no_request_and_it_comes_back(server: Server) -> None:
    socket_path = server.data_dir / "audit-writer.sock"
    assert wait_for(socket_path.exists, 60), "no audit writer socket"
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
    assert wait_for(lambda: not Path(f"/proc/{before[0]}/cmdline").exists(), 60)
    for _ in range(20):  # while it is away, and while it restarts
        encrypt(server, token, key_id)
    assert wait_for(lambda: writer_pids(server.data_dir) not in ([], before), 60)
    assert wait_for(socket_path.exists, 60)
    for _ in range(5):
        encrypt(server, token, key_id)

    # Every request above left exactly one event, and the chain is whole.
    verified = subprocess.run(
        [TRENT, "audit", "verify"], env=server.env, capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_checkpointer_signs_and_ctrl_c_stops_everything_at_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENT_")}
    env.update(
        {
            "TRENT_DATA_DIR": str(data_dir),
            "TRENT_BIND": f"127.0.0.1:{port}",
            "TRENT_SCHEDULER_INTERVAL": "1",
        }
    )
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    log_path = tmp_path / "server.log"
    exported = data_dir / "audit-checkpoints.jsonl"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [TRENT, "serve", "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            server = Server(url=f"http://127.0.0.1:{port}", env=env, data_dir=data_dir)
            assert wait_for(lambda: (data_dir / "audit-writer.sock").exists(), 20)
            assert wait_for(lambda: _ready(server.url), 20)
            token = server.token("--root")
            created = server.rest("POST", "/v1/keys", token, {})
            assert isinstance(created, dict)
            for _ in range(3):
                encrypt(server, token, created["KeyMetadata"]["KeyId"])
            # The checkpointer process signs a checkpoint over those events.
            assert len(helper_pids(data_dir, b"audit-checkpointer")) == 1
            assert wait_for(lambda: exported.exists() and exported.read_text().strip(), 20)
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
            # A generous bound for a loaded machine; "at once" is shown below by
            # nothing having been killed on a timeout (gunicorn's graceful
            # timeout ends in SIGKILL, so does a helper's stop), never by a clock.
            process.wait(timeout=120)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    text = log_path.read_text(errors="replace")
    for sign_of_a_timeout in ("SIGKILL", "killing it", "restarting", "Traceback"):
        assert sign_of_a_timeout not in text, text
    assert process.returncode == 0, text
    assert wait_for(lambda: not writer_pids(data_dir), 60)
    assert wait_for(lambda: not helper_pids(data_dir, b"audit-checkpointer"), 60)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False
