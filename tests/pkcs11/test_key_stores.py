"""Custom key stores on a SoftHSM token: the store's life, keys whose material
is generated and used in the token, and every way a store refuses.

The service's root key here is a file; the store is the session's second
token (``trent-key-store``). Each test has a database of its own, so each may
make a store on that one token.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import AttributeSensitive

from app import build_services, create_app, open_store
from app.auth.local_issuer import LocalIssuer
from app.cli import main
from app.config import Settings, load_settings
from app.crypto.pkcs11_session import list_tokens, open_session
from app.operations.keys import delete_expired_keys
from tests.api.kms import Kms, audit_events
from tests.certificates import self_signed_ca_pem
from tests.conftest import ACCOUNT
from tests.pkcs11.conftest import (
    PIN,
    STORE_PIN,
    STORE_TOKEN_LABEL,
    TOKEN_LABEL,
    SoftHsm,
    token_removed,
)

STORES = "/v1/custom-key-stores"


@pytest.fixture
def settings(softhsm: SoftHsm, tmp_path: Path) -> Settings:
    """A data directory with a file root key and the SoftHSM module configured."""
    env = {
        "TRENT_DATA_DIR": str(tmp_path / "var"),
        "TRENT_SCHEDULER_INTERVAL": "0",
        "TRENT_PKCS11_MODULE": str(softhsm.module),
    }
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    return load_settings(env)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    # PKCS#11 logs a process in per token while any of its sessions is open:
    # close this app's, so the next test's logins check their PIN again.
    app.extensions["trent"].services.tokens.close_all()


@pytest.fixture
def kms(app: Flask, settings: Settings) -> Kms:
    return Kms(app.test_client(), LocalIssuer.load(settings).mint(ACCOUNT, root=True))


@pytest.fixture
def cluster_id(settings: Settings) -> str:
    assert settings.pkcs11_module is not None
    (token,) = [t for t in list_tokens(settings.pkcs11_module) if t.label == STORE_TOKEN_LABEL]
    return token.cluster_id


def _create_store(kms: Kms, cluster_id: str, **extra: Any) -> str:
    body = {
        "CustomKeyStoreName": "payments-hsm",
        "CloudHsmClusterId": cluster_id,
        "KeyStorePassword": STORE_PIN,
        **extra,
    }
    created = kms.post(STORES, body)
    assert created.status_code == 200, created.get_data(as_text=True)
    store_id = str(created.get_json()["CustomKeyStoreId"])
    assert store_id.startswith("cks-") and len(store_id) == 21
    return store_id


def _describe(kms: Kms, store_id: str) -> dict[str, Any]:
    found = kms.get(STORES, CustomKeyStoreId=store_id)
    assert found.status_code == 200, found.get_data(as_text=True)
    (entry,) = found.get_json()["CustomKeyStores"]
    return dict(entry)


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


@pytest.fixture
def connected(kms: Kms, cluster_id: str) -> str:
    store_id = _create_store(kms, cluster_id)
    assert kms.post(f"{STORES}/{store_id}/connect").status_code == 200
    assert _describe(kms, store_id)["ConnectionState"] == "CONNECTED"
    return store_id


def _token_key(kms: Kms, store_id: str) -> dict[str, Any]:
    created = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)
    assert created.status_code == 200, created.get_data(as_text=True)
    return dict(created.get_json()["KeyMetadata"])


@contextmanager
def _token_objects(settings: Settings, label: str) -> Iterator[list[Any]]:
    """The secret key objects labelled ``label`` in the store's token."""
    assert settings.pkcs11_module is not None
    session = open_session(settings.pkcs11_module, STORE_TOKEN_LABEL, lambda: STORE_PIN, rw=False)
    try:
        yield list(
            session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label})
        )
    finally:
        session.close()


def _count_objects(settings: Settings, label: str) -> int:
    with _token_objects(settings, label) as found:
        return len(found)


# -- the store's life ------------------------------------------------------


def test_a_store_is_created_disconnected_and_connects(
    kms: Kms, cluster_id: str, settings: Settings
) -> None:
    anchor = self_signed_ca_pem("cluster CA")
    store_id = _create_store(kms, cluster_id, TrustAnchorCertificate=anchor)
    entry = _describe(kms, store_id)
    assert entry["ConnectionState"] == "DISCONNECTED"
    assert entry["CustomKeyStoreName"] == "payments-hsm"
    assert entry["CloudHsmClusterId"] == cluster_id
    assert entry["CustomKeyStoreType"] == "AWS_CLOUDHSM"
    assert entry["TrustAnchorCertificate"] == anchor
    assert "ConnectionErrorCode" not in entry
    # Not connected: no key can be made in it yet.
    refused = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)
    _error(refused, 400, "CustomKeyStoreInvalidStateException")
    assert kms.post(f"{STORES}/{store_id}/connect").status_code == 200
    assert _describe(kms, store_id)["ConnectionState"] == "CONNECTED"
    # Connecting a connected store changes nothing.
    assert kms.post(f"{STORES}/{store_id}/connect").status_code == 200
    by_name = kms.get(STORES, CustomKeyStoreName="payments-hsm").get_json()
    assert [s["CustomKeyStoreId"] for s in by_name["CustomKeyStores"]] == [store_id]
    # The AWS door answers the same entries.
    aws = kms.aws("DescribeCustomKeyStores", {})
    assert aws.status_code == 200
    assert json.loads(aws.get_data())["CustomKeyStores"][0]["ConnectionState"] == "CONNECTED"


def test_keys_in_a_store_encrypt_and_decrypt_in_the_token(
    kms: Kms, connected: str, cluster_id: str, settings: Settings
) -> None:
    metadata = _token_key(kms, connected)
    assert metadata["Origin"] == "AWS_CLOUDHSM"
    assert metadata["CustomKeyStoreId"] == connected
    assert metadata["CloudHsmClusterId"] == cluster_id
    key_id = metadata["KeyId"]
    described = kms.describe(key_id).get_json()["KeyMetadata"]
    assert described["CustomKeyStoreId"] == connected
    assert described["CloudHsmClusterId"] == cluster_id
    context = {"purpose": "test"}
    sealed = kms.encrypt(key_id, b"in the token", context=context)
    assert sealed.status_code == 200, sealed.get_data(as_text=True)
    blob = sealed.get_json()["CiphertextBlob"]
    raw = base64.b64decode(blob)
    assert raw[:2] == b"\x01\x02"  # format 1, suite 2: AES-GCM in a token
    opened = kms.decrypt(blob, context=context)
    assert opened.status_code == 200
    assert base64.b64decode(opened.get_json()["Plaintext"]) == b"in the token"
    assert opened.get_json()["KeyMaterialId"] == metadata["CurrentKeyMaterialId"]
    # A changed byte, or another context, is an invalid ciphertext (400), never a 5xx.
    for bad in (raw[:-1] + bytes([raw[-1] ^ 1]), raw[:40] + bytes([raw[40] ^ 1]) + raw[41:]):
        refused = kms.decrypt(base64.b64encode(bad).decode(), context=context)
        _error(refused, 400, "InvalidCiphertextException")
    _error(kms.decrypt(blob, context={"purpose": "other"}), 400, "InvalidCiphertextException")
    # A data key made under the token key decrypts with Decrypt.
    data_key = kms.data_key(key_id, KeySpec="AES_256", EncryptionContext=context).get_json()
    back = kms.decrypt(data_key["CiphertextBlob"], context=context).get_json()
    assert back["Plaintext"] == data_key["Plaintext"]
    # ReEncrypt from the token key to a key of the service, and back.
    plain_key = kms.new_key()
    moved = kms.post(
        "/v1/re-encrypt",
        {
            "CiphertextBlob": blob,
            "SourceEncryptionContext": context,
            "DestinationKeyId": plain_key,
        },
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)
    home = kms.post(
        "/v1/re-encrypt",
        {
            "CiphertextBlob": moved.get_json()["CiphertextBlob"],
            "DestinationEncryptionContext": context,
            "DestinationKeyId": key_id,
        },
    )
    assert home.status_code == 200, home.get_data(as_text=True)
    final = kms.decrypt(home.get_json()["CiphertextBlob"], context=context).get_json()
    assert base64.b64decode(final["Plaintext"]) == b"in the token"


def test_the_material_is_made_in_the_token_and_never_leaves_it(
    kms: Kms, connected: str, settings: Settings
) -> None:
    metadata = _token_key(kms, connected)
    with _token_objects(settings, f"{metadata['Arn']}#1") as (key,):
        assert key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE]
        assert key[Attribute.ENCRYPT] and key[Attribute.DECRYPT]
        for use in (Attribute.WRAP, Attribute.UNWRAP, Attribute.SIGN, Attribute.DERIVE):
            assert not key[use]
        assert key[Attribute.VALUE_LEN] == 32
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]
        object_id = bytes(key[Attribute.ID])
    # The database holds a sealed reference and a sealed PIN: neither the PIN
    # nor the token's object id in clear.
    database = (settings.data_dir / "trent.db").read_bytes()
    for wal in settings.data_dir.glob("trent.db-wal"):
        database += wal.read_bytes()
    assert STORE_PIN.encode() not in database
    assert object_id not in database


def test_a_disconnected_store_makes_its_keys_unavailable_until_it_is_connected(
    kms: Kms, connected: str
) -> None:
    key_id = _token_key(kms, connected)["KeyId"]
    blob = kms.encrypt(key_id, b"x").get_json()["CiphertextBlob"]
    assert kms.post(f"{STORES}/{connected}/disconnect").status_code == 200
    assert _describe(kms, connected)["ConnectionState"] == "DISCONNECTED"
    message = _error(kms.encrypt(key_id, b"x"), 409, "KMSInvalidStateException")
    assert message.endswith("is unavailable.")
    _error(kms.decrypt(blob), 409, "KMSInvalidStateException")
    random = kms.post("/v1/random", {"NumberOfBytes": 8, "CustomKeyStoreId": connected})
    _error(random, 400, "CustomKeyStoreInvalidStateException")
    # Disconnecting twice is refused, as AWS refuses it.
    _error(kms.post(f"{STORES}/{connected}/disconnect"), 400, "CustomKeyStoreInvalidStateException")
    assert kms.post(f"{STORES}/{connected}/connect").status_code == 200
    opened = kms.decrypt(blob)
    assert opened.status_code == 200 and base64.b64decode(opened.get_json()["Plaintext"]) == b"x"


def test_random_bytes_come_from_the_store(kms: Kms, connected: str) -> None:
    answers = [
        kms.post("/v1/random", {"NumberOfBytes": 32, "CustomKeyStoreId": connected})
        for _ in range(2)
    ]
    values = []
    for answer in answers:
        assert answer.status_code == 200, answer.get_data(as_text=True)
        values.append(base64.b64decode(answer.get_json()["Plaintext"]))
    assert [len(v) for v in values] == [32, 32] and values[0] != values[1]
    _error(
        kms.post("/v1/random", {"NumberOfBytes": 8, "CustomKeyStoreId": "cks-00000000000000000"}),
        400,
        "CustomKeyStoreNotFoundException",
    )


def test_what_keys_in_a_store_cannot_do(kms: Kms, connected: str) -> None:
    key_id = _token_key(kms, connected)["KeyId"]
    _error(kms.put(f"/v1/keys/{key_id}/rotation", {}), 400, "UnsupportedOperationException")
    _error(kms.post(f"/v1/keys/{key_id}/rotations"), 400, "UnsupportedOperationException")
    pair = kms.post(f"/v1/keys/{key_id}/data-key-pair", {"KeyPairSpec": "ECC_NIST_P256"})
    _error(pair, 400, "UnsupportedOperationException")
    hmac_in_store = kms.create_key(
        Origin="AWS_CLOUDHSM",
        CustomKeyStoreId=connected,
        KeySpec="HMAC_256",
        KeyUsage="GENERATE_VERIFY_MAC",
    )
    _error(hmac_in_store, 400, "UnsupportedOperationException")
    _error(kms.create_key(Origin="AWS_CLOUDHSM"), 400, "ValidationException")
    _error(kms.create_key(CustomKeyStoreId=connected), 400, "ValidationException")


def test_deleting_a_store_needs_it_disconnected_and_empty(
    kms: Kms, connected: str, settings: Settings
) -> None:
    metadata = _token_key(kms, connected)
    key_id = metadata["KeyId"]
    _error(kms.delete(f"{STORES}/{connected}"), 400, "CustomKeyStoreInvalidStateException")
    assert kms.post(f"{STORES}/{connected}/disconnect").status_code == 200
    _error(kms.delete(f"{STORES}/{connected}"), 400, "CustomKeyStoreHasCMKsException")
    # The key's deletion, once due, destroys its object in the token (the store connected).
    assert kms.post(f"{STORES}/{connected}/connect").status_code == 200
    assert kms.schedule_deletion(key_id, 7).status_code == 200
    label = f"{metadata['Arn']}#1"
    assert _count_objects(settings, label) == 1
    store = open_store(settings, cache=False)
    later = build_services(settings, store, clock=lambda: time.time() + 8 * 86400)
    with later.connection():
        assert delete_expired_keys(later) == [metadata["Arn"]]
    assert _count_objects(settings, label) == 0
    assert kms.post(f"{STORES}/{connected}/disconnect").status_code == 200
    assert kms.delete(f"{STORES}/{connected}").status_code == 200
    _error(kms.get(STORES, CustomKeyStoreId=connected), 400, "CustomKeyStoreNotFoundException")
    events = [e["eventName"] for e in audit_events(settings)]
    for name in (
        "CreateCustomKeyStore",
        "ConnectCustomKeyStore",
        "DisconnectCustomKeyStore",
        "DeleteCustomKeyStore",
        "DeleteKey",
    ):
        assert name in events


def test_a_wrong_password_fails_the_connection_until_it_is_updated(
    kms: Kms, cluster_id: str, settings: Settings
) -> None:
    store_id = _create_store(kms, cluster_id, KeyStorePassword="not-the-pin")
    assert kms.post(f"{STORES}/{store_id}/connect").status_code == 200
    entry = _describe(kms, store_id)
    assert entry["ConnectionState"] == "FAILED"
    assert entry["ConnectionErrorCode"] == "INVALID_CREDENTIALS"
    # A FAILED store must be disconnected before it is connected again (AWS's rule).
    _error(kms.post(f"{STORES}/{store_id}/connect"), 400, "CustomKeyStoreInvalidStateException")
    # Its password can change only while it is disconnected.
    refused = kms.patch(f"{STORES}/{store_id}", {"KeyStorePassword": STORE_PIN})
    _error(refused, 400, "CustomKeyStoreInvalidStateException")
    assert kms.post(f"{STORES}/{store_id}/disconnect").status_code == 200
    assert kms.patch(f"{STORES}/{store_id}", {"KeyStorePassword": STORE_PIN}).status_code == 200
    assert kms.post(f"{STORES}/{store_id}/connect").status_code == 200
    entry = _describe(kms, store_id)
    assert entry["ConnectionState"] == "CONNECTED" and "ConnectionErrorCode" not in entry
    # Neither password is in the audit log or its database.
    database = (settings.data_dir / "trent.db").read_bytes()
    for wal in settings.data_dir.glob("trent.db-wal"):
        database += wal.read_bytes()
    for secret in (b"not-the-pin", STORE_PIN.encode()):
        assert secret not in database
    for event in audit_events(settings):
        assert "not-the-pin" not in str(event) and STORE_PIN not in str(event)


def test_a_store_can_be_renamed_while_connected(kms: Kms, connected: str) -> None:
    assert (
        kms.patch(f"{STORES}/{connected}", {"NewCustomKeyStoreName": "renamed"}).status_code == 200
    )
    assert _describe(kms, connected)["CustomKeyStoreName"] == "renamed"


def test_what_creating_a_store_refuses(kms: Kms, cluster_id: str) -> None:
    def create(**body: Any) -> Any:
        return kms.post(
            STORES,
            {
                "CustomKeyStoreName": "s",
                "CloudHsmClusterId": cluster_id,
                "KeyStorePassword": STORE_PIN,
                **body,
            },
        )

    _error(create(CloudHsmClusterId="cluster-aaaaaaaaaaa"), 400, "CloudHsmClusterNotFoundException")
    _error(create(TrustAnchorCertificate="not a certificate"), 400, "IncorrectTrustAnchorException")
    _error(create(CustomKeyStoreType="EXTERNAL_KEY_STORE"), 400, "UnsupportedOperationException")
    _error(create(XksProxyUriPath="/kms/xks/v1"), 400, "UnsupportedOperationException")
    short = create(KeyStorePassword="12")
    message = _error(short, 400, "ValidationException")
    assert "12" not in message.replace("712", "")  # the PIN is never quoted
    _create_store(kms, cluster_id)
    _error(
        create(CustomKeyStoreName="payments-hsm", CloudHsmClusterId=cluster_id),
        400,
        "CustomKeyStoreNameInUseException",
    )
    _error(create(CustomKeyStoreName="another"), 400, "CloudHsmClusterInUseException")


def test_another_accounts_store_is_not_found(
    kms: Kms, connected: str, app: Flask, settings: Settings
) -> None:
    other = Kms(app.test_client(), LocalIssuer.load(settings).mint("444455556666", root=True))
    _error(other.get(STORES, CustomKeyStoreId=connected), 400, "CustomKeyStoreNotFoundException")
    _error(other.post(f"{STORES}/{connected}/disconnect"), 400, "CustomKeyStoreNotFoundException")
    refused = other.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected)
    _error(refused, 400, "CustomKeyStoreNotFoundException")
    assert other.get(STORES).get_json()["CustomKeyStores"] == []


def test_a_token_gone_is_a_503_and_the_store_recovers(
    kms: Kms, connected: str, softhsm: SoftHsm
) -> None:
    key_id = _token_key(kms, connected)["KeyId"]
    blob = kms.encrypt(key_id, b"still here").get_json()["CiphertextBlob"]
    with token_removed(softhsm):
        for refused in (kms.encrypt(key_id, b"x"), kms.decrypt(blob)):
            message = _error(refused, 503, "ServiceUnavailableException")
            # The reason is for the operator's log, not the client.
            assert STORE_TOKEN_LABEL not in message and "softhsm" not in message
    opened = kms.decrypt(blob)
    assert opened.status_code == 200, opened.get_data(as_text=True)
    assert base64.b64decode(opened.get_json()["Plaintext"]) == b"still here"


def test_a_store_moves_only_to_a_token_that_holds_its_keys(
    kms: Kms, connected: str, settings: Settings
) -> None:
    assert settings.pkcs11_module is not None
    (other,) = [t for t in list_tokens(settings.pkcs11_module) if t.label == TOKEN_LABEL]
    move = {"CloudHsmClusterId": other.cluster_id, "KeyStorePassword": PIN}
    _error(kms.patch(f"{STORES}/{connected}", move), 400, "CustomKeyStoreInvalidStateException")
    _token_key(kms, connected)
    assert kms.post(f"{STORES}/{connected}/disconnect").status_code == 200
    refused = kms.patch(f"{STORES}/{connected}", move)
    _error(refused, 400, "CloudHsmClusterNotRelatedException")
    assert _describe(kms, connected)["CloudHsmClusterId"] != other.cluster_id


def test_an_empty_store_moves_to_another_token(
    kms: Kms, cluster_id: str, settings: Settings
) -> None:
    assert settings.pkcs11_module is not None
    (other,) = [t for t in list_tokens(settings.pkcs11_module) if t.label == TOKEN_LABEL]
    store_id = _create_store(kms, cluster_id)
    moved = kms.patch(
        f"{STORES}/{store_id}", {"CloudHsmClusterId": other.cluster_id, "KeyStorePassword": PIN}
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert _describe(kms, store_id)["CloudHsmClusterId"] == other.cluster_id
    assert kms.post(f"{STORES}/{store_id}/connect").status_code == 200
    assert _describe(kms, store_id)["ConnectionState"] == "CONNECTED"
    key_id = _token_key(kms, store_id)["KeyId"]
    blob = kms.encrypt(key_id, b"on the other token").get_json()["CiphertextBlob"]
    assert kms.decrypt(blob).status_code == 200


def test_root_key_migration_both_ways_carries_the_stores(
    kms: Kms, connected: str, app: Flask, settings: Settings, softhsm: SoftHsm, key_label: str
) -> None:
    """The store's sealed password and its keys' sealed token references move
    to the token's root key and back; the keys work after each move."""
    key_id = _token_key(kms, connected)["KeyId"]
    blob = kms.encrypt(key_id, b"survives migrations").get_json()["CiphertextBlob"]
    app.extensions["trent"].services.tokens.close_all()

    def check(on: Settings) -> None:
        migrated = create_app(on)
        try:
            client = Kms(migrated.test_client(), LocalIssuer.load(on).mint(ACCOUNT, root=True))
            assert client.post(f"{STORES}/{connected}/disconnect").status_code == 200
            assert client.post(f"{STORES}/{connected}/connect").status_code == 200
            assert _describe(client, connected)["ConnectionState"] == "CONNECTED"
            opened = client.decrypt(blob)
            assert opened.status_code == 200, opened.get_data(as_text=True)
            assert base64.b64decode(opened.get_json()["Plaintext"]) == b"survives migrations"
        finally:
            migrated.extensions["trent"].services.tokens.close_all()

    env = {
        **softhsm.environment(settings.data_dir, key_label),
        "TRENT_PKCS11_MODULE": str(softhsm.module),
    }
    env.pop("TRENT_ROOT_KEY_PROVIDER")
    to_token = CliRunner().invoke(main, ["root-key", "migrate", "--to", "pkcs11"], env=env)
    assert to_token.exit_code == 0, to_token.output
    token_settings = softhsm.settings(settings.data_dir, key_label)
    check(token_settings)
    back = CliRunner().invoke(
        main,
        ["root-key", "migrate", "--to", "file"],
        env={**env, "TRENT_ROOT_KEY_PROVIDER": "pkcs11"},
    )
    assert back.exit_code == 0, back.output
    check(load_settings({**env, "TRENT_ROOT_KEY_PROVIDER": "file"}))


def test_a_backup_says_the_stores_key_material_is_not_in_it(
    kms: Kms, connected: str, settings: Settings, softhsm: SoftHsm, tmp_path: Path
) -> None:
    _token_key(kms, connected)
    env = {
        "TRENT_DATA_DIR": str(settings.data_dir),
        "TRENT_PKCS11_MODULE": str(softhsm.module),
        "TRENT_SCHEDULER_INTERVAL": "0",
    }
    made = CliRunner().invoke(main, ["backup", str(tmp_path / "backup")], env=env)
    assert made.exit_code == 0, made.output
    assert "not in it either: the key material of 1 custom key store(s)" in made.output
    assert f"not in it: the root key ({settings.root_key_path})" in made.output


def test_a_backup_of_a_token_root_key_service_points_at_the_token(
    softhsm: SoftHsm, token_settings: Settings, key_label: str, tmp_path: Path
) -> None:
    env = softhsm.environment(token_settings.data_dir, key_label)
    made = CliRunner().invoke(main, ["backup", str(tmp_path / "backup")], env=env)
    assert made.exit_code == 0, made.output
    assert f"in PKCS#11 token {TOKEN_LABEL!r}, label {key_label!r}" in made.output
    assert "custom key store" not in made.output
