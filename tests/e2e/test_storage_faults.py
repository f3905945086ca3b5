"""Faults under a serving `trent serve` (SQLite): the database file renamed
away while a worker restarts, the database made unwritable, the audit writer
frozen (SIGSTOP). Eight clients encrypt throughout and record every answer;
afterwards every acknowledged request (200) has its audit event (matched by
``X-Request-Id``) and the chain verifies. ``/readyz`` is not 200 while the
fault lasts and 200 once it is over; every 503 carries ``Retry-After``."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import TRENT, Server, _free_port, helper_pids, wait_for, writer_pids

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CLIENTS = 8
#: Shorter than the writer's answer timeout (30 s): a client that waits this
#: long for an answer gives up and records a time-out.
CLIENT_TIMEOUT = 20.0


@dataclass
class Answer:
    status: int  # 0: no answer (time-out or connection error)
    request_id: str
    retry_after: str | None


@dataclass
class Load:
    """Clients encrypting concurrently until stopped; every answer recorded."""

    server: Server
    token: str
    key_id: str
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for _ in range(CLIENTS):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT + 10)

    def count(self, status: int) -> int:
        with self._lock:
            return sum(1 for answer in self.answers if answer.status == status)

    def _run(self) -> None:
        deadline = time.monotonic() + 240  # bounded whatever happens
        while not self._stop.is_set() and time.monotonic() < deadline:
            answer = self._encrypt()
            with self._lock:
                self.answers.append(answer)
            if answer.status != 200:
                time.sleep(0.05)

    def _encrypt(self) -> Answer:
        body = json.dumps({"Plaintext": base64.b64encode(os.urandom(32)).decode()}).encode()
        request = urllib.request.Request(
            f"{self.server.url}/v1/keys/{self.key_id}/encrypt", data=body, method="POST"
        )
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:  # noqa: S310
                response.read()
                return Answer(
                    response.status,
                    response.headers.get("X-Request-Id", ""),
                    response.headers.get("Retry-After"),
                )
        except urllib.error.HTTPError as error:
            return Answer(
                error.code, error.headers.get("X-Request-Id", ""), error.headers.get("Retry-After")
            )
        except OSError:
            return Answer(0, "", None)


def readyz(server: Server) -> int:
    try:
        with urllib.request.urlopen(server.url + "/readyz", timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


@contextmanager
def serving(tmp_path: Path) -> Iterator[tuple[Server, subprocess.Popen[bytes]]]:
    data_dir = tmp_path / "var"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRENT_", "AWS_"))}
    env.update(
        {
            "TRENT_DATA_DIR": str(data_dir),
            "TRENT_BIND": f"127.0.0.1:{port}",
            "TRENT_SCHEDULER_INTERVAL": "0",
        }
    )
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [TRENT, "serve", "--workers", "2", "--threads", "4"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = Server(url=f"http://127.0.0.1:{port}", env=env, data_dir=data_dir)
        try:
            assert wait_for(lambda: (data_dir / "audit-writer.sock").exists(), 60)
            assert wait_for(lambda: readyz(server) == 200, 60), log_path.read_text()
            yield server, process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    for pid in writer_pids(data_dir):  # a writer left STOPped by a failed run
        os.kill(pid, signal.SIGKILL)


def worker_pids(server_pid: int, data_dir: Path) -> list[int]:
    helpers = set(writer_pids(data_dir)) | set(helper_pids(data_dir, b"audit-checkpointer"))
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server_pid and int(entry.name) not in helpers:
            found.append(int(entry.name))
    return found


def start_load(server: Server) -> Load:
    token = server.token("--root")
    created = server.rest("POST", "/v1/keys", token, {})
    assert isinstance(created, dict)
    load = Load(server, token, created["KeyMetadata"]["KeyId"])
    load.start()
    assert wait_for(lambda: load.count(200) >= 20, 60), "the load never got going"
    return load


def check_outcomes(server: Server, process: subprocess.Popen[bytes], load: Load) -> None:
    """Stop the load and the server; then the oracle."""
    load.stop()
    process.terminate()
    process.wait(timeout=60)
    answers = list(load.answers)
    unavailable = [a for a in answers if a.status == 503]
    assert all(a.retry_after for a in unavailable), "a 503 without Retry-After"
    # 0: a connection cut (a killed worker's requests in flight).
    assert not [a for a in answers if a.status not in (0, 200, 503)], sorted(
        {a.status for a in answers}
    )
    exported = subprocess.run(
        [TRENT, "audit", "export", "--operation", "Encrypt"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    audited = {json.loads(line)["requestID"] for line in exported.stdout.splitlines()}
    acknowledged = {a.request_id for a in answers if a.status == 200}
    assert "" not in acknowledged
    missing = acknowledged - audited
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged requests unaudited"
    verified = subprocess.run(
        [TRENT, "audit", "verify"], env=server.env, capture_output=True, text=True, timeout=120
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def not_ready_everywhere(server: Server) -> bool:
    """Several probes (new connections, spread over the workers) all not 200."""
    return all(readyz(server) != 200 for _ in range(8))


def test_renaming_the_database_away_fails_closed_until_it_is_back(tmp_path: Path) -> None:
    with serving(tmp_path) as (server, process):
        database = server.data_dir / "trent.db"
        moved = server.data_dir / "trent.db.moved"
        load = start_load(server)
        try:
            database.rename(moved)
            workers = worker_pids(process.pid, server.data_dir)
            assert workers
            os.kill(workers[0], signal.SIGKILL)  # its replacement opens new connections
            assert wait_for(
                lambda: set(worker_pids(process.pid, server.data_dir)) - set(workers), 60
            )
            assert wait_for(lambda: readyz(server) != 200, 60), "readyz 200 without the database"
            assert not_ready_everywhere(server)
            served = load.count(503)
            assert wait_for(lambda: load.count(503) > served + 10, 60), "requests still served"
            # Nothing opened a new, empty database in its place.
            assert not database.exists()
        finally:
            if moved.exists() and not database.exists():
                moved.rename(database)
        assert wait_for(lambda: readyz(server) == 200, 60), "not ready after the file came back"
        served = load.count(200)
        assert wait_for(lambda: load.count(200) > served + 20, 60), "no request served after"
        check_outcomes(server, process, load)


def _chattr(flag: str, *paths: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True)
    return done.returncode == 0


def test_an_unwritable_database_is_not_ready_and_nothing_unaudited_is_acknowledged(
    tmp_path: Path,
) -> None:
    with serving(tmp_path) as (server, process):
        files = [server.data_dir / "trent.db", server.data_dir / "trent.db-wal"]
        load = start_load(server)
        assert all(path.exists() for path in files)
        if not _chattr("+i", *files):
            load.stop()
            pytest.skip("chattr +i is not possible here (needs root and a supporting filesystem)")
        try:
            assert wait_for(lambda: readyz(server) != 200, 60), "readyz 200 while unwritable"
            assert not_ready_everywhere(server)
            failed = load.count(503)
            assert wait_for(lambda: load.count(503) > failed + 10, 60)
        finally:
            _chattr("-i", *files)
        assert wait_for(lambda: readyz(server) == 200, 60), "not ready once writable again"
        served = load.count(200)
        assert wait_for(lambda: load.count(200) > served + 20, 60), "no request served after"
        check_outcomes(server, process, load)


def test_a_frozen_audit_writer_is_replaced_and_requests_fail_fast(tmp_path: Path) -> None:
    with serving(tmp_path) as (server, process):
        load = start_load(server)
        (frozen,) = writer_pids(server.data_dir)
        os.kill(frozen, signal.SIGSTOP)
        try:
            # The master notices and replaces it, without a SIGCONT.
            assert wait_for(lambda: not Path(f"/proc/{frozen}").exists(), 60), "never replaced"
            assert wait_for(lambda: writer_pids(server.data_dir) not in ([], [frozen]), 60)
        finally:
            if Path(f"/proc/{frozen}").exists():
                os.kill(frozen, signal.SIGCONT)
        assert wait_for(lambda: readyz(server) == 200, 60)
        served = load.count(200)
        assert wait_for(lambda: load.count(200) > served + 20, 60), "no request served after"
        # No client waited out its time-out: each got an answer.
        assert load.count(0) == 0, "clients timed out waiting for a frozen writer"
        check_outcomes(server, process, load)
