"""Keys of every family stored in a real database (SQLite, and PostgreSQL when
configured): the sealed private key or HMAC key round-trips through the
key_version table, a rotated HMAC key keeps its old versions, and nothing
stored is the material in clear."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.auth.local_issuer import LocalIssuer
from tests.api.kms import Kms
from tests.conftest import ACCOUNT, b64, init_data_dir, unb64


def _kms(data_dir: Path, database_url: str | None) -> tuple[Kms, Any]:
    settings = init_data_dir(data_dir, database_url)
    app = create_app(settings)
    issuer = LocalIssuer.load(settings)
    client: FlaskClient = app.test_client()
    return Kms(client, issuer.mint(ACCOUNT, user=None, role=None, root=True, tags={})), settings


def _round_trips(kms: Kms) -> None:
    rsa = kms.new_key(KeySpec="RSA_4096", KeyUsage="SIGN_VERIFY")
    signed = kms.post(
        f"/v1/keys/{rsa}/sign", {"Message": b64(b"m"), "SigningAlgorithm": "RSASSA_PSS_SHA_512"}
    )
    assert signed.status_code == 200, signed.get_data(as_text=True)
    signature = signed.get_json()["Signature"]
    assert len(unb64(signature)) == 512
    verified = kms.post(
        f"/v1/keys/{rsa}/verify",
        {"Message": b64(b"m"), "Signature": signature, "SigningAlgorithm": "RSASSA_PSS_SHA_512"},
    )
    assert verified.status_code == 200
    hmac_key = kms.new_key(KeySpec="HMAC_512", KeyUsage="GENERATE_VERIFY_MAC")
    made = kms.post(
        f"/v1/keys/{hmac_key}/mac", {"Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_512"}
    ).get_json()["Mac"]
    assert kms.put(f"/v1/keys/{hmac_key}/rotation", {"RotationPeriodInDays": 90}).status_code == 200
    checked = kms.post(
        f"/v1/keys/{hmac_key}/verify-mac",
        {"Message": b64(b"m"), "Mac": made, "MacAlgorithm": "HMAC_SHA_512"},
    )
    assert checked.status_code == 200


def test_sqlite_stores_sealed_material_of_every_family(tmp_path: Path) -> None:
    kms, settings = _kms(tmp_path / "var", None)
    _round_trips(kms)
    db = sqlite3.connect(settings.data_dir / "trent.db")
    try:
        blobs = [bytes(row[0]) for row in db.execute("SELECT sealed_material FROM key_version")]
    finally:
        db.close()
    assert len(blobs) == 2
    # DER PKCS#8 starts with a SEQUENCE tag and its INTEGER version 0: never in clear.
    assert all(b"\x02\x01\x00\x30" not in blob[:32] for blob in blobs)
    assert max(len(blob) for blob in blobs) > 2000  # the 4096-bit private key, sealed


@pytest.mark.postgres
def test_postgresql_stores_sealed_material_of_every_family(
    tmp_path: Path, postgres_url: str
) -> None:
    kms, _ = _kms(tmp_path / "var", postgres_url)
    _round_trips(kms)
