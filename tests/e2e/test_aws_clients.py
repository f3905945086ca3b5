"""Unmodified AWS clients against a real Trent server: boto3, the AWS CLI and
the AWS Encryption SDK, with real key policies enforced."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from policies import administrators_users_policy
from tests.e2e.conftest import ACCOUNT, Server, kms_client

pytestmark = pytest.mark.e2e

ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"


@pytest.fixture(scope="module")
def clients(server: Server) -> dict[str, Any]:
    return {
        "root": kms_client(server, *server.access_key("--root")),
        "admin": kms_client(server, *server.access_key("--user", "admin")),
        "app": kms_client(server, *server.access_key("--role", "App")),
    }


@pytest.fixture(scope="module")
def key(clients: dict[str, Any]) -> dict[str, Any]:
    policy = administrators_users_policy("aws", ACCOUNT, [ADMIN], [APP])
    metadata = clients["root"].create_key(Policy=policy, Description="e2e")["KeyMetadata"]
    assert metadata["Arn"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
    clients["admin"].create_alias(AliasName="alias/e2e", TargetKeyId=metadata["KeyId"])
    return dict(metadata)


def access_denied(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "AccessDeniedException"


def test_boto3_crypto_as_the_key_user(clients: dict[str, Any], key: dict[str, Any]) -> None:
    app = clients["app"]
    context = {"tenant": "acme", "purpose": "e2e"}
    encrypted = app.encrypt(KeyId="alias/e2e", Plaintext=b"secret", EncryptionContext=context)
    assert encrypted["KeyId"] == key["Arn"]
    assert encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    decrypted = app.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], EncryptionContext=context)
    assert decrypted["Plaintext"] == b"secret" and decrypted["KeyId"] == key["Arn"]
    with pytest.raises(ClientError) as info:
        app.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], EncryptionContext={"tenant": "x"})
    assert info.value.response["Error"]["Code"] == "InvalidCiphertextException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    data_key = app.generate_data_key(
        KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=context
    )
    assert len(data_key["Plaintext"]) == 32
    again = app.decrypt(CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext=context)
    assert again["Plaintext"] == data_key["Plaintext"]
    without = app.generate_data_key_without_plaintext(KeyId=key["Arn"], NumberOfBytes=64)
    assert "Plaintext" not in without
    moved = app.re_encrypt(
        CiphertextBlob=encrypted["CiphertextBlob"],
        SourceEncryptionContext=context,
        DestinationKeyId=key["KeyId"],
        DestinationEncryptionContext={"tenant": "acme", "purpose": "moved"},
    )
    assert moved["SourceKeyId"] == key["Arn"] == moved["KeyId"]
    assert app.describe_key(KeyId="alias/e2e")["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_boto3_management_as_the_key_administrator(
    clients: dict[str, Any], key: dict[str, Any]
) -> None:
    admin, app = clients["admin"], clients["app"]
    old = app.encrypt(KeyId=key["KeyId"], Plaintext=b"before rotation")["CiphertextBlob"]
    admin.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    status = admin.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    admin.rotate_key_on_demand(KeyId=key["KeyId"])
    rotations = admin.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]
    assert app.decrypt(CiphertextBlob=old)["Plaintext"] == b"before rotation"
    admin.update_key_description(KeyId=key["KeyId"], Description="changed")
    admin.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "team", "TagValue": "pay"}])
    assert admin.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [
        {"TagKey": "team", "TagValue": "pay"}
    ]
    admin.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as info:
        app.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert info.value.response["Error"]["Code"] == "DisabledException"
    admin.enable_key(KeyId=key["KeyId"])
    scheduled = admin.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingDeletion" and scheduled["KeyId"] == key["Arn"]
    admin.cancel_key_deletion(KeyId=key["KeyId"])
    assert admin.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    admin.enable_key(KeyId=key["KeyId"])


def test_administrators_cannot_use_and_users_cannot_administer(
    clients: dict[str, Any], key: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as info:
        clients["admin"].encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert access_denied(info.value)
    assert ADMIN in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        clients["app"].disable_key(KeyId=key["KeyId"])
    assert access_denied(info.value)
    with pytest.raises(ClientError) as info:
        clients["admin"].generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert access_denied(info.value)


def test_boto3_paginators(clients: dict[str, Any]) -> None:
    root = clients["root"]
    created = {root.create_key()["KeyMetadata"]["KeyId"] for _ in range(3)}
    for index, key_id in enumerate(sorted(created)):
        root.create_alias(AliasName=f"alias/page-{index}", TargetKeyId=key_id)
    pages = list(root.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 2
    listed = {k["KeyId"] for page in pages for k in page["Keys"]}
    assert created <= listed
    aliases = [
        a["AliasName"]
        for page in root.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 1})
        for a in page["Aliases"]
    ]
    assert {"alias/page-0", "alias/page-1", "alias/page-2"} <= set(aliases)


def test_unknown_and_unsupported_operations(clients: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as info:
        clients["root"].derive_shared_secret(
            KeyId="alias/e2e", KeyAgreementAlgorithm="ECDH", PublicKey=b"m"
        )
    assert info.value.response["Error"]["Code"] == "UnsupportedOperationException"


def test_a_bad_secret_is_refused(server: Server) -> None:
    akid, _ = server.access_key("--user", "mallory")
    forged = kms_client(server, akid, "A" * 40)
    with pytest.raises(ClientError) as info:
        forged.list_keys()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_the_aws_cli_encrypts_and_decrypts_a_file(
    aws_env: dict[str, str], tmp_path: Path, clients: dict[str, Any]
) -> None:
    key_id = clients["root"].create_key(Description="cli")["KeyMetadata"]["KeyId"]
    aws = str(Path(sys.executable).with_name("aws"))
    source = tmp_path / "secret.txt"
    source.write_bytes(os.urandom(3000))
    encrypted = subprocess.run(
        [
            aws,
            "kms",
            "encrypt",
            "--endpoint-url",
            aws_env["AWS_ENDPOINT_URL_KMS"],
            "--key-id",
            key_id,
            "--plaintext",
            f"fileb://{source}",
            "--encryption-context",
            "file=secret.txt",
            "--output",
            "text",
            "--query",
            "CiphertextBlob",
        ],
        env=aws_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    blob = tmp_path / "secret.bin"
    blob.write_bytes(base64.b64decode(encrypted))
    decrypted = subprocess.run(
        [
            aws,
            "kms",
            "decrypt",
            "--endpoint-url",
            aws_env["AWS_ENDPOINT_URL_KMS"],
            "--ciphertext-blob",
            f"fileb://{blob}",
            "--encryption-context",
            "file=secret.txt",
            "--output",
            "text",
            "--query",
            "Plaintext",
        ],
        env=aws_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert base64.b64decode(decrypted) == source.read_bytes()


ESDK_SCRIPT = """
import os, sys, aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy
mode, arn, path = sys.argv[1], sys.argv[2], sys.argv[3]
client = aws_encryption_sdk.EncryptionSDKClient(
    commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[arn])
if mode == "encrypt":
    data = open(path, "rb").read()
    ciphertext, _ = client.encrypt(source=data, key_provider=provider,
                                   encryption_context={"purpose": "e2e"})
    open(path + ".enc", "wb").write(ciphertext)
else:
    plaintext, header = client.decrypt(source=open(path + ".enc", "rb").read(),
                                       key_provider=provider)
    assert header.encryption_context["purpose"] == "e2e"
    open(path + ".dec", "wb").write(plaintext)
"""


def test_the_aws_encryption_sdk_round_trips_a_megabyte(
    server: Server,
    aws_env: dict[str, str],
    tmp_path: Path,
    clients: dict[str, Any],
    key: dict[str, Any],
) -> None:
    app_key = server.access_key("--role", "App")
    env = {**aws_env, "AWS_ACCESS_KEY_ID": app_key[0], "AWS_SECRET_ACCESS_KEY": app_key[1]}
    source = tmp_path / "message"
    source.write_bytes(os.urandom(1024 * 1024))
    for mode in ("encrypt", "decrypt"):
        subprocess.run(
            [sys.executable, "-c", ESDK_SCRIPT, mode, key["Arn"], str(source)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    assert (tmp_path / "message.dec").read_bytes() == source.read_bytes()
    assert (tmp_path / "message.enc").stat().st_size > 1024 * 1024
    # A principal without kms:Decrypt on the key cannot open the message.
    admin_key = server.access_key("--user", "admin")
    admin_env = {
        **aws_env,
        "AWS_ACCESS_KEY_ID": admin_key[0],
        "AWS_SECRET_ACCESS_KEY": admin_key[1],
    }
    (tmp_path / "message.dec").unlink()
    refused = subprocess.run(
        [sys.executable, "-c", ESDK_SCRIPT, "decrypt", key["Arn"], str(source)],
        env=admin_env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "AccessDeniedException" in refused.stderr
    assert not (tmp_path / "message.dec").exists()
