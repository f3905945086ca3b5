"""A cut tail of the audit log is caught once `trent serve` has stopped: the
checkpointer signs a checkpoint over every event on its way out, and writes
it outside the database, so an attacker with write access to the database
cannot delete the last events (and the checkpoints that cover them) and
rewind the chain head without `trent audit verify` saying so."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

from tests.e2e.conftest import TRENT, Server, helper_pids, wait_for
from tests.e2e.test_audit_writer_process import _ready, encrypt


def _cut_tail(database: Path, keep: int) -> None:
    """Delete the events after ``keep`` and every checkpoint that reaches past
    it, and rewind the chain head, as someone with database access would."""
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM audit_event WHERE seq > ?", (keep,))
        db.execute("DELETE FROM audit_checkpoint WHERE last_seq > ?", (keep,))
        entry_hash, recorded_at = db.execute(
            "SELECT entry_hash, recorded_at FROM audit_event WHERE seq = ?", (keep,)
        ).fetchone()
        db.execute(
            "UPDATE audit_head SET last_seq = ?, head_hash = ?, recorded_at = ?",
            (keep, entry_hash, recorded_at),
        )


def _verify(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRENT, "audit", "verify", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_tail_cut_after_shutdown_is_caught_with_and_without_checkpoints(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRENT_", "AWS_"))}
    env.update({"TRENT_DATA_DIR": str(data_dir), "TRENT_BIND": f"127.0.0.1:{port}"})
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    exported = data_dir / "audit-checkpoints.jsonl"
    backup = tmp_path / "backup-checkpoints.jsonl"
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [TRENT, "serve", "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            server = Server(url=f"http://127.0.0.1:{port}", env=env, data_dir=data_dir)
            assert wait_for(lambda: _ready(server.url), 30), log_path.read_text()
            assert wait_for(lambda: helper_pids(data_dir, b"audit-checkpointer"), 30)
            token = server.token("--root")
            created = server.rest("POST", "/v1/keys", token, {})
            assert isinstance(created, dict)
            for _ in range(3):
                encrypt(server, token, created["KeyMetadata"]["KeyId"])
            # The checkpointer signs soon after the log grew (and so is running).
            assert wait_for(lambda: exported.exists() and exported.read_text().strip(), 30)
            shutil.copyfile(exported, backup)  # an operator's copy, taken while it runs
            for _ in range(2):
                encrypt(server, token, created["KeyMetadata"]["KeyId"])
            process.send_signal(signal.SIGTERM)  # `kill`, or systemd with KillMode=mixed
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert wait_for(lambda: not helper_pids(data_dir, b"audit-checkpointer"), 20)

    untouched = _verify(env)
    assert untouched.returncode == 0, untouched.stdout + untouched.stderr
    with sqlite3.connect(data_dir / "trent.db") as db:
        (head,) = db.execute("SELECT last_seq FROM audit_head").fetchone()
    assert head >= 6  # CreateKey and five Encrypts

    _cut_tail(data_dir / "trent.db", head - 2)

    for args in ((), ("--checkpoints", str(backup))):
        result = _verify(env, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "truncated" in result.stdout, result.stdout
        assert f"up to {head}" in result.stdout, result.stdout
