"""Backup, lose the data directory, restore: the restore proves itself.

A real server serves while ``trent backup`` copies the host; the data
directory is then destroyed, ``trent restore`` puts the backup back (the
root key and the issuer's signing key come from where they were kept
apart), ``trent audit verify`` passes, and a new server decrypts the old
ciphertext for the old token."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ACCOUNT, TRENT, clean_env, serving

pytestmark = pytest.mark.e2e


def trent(
    env: dict[str, str], *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([TRENT, *args], env=env, input=stdin, capture_output=True, timeout=120)


def test_backup_destroy_restore_verify_and_decrypt(tmp_path: Path) -> None:
    keep = tmp_path / "kept-apart"
    keep.mkdir(mode=0o700)
    data_dir = tmp_path / "var"
    env = clean_env(
        TRENT_DATA_DIR=str(data_dir),
        TRENT_ROOT_KEY_FILE=str(keep / "root.key"),
        TRENT_SCHEDULER_INTERVAL="0",
    )
    assert trent(env, "init").returncode == 0
    shutil.copy2(data_dir / "issuer" / "signing_key.pem", keep / "signing_key.pem")
    root = trent(env, "token", "issue", "--account", ACCOUNT, "--root").stdout.decode().strip()

    with serving(env, data_dir, workers=1) as server:
        client = {**server.env, "TRENT_URL": server.url, "TRENT_TOKEN": root}
        created = trent(client, "keys", "create", "--description", "survives")
        assert created.returncode == 0, created.stderr
        key_id = json.loads(created.stdout)["KeyMetadata"]["KeyId"]
        assert trent(client, "aliases", "create", "alias/survivor", key_id).returncode == 0
        blob = trent(client, "encrypt", "alias/survivor", "--context", "a=b", stdin=b"secret")
        assert blob.returncode == 0, blob.stderr
        backed_up = trent(server.env, "backup", str(tmp_path / "backup"))
        assert backed_up.returncode == 0, backed_up.stderr

    shutil.rmtree(data_dir)
    restored = trent(
        env,
        "restore",
        str(tmp_path / "backup"),
        "--issuer-signing-key",
        str(keep / "signing_key.pem"),
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert b"OK: the audit log verifies" in restored.stdout
    verified = trent(env, "audit", "verify")
    assert verified.returncode == 0, verified.stdout
    assert b"OK: the audit log verifies" in verified.stdout

    with serving(env, data_dir, workers=1) as server:
        client = {**server.env, "TRENT_URL": server.url, "TRENT_TOKEN": root}
        decrypted = trent(client, "decrypt", "--context", "a=b", stdin=blob.stdout)
        assert decrypted.returncode == 0, decrypted.stderr
        assert decrypted.stdout == b"secret"
        described = trent(client, "keys", "describe", "alias/survivor")
        assert json.loads(described.stdout)["KeyMetadata"]["KeyId"] == key_id
    # The server signed checkpoints on top of the restored log, and it still verifies.
    assert trent(env, "audit", "verify").returncode == 0
