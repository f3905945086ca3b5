"""``trent root-key migrate --to file``: from the token back to a new file
root key. A round trip file -> token -> file leaves everything decryptable
and the audit log verifying (its MAC key is a sealed row that moves with the
others); a kill -9 midway resumes; a key file that no interrupted run made
is refused; a MAC-key row deleted after the migration is refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from app import create_app
from app.auth.local_issuer import LocalIssuer
from app.cli import main
from app.config import Settings, load_settings
from app.crypto.pkcs11_root_key import Pkcs11RootKeyProvider, token_config
from app.crypto.root_key import FileRootKeyProvider
from app.store.audit.checkpoints import mac_key
from app.store.sealed_rows import sealed_rows
from tests.api.kms import Kms
from tests.conftest import ACCOUNT
from tests.pkcs11.conftest import SoftHsm, init_token_data_dir
from tests.pkcs11.test_migrate import (
    check_everything_works,
    cli_env,
    file_service,
    made_by_service,
    migration_env,
    plain_store,
)


def _file_settings(data_dir: Path) -> Settings:
    return load_settings({"TRENT_DATA_DIR": str(data_dir), "TRENT_SCHEDULER_INTERVAL": "0"})


def _token_service(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> tuple[Settings, Any]:
    """A service whose root key was made in the token (``init --create-token-key``)."""
    settings = init_token_data_dir(softhsm, tmp_path / "var", key_label)
    return settings, made_by_service(settings)


def _to_file(settings: Settings) -> Any:
    return CliRunner().invoke(main, ["root-key", "migrate", "--to", "file"], env=cli_env(settings))


def _formats(settings: Settings) -> list[int]:
    return [row.blob[0] for row in sealed_rows(plain_store(settings))]


def test_round_trip_file_to_token_to_file(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> None:
    settings, made = file_service(tmp_path)
    first_key = FileRootKeyProvider.load(settings.root_key_path).key_id
    to_token = CliRunner().invoke(
        main,
        ["root-key", "migrate", "--to", "pkcs11"],
        env=migration_env(softhsm, settings, key_label),
    )
    assert to_token.exit_code == 0, to_token.output
    token_settings = softhsm.settings(settings.data_dir, key_label)
    check_everything_works(token_settings, made)  # also appends events under the token

    back = _to_file(token_settings)
    assert back.exit_code == 0, back.output
    assert "created root key" in back.output
    assert (
        "re-sealed 11 rows (0 already" in back.output and "verified 11 sealed rows" in back.output
    )
    assert f"objects {key_label!r} and {key_label + '.derive'!r}" in back.output
    assert "console sessions signed in before the migration are signed out" in back.output
    new_key = FileRootKeyProvider.load(settings.root_key_path)
    assert new_key.key_id != first_key
    stored = mac_key_of(settings)
    assert stored is not None and stored.root_key_id == new_key.key_id
    # The token's objects are kept (backups taken before need them).
    assert Pkcs11RootKeyProvider(token_config(token_settings)).key_id
    check_everything_works(_file_settings(settings.data_dir), made)


def mac_key_of(settings: Settings) -> Any:
    store = plain_store(settings)
    with store.connection():
        return mac_key()


_KILLED_MIDWAY = """
import os, signal
from app import open_store
from app.cli.reseal import reseal_all, store_mac_key
from app.cli.root_key import _file_root_key
from app.config import load_settings
from app.crypto.root_key import load_root_key

settings = load_settings()
old = load_root_key(settings)
store = open_store(settings, pool_size=1, cache=False)
store_mac_key(store, old)
new = _file_root_key(settings, store)

def after_row(progress):
    if progress.resealed == {rows}:
        os.kill(os.getpid(), signal.SIGKILL)

reseal_all(store, old, new, after_row=after_row)
raise SystemExit("not killed")
"""


def test_kill_9_midway_to_file_then_resume(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    settings, made = _token_service(softhsm, tmp_path, key_label)
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED_MIDWAY.format(rows=4))],
        env={**os.environ, **cli_env(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    formats = _formats(settings)
    assert formats.count(0x01) == 4 and formats.count(0x02) == len(formats) - 4
    resumed = _to_file(settings)
    assert resumed.exit_code == 0, resumed.output
    assert "(4 rows already under it)" in resumed.output
    assert "re-sealed 7 rows (4 already under the new root key)" in resumed.output
    check_everything_works(_file_settings(settings.data_dir), made)


def test_a_key_file_no_interrupted_run_made_is_refused(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    settings, _ = _token_service(softhsm, tmp_path, key_label)
    stray = FileRootKeyProvider.create(settings.root_key_path)
    refused = _to_file(settings)
    assert refused.exit_code != 0
    assert "not the key of an interrupted migration" in refused.output
    assert all(f == 0x02 for f in _formats(settings))
    assert FileRootKeyProvider.load(settings.root_key_path).key_id == stray.key_id


def test_a_mac_key_row_deleted_after_the_migration_is_refused(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    settings, made = _token_service(softhsm, tmp_path, key_label)
    assert _to_file(settings).exit_code == 0
    db = sqlite3.connect(settings.data_dir / "trent.db")
    db.execute("DELETE FROM audit_mac_key")
    db.commit()
    db.close()

    file_settings = _file_settings(settings.data_dir)
    app = create_app(file_settings)
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    kms = Kms(client, LocalIssuer.load(file_settings).mint(ACCOUNT, root=True))
    blob, _ = made["ciphertexts"][0]
    assert kms.decrypt(blob).status_code == 503  # its event cannot be MACed: fails closed
    verified = CliRunner().invoke(main, ["audit", "verify"], env=cli_env(file_settings))
    assert verified.exit_code != 0 and "MAC key row is missing" in verified.output
    # No new MAC key was started.
    assert mac_key_of(file_settings) is None
