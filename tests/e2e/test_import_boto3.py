"""Imported key material against a real server: boto3 for every import
operation, the material wrapped on the client as AWS documents it (with
``cryptography``, independently of the service's code), and ``trent keys
import`` doing the same in one step."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from policies import administrators_users_policy
from tests.e2e.conftest import ACCOUNT, TRENT, Server

pytestmark = pytest.mark.e2e

# Principals of their own: other modules hold access keys for the usual ones.
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/import-admin"
APP = f"arn:aws:iam::{ACCOUNT}:role/ImportApp"


def _client(server: Server, *principal: str) -> Any:
    akid, secret = server.access_key(*principal)
    return boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=akid,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="module")
def kms(server: Server) -> Any:
    """The key administrator: imports are administration (separation of duties)."""
    return _client(server, "--user", "import-admin")


@pytest.fixture(scope="module")
def app_kms(server: Server) -> Any:
    """The key user: encrypts and decrypts, and may not import."""
    return _client(server, "--role", "ImportApp")


def _policy() -> str:
    return administrators_users_policy("aws", ACCOUNT, [ADMIN], [APP])


def external_key(server: Server) -> str:
    """A symmetric EXTERNAL key made by the account root, administered by
    ADMIN and used by APP."""
    body = {"Origin": "EXTERNAL", "Policy": _policy()}
    created = server.rest("POST", "/v1/keys", server.token("--root"), body)
    assert isinstance(created, dict)
    metadata = created["KeyMetadata"]
    assert metadata["KeyState"] == "PendingImport" and metadata["Origin"] == "EXTERNAL"
    return str(metadata["KeyId"])


def aws_wrap(public_der: bytes, algorithm: str, material: bytes) -> bytes:
    """AWS's documented procedure: RSA-OAEP of the material, or (RSA_AES_KEY_WRAP)
    RSA-OAEP of an ephemeral AES-256 key followed by RFC 5649 wrapping under it."""
    public = serialization.load_der_public_key(public_der)
    assert isinstance(public, rsa.RSAPublicKey)
    digest = hashes.SHA256() if algorithm.endswith("SHA_256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + keywrap.aes_key_wrap_with_padding(aes_key, material)


def import_material(kms: Any, key_id: str, material: bytes, algorithm: str, **extra: Any) -> Any:
    parameters = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048"
    )
    assert parameters["KeyId"].endswith(key_id)
    return kms.import_key_material(
        KeyId=key_id,
        ImportToken=parameters["ImportToken"],
        EncryptedKeyMaterial=aws_wrap(parameters["PublicKey"], algorithm, material),
        **extra,
    )


def test_import_round_trip_with_boto3(server: Server, kms: Any, app_kms: Any) -> None:
    key_id = external_key(server)
    material = os.urandom(32)
    with pytest.raises(ClientError) as pending:
        app_kms.encrypt(KeyId=key_id, Plaintext=b"too early")
    assert pending.value.response["Error"]["Code"] == "KMSInvalidStateException"

    imported = import_material(
        kms,
        key_id,
        material,
        "RSA_AES_KEY_WRAP_SHA_256",
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled" and metadata["Origin"] == "EXTERNAL"
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert metadata["CurrentKeyMaterialId"] == imported["KeyMaterialId"]
    blob = app_kms.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
    assert app_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"
    with pytest.raises(ClientError) as user_imports:
        app_kms.get_parameters_for_import(
            KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
        )
    assert user_imports.value.response["Error"]["Code"] == "AccessDeniedException"

    # Deleted: nothing decrypts; other material is refused; the same material
    # (wrapped with fresh parameters and another algorithm) brings everything back.
    kms.delete_imported_key_material(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as deleted:
        app_kms.decrypt(CiphertextBlob=blob)
    assert deleted.value.response["Error"]["Code"] == "KMSInvalidStateException"
    with pytest.raises(ClientError) as other:
        import_material(
            kms,
            key_id,
            os.urandom(32),
            "RSAES_OAEP_SHA_256",
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    assert other.value.response["Error"]["Code"] == "IncorrectKeyMaterialException"
    valid_to = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    import_material(kms, key_id, material, "RSAES_OAEP_SHA_1", ValidTo=valid_to)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert abs(metadata["ValidTo"].timestamp() - valid_to.timestamp()) < 1
    assert app_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"


def test_import_errors_with_boto3(server: Server, kms: Any) -> None:
    key_id = external_key(server)
    parameters = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    wrapped = aws_wrap(parameters["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    with pytest.raises(ClientError) as no_valid_to:
        kms.import_key_material(
            KeyId=key_id, ImportToken=parameters["ImportToken"], EncryptedKeyMaterial=wrapped
        )
    assert no_valid_to.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
    }
    with pytest.raises(ClientError) as bad_token:
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=b"not a token",
            EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    assert bad_token.value.response["Error"]["Code"] == "InvalidImportTokenException"
    with pytest.raises(ClientError) as not_external:
        kms.get_parameters_for_import(
            KeyId=_generated_key(server),
            WrappingAlgorithm="RSAES_OAEP_SHA_256",
            WrappingKeySpec="RSA_2048",
        )
    assert not_external.value.response["Error"]["Code"] == "UnsupportedOperationException"


def _generated_key(server: Server) -> str:
    """A key of origin AWS_KMS, administered by ADMIN."""
    created = server.rest("POST", "/v1/keys", server.token("--root"), {"Policy": _policy()})
    assert isinstance(created, dict)
    return str(created["KeyMetadata"]["Arn"])


def test_trent_keys_import_wraps_and_imports_in_one_step(server: Server, tmp_path: Path) -> None:
    root = server.token("--root")
    env = {**server.env, "TRENT_URL": server.url, "TRENT_TOKEN": root}
    created = subprocess.run(
        [TRENT, "keys", "create", "--origin", "EXTERNAL"],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    key_id = json.loads(created.stdout)["KeyMetadata"]["KeyId"]
    material = tmp_path / "material.bin"
    material.write_bytes(os.urandom(32))
    imported = subprocess.run(
        [
            TRENT,
            "keys",
            "import",
            key_id,
            "--material",
            str(material),
            "--wrapping-key-spec",
            "RSA_2048",
            "--valid-days",
            "7",
        ],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["KeyId"].endswith(key_id)
    described = server.rest("GET", f"/v1/keys/{key_id}", root)
    assert isinstance(described, dict)
    assert described["KeyMetadata"]["KeyState"] == "Enabled"
    assert described["KeyMetadata"]["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    # The same file again is the same material; another file is refused.
    again = subprocess.run(
        [TRENT, "keys", "import", key_id, "--material", str(material), "--no-expiry"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    material.write_bytes(os.urandom(32))
    other = subprocess.run(
        [TRENT, "keys", "import", key_id, "--material", str(material), "--no-expiry"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert other.returncode != 0 and b"IncorrectKeyMaterialException" in other.stderr
