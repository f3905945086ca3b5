"""With the root key in a token, what is at rest on the host (a database dump,
the data directory, even SoftHSM's own token files) reveals no key material to
someone without the token's PIN: the known secrets are searched for, raw,
hex and base64."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

from app import create_app
from app.audit.chain import MAC_KEY_LABEL
from app.audit.checkpoints import SIGNING_KEY_NAME
from app.auth.local_issuer import LocalIssuer
from app.config import Settings
from app.crypto.signing import signing_key_seal_aad
from app.crypto.typed_material import version_seal_aad
from app.store.sealed_rows import sealed_rows
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, services_of, store_of
from tests.pkcs11.conftest import SoftHsm


def _spellings(secret: bytes) -> list[bytes]:
    encodings = [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]
    # A 16-byte window catches a secret stored in part or at any offset.
    return encodings + [secret[i : i + 16] for i in range(0, max(1, len(secret) - 15), 8)]


def _found(haystack: bytes, secrets: dict[str, bytes]) -> list[str]:
    return [
        name for name, secret in secrets.items() if any(s in haystack for s in _spellings(secret))
    ]


def _host_files(settings: Settings, softhsm: SoftHsm) -> bytes:
    """Every file of the data directory and of the token store, and a text dump."""
    chunks = []
    for root in (settings.data_dir, softhsm.token_dir):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix != ".pin":
                chunks.append(path.read_bytes())
    connection = sqlite3.connect(settings.data_dir / "trent.db")
    try:
        chunks.append("\n".join(connection.iterdump()).encode())
    finally:
        connection.close()
    return b"\n".join(chunks)


def test_a_dump_and_the_host_files_hold_no_key_material(
    softhsm: SoftHsm, token_settings: Settings
) -> None:
    app = create_app(token_settings)
    issuer = LocalIssuer.load(token_settings)
    kms = Kms(app.test_client(), issuer.mint(ACCOUNT, root=True))
    for spec, usage in (
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        ("HMAC_256", "GENERATE_VERIFY_MAC"),
        ("ECC_NIST_P256", "SIGN_VERIFY"),
        ("RSA_2048", "ENCRYPT_DECRYPT"),
    ):
        kms.new_key(KeySpec=spec, KeyUsage=usage)
    alice = Kms(app.test_client(), issuer.mint(ACCOUNT, user="alice"))
    created = alice.post("/v1/access-keys").get_json()["AccessKey"]
    services = services_of(app)
    with services.connection():
        assert services.audit.checkpoint() is not None
    root = services.root_key
    secrets: dict[str, bytes] = {
        "access key secret": created["SecretAccessKey"].encode(),
        "audit MAC key": root.derive(MAC_KEY_LABEL),
    }
    for row in sealed_rows(store_of(app)):
        if row.kind == "key_version":
            aad = version_seal_aad(key_arn=row.key_arn, version=row.version, key_spec=row.key_spec)
            secrets[f"{row.key_spec} material"] = root.unseal(row.blob, aad)
        elif row.kind == "audit_signing_key":
            aad = signing_key_seal_aad(name=SIGNING_KEY_NAME, version=row.version)
            secrets["audit signing key"] = root.unseal(row.blob, aad)
    assert len(secrets) == 7
    app.extensions["trent"].services.database.close()

    at_rest = _host_files(token_settings, softhsm)
    assert len(at_rest) > 10_000
    assert _found(at_rest, secrets) == []
    # The search does find a secret when one is there.
    planted = at_rest + secrets["HMAC_256 material"].hex().encode()
    assert _found(planted, secrets) == ["HMAC_256 material"]


def test_the_search_would_find_material_under_a_file_root_key(
    softhsm: SoftHsm, tmp_path: Path
) -> None:
    """A control: the sealed rows are not plaintext with a file key either, but the
    file root key itself is on the host; the token keeps it off."""
    from tests.conftest import init_data_dir

    settings = init_data_dir(tmp_path / "var")
    root_bytes = settings.root_key_path.read_bytes()
    found = _found(_host_files(settings, softhsm), {"file root key": root_bytes})
    assert found == ["file root key"]
