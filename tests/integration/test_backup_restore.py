"""``trent backup`` and ``trent restore`` on a host whose application runs in
this process: what a backup holds, a restore that proves itself, and every
refusal leaving the host as it was."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from app import create_app
from app.auth.local_issuer import LocalIssuer
from app.cli import main as trent
from app.config import Settings, load_settings
from app.crypto.root_key import FileRootKeyProvider
from app.store.migrate import known_migrations
from tests.conftest import ACCOUNT, b64, bearer, unb64


@dataclass
class Host:
    """A data directory whose root key and issuer signing key are also kept apart."""

    env: dict[str, str]
    data_dir: Path
    keep: Path

    @property
    def settings(self) -> Settings:
        return load_settings(self.env)

    def trent(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(trent, list(args), env=self.env)
        return result.exit_code, result.stdout, result.stderr

    def app(self) -> Flask:
        return create_app(self.settings)

    def root(self) -> dict[str, str]:
        return bearer(LocalIssuer.load(self.settings).mint(ACCOUNT, root=True))

    def destroy(self) -> None:
        shutil.rmtree(self.data_dir)


@pytest.fixture
def host(tmp_path: Path) -> Host:
    keep = tmp_path / "keep"
    keep.mkdir(mode=0o700)
    env = {
        "TRENT_DATA_DIR": str(tmp_path / "var"),
        "TRENT_ROOT_KEY_FILE": str(keep / "root.key"),
        "TRENT_SCHEDULER_INTERVAL": "0",
    }
    made = Host(env, tmp_path / "var", keep)
    code, out, err = made.trent("init")
    assert code == 0, out + err
    shutil.copy2(made.data_dir / "issuer" / "signing_key.pem", keep / "signing_key.pem")
    return made


def encrypt(app: Flask, headers: dict[str, str], plaintext: bytes) -> tuple[str, str]:
    """A new key and a ciphertext under it."""
    client = app.test_client()
    created = client.post("/v1/keys", json={"Description": "backed up"}, headers=headers)
    key_id = created.get_json()["KeyMetadata"]["KeyId"]
    encrypted = client.post(
        f"/v1/keys/{key_id}/encrypt", json={"Plaintext": b64(plaintext)}, headers=headers
    )
    assert encrypted.status_code == 200
    blob: str = encrypted.get_json()["CiphertextBlob"]
    return key_id, blob


def decrypt(app: Flask, headers: dict[str, str], blob: str) -> bytes:
    answer = app.test_client().post("/v1/decrypt", json={"CiphertextBlob": blob}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return unb64(answer.get_json()["Plaintext"])


def test_a_backup_restored_into_an_empty_data_directory_verifies_and_decrypts(
    host: Host, tmp_path: Path
) -> None:
    app, root = host.app(), host.root()
    key_id, blob = encrypt(app, root, b"kept safe")
    assert host.trent("audit", "checkpoint")[0] == 0
    encrypt(app, root, b"after the checkpoint")

    code, out, err = host.trent("backup", str(tmp_path / "backup"))
    assert code == 0, out + err
    assert "not in it: the root key" in err
    backup = tmp_path / "backup"
    manifest = json.loads((backup / "manifest.json").read_text())
    assert sorted(manifest["files"]) == [
        "audit-checkpoints.jsonl",
        "issuer/issuer.json",
        "issuer/public_key.pem",
        "trent.db",
    ]
    assert manifest["database"]["migrations"] == known_migrations()
    assert manifest["audit"]["newestCheckpoint"]["checkpointNo"] == 1
    assert manifest["audit"]["headSeq"] > manifest["audit"]["newestCheckpoint"]["lastSeq"]
    assert "not in the backup" in manifest["rootKey"]
    assert not list(backup.rglob("*.key")) and not list(backup.rglob("signing_key.pem"))
    assert sorted(p.name for p in backup.iterdir()) == sorted(
        ["manifest.json", "trent.db", "audit-checkpoints.jsonl", "issuer"]
    )

    host.destroy()
    code, out, err = host.trent(
        "restore", str(backup), "--issuer-signing-key", str(host.keep / "signing_key.pem")
    )
    assert code == 0, out + err
    assert "OK: the audit log verifies" in out
    assert (host.data_dir / ".initialised").exists()
    assert host.trent("audit", "verify")[0] == 0
    restored = host.app()
    assert decrypt(restored, host.root(), blob) == b"kept safe"
    described = restored.test_client().get(f"/v1/keys/{key_id}", headers=host.root())
    assert described.get_json()["KeyMetadata"]["Description"] == "backed up"


def test_a_backup_taken_while_requests_are_served_is_consistent(host: Host, tmp_path: Path) -> None:
    app, root = host.app(), host.root()
    client = app.test_client()
    key_id, _ = encrypt(app, root, b"first")
    done = threading.Event()
    served: list[int] = []

    def serve() -> None:
        while not done.is_set() or len(served) < 20:
            answer = client.post(
                f"/v1/keys/{key_id}/encrypt", json={"Plaintext": b64(b"x")}, headers=root
            )
            served.append(answer.status_code)

    worker = threading.Thread(target=serve)
    worker.start()
    try:
        code, out, err = host.trent("backup", str(tmp_path / "backup"))
    finally:
        done.set()
        worker.join(60)
    assert code == 0, out + err
    assert set(served) == {200}
    host.destroy()
    code, out, err = host.trent("restore", str(tmp_path / "backup"))
    assert code == 0, out + err
    assert "OK: the audit log verifies" in out
    assert "signing key is not in the backup" in err


def test_a_backup_older_than_the_newest_exported_checkpoint_is_refused_unless_allowed(
    host: Host, tmp_path: Path
) -> None:
    app, root = host.app(), host.root()
    encrypt(app, root, b"before")
    assert host.trent("backup", str(tmp_path / "old"))[0] == 0
    encrypt(app, root, b"after the backup")
    copy = tmp_path / "offsite-checkpoints.jsonl"
    assert host.trent("audit", "checkpoint", "--to", str(copy))[0] == 0
    host.destroy()

    code, _, err = host.trent("restore", str(tmp_path / "old"), "--checkpoints", str(copy))
    assert code == 1
    assert "older than checkpoint 1" in err and "--allow-older" in err
    assert not host.data_dir.exists()

    code, out, err = host.trent(
        "restore", str(tmp_path / "old"), "--checkpoints", str(copy), "--allow-older"
    )
    assert code == 0, out + err
    assert host.trent("audit", "verify")[0] == 0


def test_allow_older_keeps_the_newer_checkpoint_file_beside_the_restored_one(
    host: Host, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "elsewhere" / "checkpoints.jsonl"
    checkpoints.parent.mkdir()
    host.env["TRENT_AUDIT_CHECKPOINT_FILE"] = str(checkpoints)
    app, root = host.app(), host.root()
    encrypt(app, root, b"one")
    assert host.trent("audit", "checkpoint")[0] == 0
    assert host.trent("backup", str(tmp_path / "old"))[0] == 0
    encrypt(app, root, b"two")
    assert host.trent("audit", "checkpoint")[0] == 0
    newer = checkpoints.read_bytes()
    host.destroy()

    code, _, err = host.trent("restore", str(tmp_path / "old"))
    assert code == 1 and f"older than checkpoint 2 in {checkpoints}" in err
    code, out, err = host.trent("restore", str(tmp_path / "old"), "--allow-older")
    assert code == 0, out + err
    (aside,) = checkpoints.parent.glob("checkpoints.jsonl.superseded-*")
    assert aside.read_bytes() == newer
    assert len(checkpoints.read_text().splitlines()) == 1
    assert host.trent("audit", "verify")[0] == 0


def test_the_sink_is_backed_up_put_back_where_lost_and_never_rewritten(
    host: Host, tmp_path: Path
) -> None:
    sink = tmp_path / "mounted" / "sink.jsonl"
    sink.parent.mkdir()
    host.env["TRENT_AUDIT_CHECKPOINT_SINK"] = str(sink)
    app, root = host.app(), host.root()
    encrypt(app, root, b"one")
    assert host.trent("audit", "checkpoint")[0] == 0
    assert host.trent("backup", str(tmp_path / "old"))[0] == 0
    assert (tmp_path / "old" / "audit-checkpoint-sink.jsonl").read_bytes() == sink.read_bytes()
    encrypt(app, root, b"two")
    assert host.trent("audit", "checkpoint")[0] == 0
    signed = sink.read_bytes()
    host.destroy()

    code, _, err = host.trent("restore", str(tmp_path / "old"))
    assert code == 1 and f"older than checkpoint 2 in {sink}" in err
    code, out, err = host.trent("restore", str(tmp_path / "old"), "--allow-older")
    assert code == 0, out + err
    assert "truncated" in out and "FAILED" in out and "events after the backup are lost" in err
    assert sink.read_bytes() == signed
    assert host.trent("audit", "verify")[0] == 1

    host.destroy()
    sink.unlink()
    code, out, err = host.trent("restore", str(tmp_path / "old"))
    assert code == 0, out + err
    assert f"sink          restored to {sink}" in out
    assert sink.read_bytes() == (tmp_path / "old" / "audit-checkpoint-sink.jsonl").read_bytes()
    assert host.trent("audit", "verify")[0] == 0


def test_refusals_leave_the_host_as_it_was(host: Host, tmp_path: Path) -> None:
    encrypt(host.app(), host.root(), b"x")
    backup = tmp_path / "backup"
    assert host.trent("backup", str(backup))[0] == 0

    # The database exists: never overwritten.
    code, _, err = host.trent("restore", str(backup))
    assert code == 1 and "never overwrites a database" in err

    host.destroy()
    host.data_dir.mkdir()
    before = sorted(host.data_dir.iterdir())

    # Another root key than the backup's: the audit log does not verify.
    original = (host.keep / "root.key").read_bytes()
    (host.keep / "root.key").unlink()
    FileRootKeyProvider.create(host.keep / "root.key")
    code, out, err = host.trent("restore", str(backup))
    assert code == 1 and "nothing was restored" in err and "mac_mismatch" in out
    assert sorted(host.data_dir.iterdir()) == before
    # No root key at all.
    (host.keep / "root.key").unlink()
    code, _, err = host.trent("restore", str(backup))
    assert code == 1 and "put back the root key" in err
    (host.keep / "root.key").write_bytes(original)
    (host.keep / "root.key").chmod(0o600)

    # A copy of the checkpoints that is not there is a usage error, not a pass.
    code, _, err = host.trent("restore", str(backup), "--checkpoints", str(tmp_path / "typo"))
    assert code == 2 and "does not exist" in err

    # A signing key that is not the backup's issuer's.
    stranger = tmp_path / "stranger"
    assert CliRunner().invoke(trent, ["init"], env={"TRENT_DATA_DIR": str(stranger)}).exit_code == 0
    code, _, err = host.trent(
        "restore", str(backup), "--issuer-signing-key", str(stranger / "issuer/signing_key.pem")
    )
    assert code == 1 and "does not match the kid" in err

    # A damaged backup, and a backup of a newer version.
    manifest = (backup / "manifest.json").read_text()
    document = json.loads(manifest)
    document["database"]["migrations"].append("9999_from_the_future")
    (backup / "manifest.json").write_text(json.dumps(document))
    code, _, err = host.trent("restore", str(backup))
    assert code == 1 and "made by a newer version" in err
    (backup / "manifest.json").write_text(manifest)
    with (backup / "trent.db").open("r+b") as handle:
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 1]))
    code, _, err = host.trent("restore", str(backup))
    assert code == 1 and "differs from the manifest" in err
    (backup / "manifest.json").unlink()
    code, _, err = host.trent("restore", str(backup))
    assert code == 1 and "not a finished backup" in err
    assert sorted(host.data_dir.iterdir()) == before


def test_backup_refuses_a_used_destination_and_postgresql(host: Host, tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("mine")
    code, _, err = host.trent("backup", str(used))
    assert code == 1 and "not an empty directory" in err
    assert [p.name for p in used.iterdir()] == ["something"]
    host.env["TRENT_DATABASE_URL"] = "postgresql://trent@127.0.0.1:1/none"
    for args in (["backup", str(tmp_path / "pg")], ["restore", str(used)]):
        code, _, err = host.trent(*args)
        assert code == 1 and "pg_dump" in err
    assert not (tmp_path / "pg").exists()


@pytest.fixture(autouse=True)
def _no_leftovers(tmp_path: Path) -> Iterator[None]:
    """No command leaves a staged copy or a temporary file behind."""
    yield
    leftovers = [p for p in tmp_path.rglob(".*") if p.name.endswith((".restoring", ".tmp"))]
    assert leftovers == []
