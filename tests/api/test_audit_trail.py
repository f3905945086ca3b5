"""Every request leaves exactly one audit event; the log fails closed; no
secret ever reaches it."""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.audit.verify import verify
from app.config import Settings
from app.pipeline.runtime import runtime
from tests.api.kms import Kms, audit_events
from tests.conftest import (
    ACCOUNT,
    TokenFactory,
    b64,
    bearer,
    failing_audit_inserts,
    store_of,
    unb64,
)

events = audit_events


def summary(settings: Settings) -> list[tuple[str, str, str | None, int]]:
    return [
        (e["eventName"], e["outcome"], e["errorCode"], e["httpStatus"]) for e in events(settings)
    ]


def test_a_scripted_mix_of_calls_leaves_exactly_the_expected_events(
    app: Flask, client: FlaskClient, token: TokenFactory, settings: Settings
) -> None:
    root = Kms(client, token(root=True))
    stranger = Kms(client, token(user="stranger"))
    key_id = root.new_key(Description="audited")
    blob = root.ciphertext(key_id, b"audit me", {"app": "billing"})
    assert stranger.encrypt(key_id, b"x").status_code == 403
    assert root.post(f"/v1/keys/{key_id}/encrypt", {"Plaintext": "%%%"}).status_code == 400
    assert client.get("/v1/whoami").status_code == 401
    assert client.get("/v1/whoami", headers=bearer("not.a.token")).status_code == 401
    tampered = bytearray(unb64(blob))
    tampered[-1] ^= 1
    assert root.decrypt(b64(bytes(tampered)), {"app": "billing"}).status_code == 400
    assert root.describe("alias/missing").status_code == 404
    assert root.disable(key_id).status_code == 200
    assert root.encrypt(key_id, b"x").status_code == 409
    assert client.get("/healthz").status_code == 200  # operational probes are not audited
    assert summary(settings) == [
        ("CreateKey", "success", None, 200),
        ("Encrypt", "success", None, 200),
        ("Encrypt", "denied", "AccessDeniedException", 403),
        ("Encrypt", "failed", "ValidationException", 400),
        ("WhoAmI", "denied", "UnauthenticatedException", 401),
        ("WhoAmI", "denied", "UnauthenticatedException", 401),
        ("Decrypt", "failed", "InvalidCiphertextException", 400),
        ("DescribeKey", "failed", "NotFoundException", 404),
        ("DisableKey", "success", None, 200),
        ("Encrypt", "failed", "DisabledException", 409),
    ]
    recorded = events(settings)
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    encrypt_event = recorded[1]
    assert encrypt_event["principal"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert encrypt_event["resources"] == [key_arn]
    assert encrypt_event["encryptionContext"] == {"app": "billing"}
    assert encrypt_event["keyVersion"] == 1
    assert recorded[2]["principal"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/stranger"
    assert recorded[4]["principal"]["arn"] is None
    with app.app_context(), runtime().services.connection():
        report = verify(runtime().services.audit)
    assert report.ok, report.findings
    assert report.events_checked == len(recorded)


def test_request_ids_match_the_responses(
    client: FlaskClient, token: TokenFactory, settings: Settings
) -> None:
    response = client.get("/v1/keys", headers=bearer(token(root=True)))
    assert events(settings)[-1]["requestId"] == response.headers["X-Request-Id"]


def test_when_the_audit_log_cannot_be_written_nothing_secret_is_returned_and_nothing_changes(
    client: FlaskClient, token: TokenFactory, settings: Settings
) -> None:
    root = Kms(client, token(root=True))
    key_id = root.new_key()
    blob = root.ciphertext(key_id, b"fail closed")
    with failing_audit_inserts(settings):
        calls = {
            "encrypt": root.encrypt(key_id, b"fail closed"),
            "decrypt": root.decrypt(blob),
            "data key": root.data_key(key_id, KeySpec="AES_256"),
            "random": root.post("/v1/random", {"NumberOfBytes": 32}),
            "create": root.create_key(),
            "disable": root.disable(key_id),
            "schedule": root.schedule_deletion(key_id, 7),
            "alias": root.post("/v1/aliases", {"AliasName": "alias/x", "TargetKeyId": key_id}),
            "denied": Kms(client, token(user="x")).encrypt(key_id, b"x"),
            "invalid": root.post(f"/v1/keys/{key_id}/encrypt", {}),
        }
    for name, response in calls.items():
        assert response.status_code == 503, name
        body = response.get_json()
        assert set(body) == {"error"}, name
        assert body["error"]["code"] == "ServiceUnavailableException"
        assert response.headers["Retry-After"]
        text = response.get_data(as_text=True)
        assert "fail closed" not in text and b64(b"fail closed") not in text
    meta = root.describe(key_id).get_json()["KeyMetadata"]
    assert meta["KeyState"] == "Enabled"
    assert [k["KeyId"] for k in root.get("/v1/keys").get_json()["Keys"]] == [key_id]
    assert root.get("/v1/aliases").get_json()["Aliases"] == []


def test_a_full_disk_fails_closed(
    app: Flask, client: FlaskClient, token: TokenFactory, settings: Settings
) -> None:
    database = store_of(app).database
    root = Kms(client, token(root=True))
    key_id = root.new_key()
    # SQLite's page limit is how a test makes "the disk" full: any write that
    # needs one more page fails with SQLITE_FULL.
    database._pragmas.append(("max_page_count", 1))
    database.close_all()
    before = len(events(settings))
    succeeded = 0
    try:
        # Each call either succeeds with its event written or fails with 503
        # and no ciphertext; once the free space in the file's pages is used
        # up, every call fails.
        for _ in range(300):
            response = root.encrypt(key_id, b"disk full")
            if response.status_code == 503:
                assert "CiphertextBlob" not in response.get_data(as_text=True)
                break
            assert response.status_code == 200
            succeeded += 1
        else:
            pytest.fail("the simulated disk never filled up")
        created = root.create_key(Description="x" * 4000)
        assert created.status_code == 503
    finally:
        database._pragmas.pop()
        database.close_all()
    assert len(root.get("/v1/keys").get_json()["Keys"]) == 1
    assert len(events(settings)) == before + succeeded + 1  # + the ListKeys just now
    with app.app_context(), runtime().services.connection():
        assert verify(runtime().services.audit).ok


def test_no_plaintext_data_key_or_token_reaches_the_audit_log_or_the_logs(
    client: FlaskClient,
    token: TokenFactory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("peewee").setLevel(logging.INFO)  # as create_app sets it
    root_token = token(root=True)
    root = Kms(client, root_token)
    secrets: list[str] = [root_token]
    key_id = root.new_key()
    for i in range(5):
        plaintext = f"TOP-SECRET-PLAINTEXT-{i}".encode()
        blob = root.ciphertext(key_id, plaintext, {"n": str(i)})
        root.decrypt(blob, {"n": str(i)})
        data_key = root.data_key(key_id, KeySpec="AES_256").get_json()["Plaintext"]
        random = root.post("/v1/random", {"NumberOfBytes": 32}).get_json()["Plaintext"]
        secrets += [plaintext.decode(), b64(plaintext), data_key, random, blob]
    bad_token = token(user="eve") + "x"
    client.get("/v1/whoami", headers=bearer(bad_token))
    secrets.append(bad_token)
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PolicyBodyMarker",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    root.put(f"/v1/keys/{key_id}/policy", {"Policy": policy})
    secrets.append("PolicyBodyMarker")
    db = sqlite3.connect(settings.data_dir / "trent.db")
    rows = db.execute("SELECT * FROM audit_event").fetchall()
    db.close()
    dump = "\n".join(repr(row) for row in rows) + caplog.text
    for secret in secrets:
        assert secret not in dump
        assert secret.encode().hex() not in dump
