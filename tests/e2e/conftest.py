"""A real Trent server process (gunicorn, SQLite) for end-to-end tests, and
access keys for a few principals, made through its REST door."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACCOUNT = "111122223333"
TRENT = str(Path(sys.executable).with_name("trent"))


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]
    data_dir: Path

    def token(self, *args: str) -> str:
        return subprocess.run(
            [TRENT, "token", "issue", "--account", ACCOUNT, *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def rest(self, method: str, path: str, token: str, body: object | None = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def access_key(self, *principal: str) -> tuple[str, str]:
        created = self.rest("POST", "/v1/access-keys", self.token(*principal))
        assert isinstance(created, dict)
        key = created["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], data_dir: Path, workers: int = 2) -> Iterator[Server]:
    """``trent serve`` on the data directory ``env`` names (already initialised),
    until the block ends; its output goes to ``server.log`` beside the data
    directory."""
    port = _free_port()
    env = {**env, "TRENT_BIND": f"127.0.0.1:{port}"}
    log_path = data_dir.parent / "server.log"
    log = open(log_path, "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [TRENT, "serve", "--workers", str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
    while True:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                log.close()
                raise RuntimeError(
                    "the server did not start:\n" + log_path.read_text(errors="replace")
                ) from None
            time.sleep(0.2)
    try:
        yield Server(url=url, env=env, data_dir=data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    # Stopping the server stops its audit writer too: nothing is left running.
    deadline = time.monotonic() + 60
    while writer_pids(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not writer_pids(data_dir), "the audit writer outlived the server"


def clean_env(**trent: str) -> dict[str, str]:
    """This process's environment without any TRENT_ or AWS_ variable, plus ``trent``."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("TRENT_", "AWS_"))
    }
    env.update(trent)
    return env


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("e2e") / "var"
    env = clean_env(TRENT_DATA_DIR=str(data_dir), TRENT_SCHEDULER_INTERVAL="0")
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    with serving(env, data_dir) as running:
        yield running


def wait_for(condition: Callable[[], object], seconds: float) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass (a generous bound,
    never a timing assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def writer_pids(data_dir: Path) -> list[int]:
    """Running `trent audit-writer` processes serving ``data_dir``."""
    return helper_pids(data_dir, b"audit-writer")


def helper_pids(data_dir: Path, command: bytes) -> list[int]:
    """Running `trent <command>` processes serving ``data_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if command in argv and f"TRENT_DATA_DIR={data_dir}".encode() in environ:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="session")
def aws_env(server: Server) -> dict[str, str]:
    """Environment for AWS clients in a subprocess: no config files, the
    account root's access key, and the KMS endpoint pointed at Trent."""
    akid, secret = server.access_key("--root")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRENT_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": akid,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL_KMS": server.url,
        }
    )
    return env


def kms_client(server: Server, akid: str, secret: str) -> Any:
    """A boto3 KMS client of ``server`` signing with the access key ``akid``."""
    import boto3

    return boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=akid,
        aws_secret_access_key=secret,
    )
