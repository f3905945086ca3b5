"""``trent root-key migrate --to pkcs11``: every sealed row moves into the
token's keeping, a kill -9 midway resumes, and everything still decrypts,
verifies and authenticates afterwards (the audit chain included). The way
back (``--to file``) is tested in ``test_migrate_back.py``."""

from __future__ import annotations

import base64
import os
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
from app.crypto.key_import import wrap_key_material
from app.crypto.pkcs11_root_key import Pkcs11RootKeyProvider, token_config
from app.operations.access_keys import secret_lookup
from app.store.sealed_rows import sealed_rows
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, b64, init_data_dir, services_of, store_of
from tests.pkcs11.conftest import SoftHsm


def file_service(tmp_path: Path) -> tuple[Settings, dict[str, Any]]:
    """A service on a file root key with one row of every sealed kind, and
    what it made: ciphertexts, a MAC, a signature, an access key."""
    settings = init_data_dir(tmp_path / "var")
    return settings, made_by_service(settings)


def made_by_service(settings: Settings) -> dict[str, Any]:
    """Use the service on ``settings`` until it has a row of every sealed kind;
    what it made: ciphertexts, a MAC, a signature, an access key."""
    app = create_app(settings)
    issuer = LocalIssuer.load(settings)
    kms = Kms(app.test_client(), issuer.mint(ACCOUNT, root=True))
    made: dict[str, Any] = {"ciphertexts": []}
    for _ in range(3):
        key_id = kms.new_key()
        rotated = kms.post(f"/v1/keys/{key_id}/rotations")
        assert rotated.status_code == 200, rotated.get_data(as_text=True)
        sealed = kms.encrypt(key_id, b"payload " + key_id.encode())
        made["ciphertexts"].append((sealed.get_json()["CiphertextBlob"], key_id))
    hmac_key = kms.new_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    mac = kms.post(
        f"/v1/keys/{hmac_key}/mac", {"Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}
    )
    made["mac"] = (hmac_key, mac.get_json()["Mac"])
    ecc_key = kms.new_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    signature = kms.post(
        f"/v1/keys/{ecc_key}/sign",
        {"Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"},
    )
    made["signature"] = (ecc_key, signature.get_json()["Signature"])
    alice = Kms(app.test_client(), issuer.mint(ACCOUNT, user="alice"))
    created = alice.post("/v1/access-keys")
    assert created.status_code == 200, created.get_data(as_text=True)
    made["access_key"] = created.get_json()["AccessKey"]["AccessKeyId"]
    services = services_of(app)
    with services.connection():
        assert services.audit.checkpoint() is not None  # makes the sealed signing key
    kinds = {row.kind for row in sealed_rows(store_of(app))}
    assert kinds == {"audit_mac_key", "key_version", "access_key", "audit_signing_key"}
    return made


def migration_env(softhsm: SoftHsm, settings: Settings, key_label: str) -> dict[str, str]:
    env = softhsm.environment(settings.data_dir, key_label)
    env.pop("TRENT_ROOT_KEY_PROVIDER")  # still the file key
    return env


def check_everything_works(settings: Settings, made: dict[str, Any]) -> None:
    """Everything ``made`` still decrypts, verifies and authenticates on
    ``settings``, every row is sealed under its root key, and the audit log
    verifies."""
    app = create_app(settings)
    kms = Kms(app.test_client(), LocalIssuer.load(settings).mint(ACCOUNT, root=True))
    for blob, key_id in made["ciphertexts"]:
        opened = kms.decrypt(blob)
        assert opened.status_code == 200, opened.get_data(as_text=True)
        assert opened.get_json()["Plaintext"] == b64(b"payload " + key_id.encode())
    hmac_key, mac = made["mac"]
    checked = kms.post(
        f"/v1/keys/{hmac_key}/verify-mac",
        {"Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256", "Mac": mac},
    )
    assert checked.status_code == 200 and checked.get_json()["MacValid"] is True
    ecc_key, signature = made["signature"]
    verified = kms.post(
        f"/v1/keys/{ecc_key}/verify",
        {"Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256", "Signature": signature},
    )
    assert verified.status_code == 200 and verified.get_json()["SignatureValid"] is True
    services = services_of(app)
    with services.connection():
        assert secret_lookup(services)(made["access_key"]) is not None
        assert services.audit.checkpoint() is not None  # signs with the re-sealed key
    rows = list(sealed_rows(store_of(app)))
    seal_format = 0x02 if settings.root_key_provider == "pkcs11" else 0x01
    assert rows and all(row.blob[0] == seal_format for row in rows)
    result = CliRunner().invoke(main, ["audit", "verify"], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "OK: the audit log verifies" in result.output


def cli_env(settings: Settings) -> dict[str, str]:
    """The ``TRENT_*`` variables of ``settings``' data directory and root key."""
    common = {"TRENT_DATA_DIR": str(settings.data_dir), "TRENT_SCHEDULER_INTERVAL": "0"}
    if settings.root_key_provider != "pkcs11":
        return common | {"TRENT_ROOT_KEY_PROVIDER": "file"}
    return common | {
        "TRENT_ROOT_KEY_PROVIDER": "pkcs11",
        "TRENT_PKCS11_MODULE": str(settings.pkcs11_module),
        "TRENT_PKCS11_TOKEN_LABEL": settings.pkcs11_token_label,
        "TRENT_PKCS11_PIN_FILE": str(settings.pkcs11_pin_file),
        "TRENT_PKCS11_KEY_LABEL": settings.pkcs11_key_label,
    }


def test_migrate_to_the_token_and_everything_still_works(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    settings, made = file_service(tmp_path)
    env = migration_env(softhsm, settings, key_label)
    result = CliRunner().invoke(main, ["root-key", "migrate", "--to", "pkcs11"], env=env)
    assert result.exit_code == 0, result.output
    assert "re-sealed 11 rows (0 already" in result.output
    assert "verified 11 sealed rows" in result.output
    assert not settings.root_key_path.exists()
    assert list(settings.data_dir.glob("root.key.retired-*"))
    check_everything_works(load_settings(softhsm.environment(settings.data_dir, key_label)), made)
    # Running it again finds the old key retired and changes nothing.
    again = CliRunner().invoke(main, ["root-key", "migrate", "--to", "pkcs11"], env=env)
    assert again.exit_code != 0 and "does not exist" in again.output


def test_migrate_skips_deleted_imported_material_and_discards_import_parameters(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    settings, _ = file_service(tmp_path)
    app = create_app(settings)
    kms = Kms(app.test_client(), LocalIssuer.load(settings).mint(ACCOUNT, root=True))
    key_id = kms.new_key(Origin="EXTERNAL")
    algorithm = {"WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}
    params = kms.post(f"/v1/keys/{key_id}/import-parameters", algorithm).get_json()
    wrapped = wrap_key_material(
        base64.b64decode(params["PublicKey"]), "RSAES_OAEP_SHA_256", bytes(range(32))
    )
    imported = kms.post(
        f"/v1/keys/{key_id}/key-material",
        {
            "ImportToken": params["ImportToken"],
            "EncryptedKeyMaterial": b64(wrapped),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        },
    )
    assert imported.status_code == 200, imported.get_data(as_text=True)
    assert kms.delete(f"/v1/keys/{key_id}/key-material").status_code == 200
    pending = kms.post(f"/v1/keys/{key_id}/import-parameters", algorithm)
    assert pending.status_code == 200
    env = migration_env(softhsm, settings, key_label)
    result = CliRunner().invoke(main, ["root-key", "migrate", "--to", "pkcs11"], env=env)
    assert result.exit_code == 0, result.output
    assert "outstanding import parameter set(s)" in result.output  # both tokens the key was given
    stale = kms.post(
        f"/v1/keys/{key_id}/key-material",
        {
            "ImportToken": pending.get_json()["ImportToken"],
            "EncryptedKeyMaterial": b64(wrapped),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        },
    )
    assert stale.status_code == 400


_KILLED_MIDWAY = """
import os, signal
from app.cli.reseal import reseal_all
from app.cli.root_key import _token_root_key
from app.config import load_settings
from app.crypto.root_key import load_root_key
from app import open_store

settings = load_settings()
old = load_root_key(settings)
new = _token_root_key(settings, old)
store = open_store(settings, pool_size=1, cache=False)

def after_row(progress):
    if progress.resealed == {rows}:
        os.kill(os.getpid(), signal.SIGKILL)

reseal_all(store, old, new, after_row=after_row)
raise SystemExit("not killed")
"""


def test_kill_9_midway_then_resume(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> None:
    settings, made = file_service(tmp_path)
    env = migration_env(softhsm, settings, key_label)
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED_MIDWAY.format(rows=4))],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    formats = [row.blob[0] for row in sealed_rows(plain_store(settings))]
    assert formats.count(0x02) == 4 and formats.count(0x01) == len(formats) - 4
    resumed = CliRunner().invoke(main, ["root-key", "migrate", "--to", "pkcs11"], env=env)
    assert resumed.exit_code == 0, resumed.output
    assert "re-sealed 7 rows (4 already under the new root key)" in resumed.output
    check_everything_works(load_settings(softhsm.environment(settings.data_dir, key_label)), made)


def plain_store(settings: Settings) -> Any:
    from app import open_store

    return open_store(settings, pool_size=1, cache=False)


def test_a_token_key_from_another_root_key_is_refused(
    softhsm: SoftHsm, tmp_path: Path, key_label: str
) -> None:
    settings, _ = file_service(tmp_path)
    env = migration_env(softhsm, settings, key_label)
    # A root key of its own, made in the token under the label the migration is given.
    Pkcs11RootKeyProvider.create(token_config(softhsm.settings(tmp_path / "b", key_label)))
    refused = CliRunner().invoke(main, ["root-key", "migrate", "--to", "pkcs11"], env=env)
    assert refused.exit_code != 0 and "was not made from the current root key" in refused.output
    assert settings.root_key_path.exists()
    assert all(row.blob[0] == 0x01 for row in sealed_rows(plain_store(settings)))


def test_refusals(softhsm: SoftHsm, tmp_path: Path, key_label: str) -> None:
    settings, _ = file_service(tmp_path)
    env = migration_env(softhsm, settings, key_label)
    same = CliRunner().invoke(main, ["root-key", "migrate", "--to", "file"], env=env)
    assert same.exit_code != 0 and "already 'file'" in same.output
    # --to file moves a token's key: from an environment key it is refused.
    from_env = CliRunner().invoke(
        main,
        ["root-key", "migrate", "--to", "file"],
        env={
            **env,
            "TRENT_ROOT_KEY_PROVIDER": "env",
            "TRENT_ROOT_KEY": base64.b64encode(settings.root_key_path.read_bytes()).decode(),
        },
    )
    assert from_env.exit_code != 0 and "moves a PKCS#11 root key" in from_env.output
    assert all(row.blob[0] == 0x01 for row in sealed_rows(plain_store(settings)))
