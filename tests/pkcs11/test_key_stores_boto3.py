"""Custom key stores end to end with boto3: a store on a SoftHSM token is
created with a trust anchor, connected, holds a key whose cryptography runs in
the token, fails to connect with a wrong password, stops its keys' use when
disconnected, and cannot be deleted while it holds a key. The audit log
records every store operation and never the password."""

from __future__ import annotations

import datetime
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.certificates import self_signed_ca_pem
from tests.e2e.conftest import TRENT, Server, kms_client, wait_for
from tests.pkcs11.conftest import STORE_PIN, SoftHsm
from tests.pkcs11.key_store_server import key_store_server, store_cluster_id

pytestmark = pytest.mark.e2e

WRONG_PIN = "wrong-store-pin-1357"
STORE_OPERATIONS = (
    "CreateCustomKeyStore",
    "DescribeCustomKeyStores",
    "UpdateCustomKeyStore",
    "ConnectCustomKeyStore",
    "DisconnectCustomKeyStore",
    "DeleteCustomKeyStore",
)


@pytest.fixture(scope="module")
def server(softhsm: SoftHsm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with key_store_server(softhsm, tmp_path_factory.mktemp("key-stores-boto3")) as running:
        yield running


@pytest.fixture(scope="module")
def kms(server: Server) -> Any:
    """The account root: custom key stores are authorized by identity policy,
    and the root's is everything."""
    return kms_client(server, *server.access_key("--root"))


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def store_of(kms: Any, store_id: str) -> dict[str, Any]:
    stores = kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"]
    assert len(stores) == 1
    return dict(stores[0])


def test_a_custom_key_store_with_boto3(server: Server, kms: Any) -> None:
    cluster_id = store_cluster_id(server)
    anchor = self_signed_ca_pem("trent test cluster CA")

    def create(name: str) -> str:
        return str(
            kms.create_custom_key_store(
                CustomKeyStoreName=name,
                CloudHsmClusterId=cluster_id,
                TrustAnchorCertificate=anchor,
                KeyStorePassword=STORE_PIN,
            )["CustomKeyStoreId"]
        )

    # A store without keys is deleted at once, and frees its name and token.
    scratch = create("boto3-store")
    kms.delete_custom_key_store(CustomKeyStoreId=scratch)
    with pytest.raises(ClientError) as gone:
        kms.describe_custom_key_stores(CustomKeyStoreId=scratch)
    assert code(gone) == "CustomKeyStoreNotFoundException"

    store_id = create("boto3-store")
    described = kms.describe_custom_key_stores(CustomKeyStoreName="boto3-store")
    [store] = described["CustomKeyStores"]
    assert store["CustomKeyStoreId"] == store_id
    assert store["CloudHsmClusterId"] == cluster_id
    assert store["TrustAnchorCertificate"] == anchor
    assert store["ConnectionState"] == "DISCONNECTED"
    assert store["CustomKeyStoreType"] == "AWS_CLOUDHSM"
    assert isinstance(store["CreationDate"], datetime.datetime)
    with pytest.raises(ClientError) as in_use:
        create("boto3-other")
    assert code(in_use) == "CloudHsmClusterInUseException"

    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    assert store_of(kms, store_id)["ConnectionState"] == "CONNECTED"

    metadata = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)["KeyMetadata"]
    assert metadata["Origin"] == "AWS_CLOUDHSM"
    assert metadata["CustomKeyStoreId"] == store_id
    assert metadata["CloudHsmClusterId"] == cluster_id
    token_key = metadata["Arn"]
    plain_key = kms.create_key()["KeyMetadata"]["Arn"]
    context = {"purpose": "custom-key-store"}

    blob = kms.encrypt(KeyId=token_key, Plaintext=b"sealed in the token", EncryptionContext=context)
    opened = kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext=context)
    assert opened["Plaintext"] == b"sealed in the token" and opened["KeyId"] == token_key
    with pytest.raises(ClientError) as wrong_context:
        kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"purpose": "x"})
    assert code(wrong_context) == "InvalidCiphertextException"

    data_key = kms.generate_data_key(KeyId=token_key, KeySpec="AES_256")
    assert len(data_key["Plaintext"]) == 32 and data_key["KeyId"] == token_key
    assert (
        kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]
        == (data_key["Plaintext"])
    )

    sealed_only = kms.generate_data_key_without_plaintext(KeyId=token_key, NumberOfBytes=16)
    assert "Plaintext" not in sealed_only
    assert len(kms.decrypt(CiphertextBlob=sealed_only["CiphertextBlob"])["Plaintext"]) == 16

    # ReEncrypt from the token's key to a key of the service, and back.
    to_plain = kms.re_encrypt(
        CiphertextBlob=blob["CiphertextBlob"],
        SourceEncryptionContext=context,
        DestinationKeyId=plain_key,
    )
    assert to_plain["SourceKeyId"] == token_key and to_plain["KeyId"] == plain_key
    assert kms.decrypt(CiphertextBlob=to_plain["CiphertextBlob"])["Plaintext"] == (
        b"sealed in the token"
    )
    back = kms.re_encrypt(
        CiphertextBlob=to_plain["CiphertextBlob"],
        DestinationKeyId=token_key,
        DestinationEncryptionContext=context,
    )
    assert back["SourceKeyId"] == plain_key and back["KeyId"] == token_key
    reopened = kms.decrypt(CiphertextBlob=back["CiphertextBlob"], EncryptionContext=context)
    assert reopened["Plaintext"] == b"sealed in the token" and reopened["KeyId"] == token_key

    first = kms.generate_random(NumberOfBytes=32, CustomKeyStoreId=store_id)["Plaintext"]
    second = kms.generate_random(NumberOfBytes=32, CustomKeyStoreId=store_id)["Plaintext"]
    assert len(first) == len(second) == 32 and first != second

    with pytest.raises(ClientError) as rotation:
        kms.enable_key_rotation(KeyId=token_key)
    assert code(rotation) == "UnsupportedOperationException"
    with pytest.raises(ClientError) as key_pair:
        kms.generate_data_key_pair(KeyId=token_key, KeyPairSpec="ECC_NIST_P256")
    assert code(key_pair) == "UnsupportedOperationException"

    # Disconnected: the key cannot be used, nor can the store make random bytes.
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    assert store_of(kms, store_id)["ConnectionState"] == "DISCONNECTED"
    with pytest.raises(ClientError) as unavailable:
        kms.encrypt(KeyId=token_key, Plaintext=b"not now")
    assert code(unavailable) == "KMSInvalidStateException"
    assert "is unavailable" in unavailable.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as no_decrypt:
        kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext=context)
    assert code(no_decrypt) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as no_random:
        kms.generate_random(NumberOfBytes=8, CustomKeyStoreId=store_id)
    assert code(no_random) == "CustomKeyStoreInvalidStateException"

    # A wrong password: ConnectCustomKeyStore succeeds, the store is FAILED.
    kms.update_custom_key_store(CustomKeyStoreId=store_id, KeyStorePassword=WRONG_PIN)
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    failed = store_of(kms, store_id)
    assert failed["ConnectionState"] == "FAILED"
    assert failed["ConnectionErrorCode"] == "INVALID_CREDENTIALS"
    with pytest.raises(ClientError) as still_unavailable:
        kms.encrypt(KeyId=token_key, Plaintext=b"not now")
    assert code(still_unavailable) == "KMSInvalidStateException"
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    kms.update_custom_key_store(CustomKeyStoreId=store_id, KeyStorePassword=STORE_PIN)
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    assert store_of(kms, store_id)["ConnectionState"] == "CONNECTED"
    again = kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext=context)
    assert again["Plaintext"] == b"sealed in the token"

    # A store holding a key cannot be deleted; the key's deletion can be scheduled.
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    with pytest.raises(ClientError) as has_keys:
        kms.delete_custom_key_store(CustomKeyStoreId=store_id)
    assert code(has_keys) == "CustomKeyStoreHasCMKsException"
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    scheduled = kms.schedule_key_deletion(KeyId=token_key, PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingDeletion" and scheduled["KeyId"] == token_key
    assert kms.describe_key(KeyId=token_key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    with pytest.raises(ClientError) as pending:
        kms.delete_custom_key_store(CustomKeyStoreId=store_id)
    assert code(pending) == "CustomKeyStoreHasCMKsException"

    assert wait_for(lambda: all(audit_events(server, name) for name in STORE_OPERATIONS), 60), (
        "the audit log lacks a store operation"
    )
    audited = {name: audit_events(server, name) for name in STORE_OPERATIONS}
    created = [e for e in audited["CreateCustomKeyStore"] if e["outcome"] == "success"]
    assert {e["requestParameters"]["cloudHsmClusterId"] for e in created} == {cluster_id}
    assert {
        e["requestParameters"]["customKeyStoreId"] for e in audited["ConnectCustomKeyStore"]
    } == {store_id}
    refused = [e for e in audited["DeleteCustomKeyStore"] if e["outcome"] != "success"]
    assert {e["errorCode"] for e in refused} == {"CustomKeyStoreHasCMKsException"}
    for secret in (STORE_PIN, WRONG_PIN):
        assert secret not in json.dumps(audited)
        assert secret.encode() not in database_text(server)
        assert secret not in (server.data_dir.parent / "server.log").read_text(errors="replace")


def test_external_key_stores_and_bad_trust_anchors_are_refused(server: Server, kms: Any) -> None:
    cluster_id = store_cluster_id(server)
    with pytest.raises(ClientError) as xks:
        kms.create_custom_key_store(
            CustomKeyStoreName="boto3-xks",
            CustomKeyStoreType="EXTERNAL_KEY_STORE",
            XksProxyUriEndpoint="https://xks.example.com",
            XksProxyUriPath="/kms/xks/v1",
            XksProxyConnectivity="PUBLIC_ENDPOINT",
            XksProxyAuthenticationCredential={
                "AccessKeyId": "ABCDEFGHIJKLMNOPQRSTUV",
                "RawSecretAccessKey": "a" * 43,
            },
        )
    assert code(xks) == "UnsupportedOperationException"
    with pytest.raises(ClientError) as bad_anchor:
        kms.create_custom_key_store(
            CustomKeyStoreName="boto3-bad-anchor",
            CloudHsmClusterId=cluster_id,
            TrustAnchorCertificate="not a certificate",
            KeyStorePassword=STORE_PIN,
        )
    assert code(bad_anchor) == "IncorrectTrustAnchorException"
    with pytest.raises(ClientError) as unknown_cluster:
        kms.create_custom_key_store(
            CustomKeyStoreName="boto3-nowhere",
            CloudHsmClusterId="cluster-aaaaaaaaaaa",
            KeyStorePassword=STORE_PIN,
        )
    assert code(unknown_cluster) == "CloudHsmClusterNotFoundException"
    names = [s["CustomKeyStoreName"] for s in kms.describe_custom_key_stores()["CustomKeyStores"]]
    assert not {"boto3-xks", "boto3-bad-anchor", "boto3-nowhere"} & set(names)


def audit_events(server: Server, operation: str) -> list[dict[str, Any]]:
    """The audit log's events of ``operation``, read with ``trent audit search``."""
    found = subprocess.run(
        [TRENT, "audit", "search", "--operation", operation, "--limit", "100"],
        env=server.env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [json.loads(line) for line in found.stdout.splitlines()]


def database_text(server: Server) -> bytes:
    """Every file of the data directory and a text dump of its database (the
    audit log is a table of it)."""
    chunks = [p.read_bytes() for p in sorted(Path(server.data_dir).rglob("*")) if p.is_file()]
    connection = sqlite3.connect(server.data_dir / "trent.db")
    try:
        chunks.append("\n".join(connection.iterdump()).encode())
    finally:
        connection.close()
    return b"\n".join(chunks)
