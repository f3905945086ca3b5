"""``/v1/access-keys``: create, list and delete SigV4 access keys over REST.

The secret is shown once, in the creation response, and nowhere else: not in
listings, not in logs, and not in the database files (it is stored sealed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.auth.sigv4 import SignedRequest
from app.config import Settings
from app.operations.access_keys import sigv4_verifier
from app.pipeline.runtime import Runtime
from tests.conftest import ACCOUNT, OTHER_ACCOUNT, TokenFactory, bearer
from tests.unit.crypto.leaks import secret_spellings
from tests.unit.sigv4.signer import sign

URL = "/v1/access-keys"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def create(client: FlaskClient, token: str) -> dict[str, Any]:
    response = client.post(URL, json={}, headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    key: dict[str, Any] = response.get_json()["AccessKey"]
    return key


def listed(client: FlaskClient, token: str, **query: str) -> list[dict[str, Any]]:
    response = client.get(URL, query_string=query, headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    entries: list[dict[str, Any]] = response.get_json()["AccessKeyMetadata"]
    return entries


def error_of(response: Any) -> str:
    return str(response.get_json()["error"]["code"])


def test_create_returns_the_secret_once(client: FlaskClient, token: TokenFactory) -> None:
    alice = token(user="alice")
    key = create(client, alice)
    assert set(key) == {"AccessKeyId", "SecretAccessKey", "PrincipalArn", "CreateDate", "Status"}
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    assert key["PrincipalArn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert key["Status"] == "Active"
    # The listing never shows it again.
    response = client.get(URL, headers=bearer(alice))
    assert key["SecretAccessKey"] not in response.get_data(as_text=True)
    entries = response.get_json()["AccessKeyMetadata"]
    assert entries == [
        {
            "AccessKeyId": key["AccessKeyId"],
            "PrincipalArn": key["PrincipalArn"],
            "CreateDate": key["CreateDate"],
            "Status": "Active",
        }
    ]


def test_each_key_has_its_own_secret(client: FlaskClient, token: TokenFactory) -> None:
    alice = token(user="alice")
    first, second = create(client, alice), create(client, alice)
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert first["SecretAccessKey"] != second["SecretAccessKey"]


def test_listing_shows_only_the_callers_keys(client: FlaskClient, token: TokenFactory) -> None:
    alice_key = create(client, token(user="alice"))
    create(client, token(user="bob"))
    create(client, token(account=OTHER_ACCOUNT, user="alice"))
    assert [e["AccessKeyId"] for e in listed(client, token(user="alice"))] == [
        alice_key["AccessKeyId"]
    ]
    assert listed(client, token(role="App")) == []


def test_the_root_lists_another_principals_keys(client: FlaskClient, token: TokenFactory) -> None:
    key = create(client, token(user="alice"))
    alice_arn = f"arn:aws:iam::{ACCOUNT}:user/alice"
    entries = listed(client, token(root=True), PrincipalArn=alice_arn)
    assert [e["AccessKeyId"] for e in entries] == [key["AccessKeyId"]]
    response = client.get(
        URL, query_string={"PrincipalArn": alice_arn}, headers=bearer(token(user="bob"))
    )
    assert response.status_code == 403
    assert error_of(response) == "AccessDeniedException"


def test_a_third_key_exceeds_the_quota(client: FlaskClient, token: TokenFactory) -> None:
    alice = token(user="alice")
    create(client, alice)
    create(client, alice)
    response = client.post(URL, json={}, headers=bearer(alice))
    assert response.status_code == 400
    assert error_of(response) == "LimitExceededException"


def test_the_owner_deletes_a_key(client: FlaskClient, token: TokenFactory) -> None:
    alice = token(user="alice")
    key = create(client, alice)
    response = client.delete(f"{URL}/{key['AccessKeyId']}", headers=bearer(alice))
    assert response.status_code == 200
    assert listed(client, alice) == []
    again = client.delete(f"{URL}/{key['AccessKeyId']}", headers=bearer(alice))
    assert again.status_code == 404
    assert error_of(again) == "NotFoundException"


def test_deleting_another_principals_key_is_forbidden(
    client: FlaskClient, token: TokenFactory
) -> None:
    key = create(client, token(user="alice"))
    for other in (token(user="bob"), token(role="Admin"), token(account=OTHER_ACCOUNT, root=True)):
        response = client.delete(f"{URL}/{key['AccessKeyId']}", headers=bearer(other))
        assert response.status_code == 403
        assert error_of(response) == "AccessDeniedException"
    assert len(listed(client, token(user="alice"))) == 1


def test_the_account_root_deletes_any_key_of_its_account(
    client: FlaskClient, token: TokenFactory
) -> None:
    key = create(client, token(user="alice"))
    response = client.delete(f"{URL}/{key['AccessKeyId']}", headers=bearer(token(root=True)))
    assert response.status_code == 200
    assert listed(client, token(user="alice")) == []


def test_bad_input_is_a_400(client: FlaskClient, token: TokenFactory) -> None:
    alice = token(user="alice")
    cases = [
        client.post(URL, json={"PrincipalArn": "x"}, headers=bearer(alice)),
        client.get(URL, query_string={"Limit": "1"}, headers=bearer(alice)),
        client.delete(f"{URL}/short", headers=bearer(alice)),
        client.delete(f"{URL}/{'A' * 129}", headers=bearer(alice)),
        client.delete(f"{URL}/AKIA%2E%2EAAAAAAAAAAAAAA", headers=bearer(alice)),
    ]
    for response in cases:
        assert response.status_code == 400, response.get_data(as_text=True)
        assert error_of(response) == "ValidationException"


def test_every_route_needs_a_token(client: FlaskClient) -> None:
    for response in (
        client.post(URL, json={}),
        client.get(URL),
        client.delete(f"{URL}/AKIAAAAAAAAAAAAAAAAA"),
    ):
        assert response.status_code == 401
        assert error_of(response) == "UnauthenticatedException"


def test_the_secret_is_stored_only_sealed(
    client: FlaskClient, token: TokenFactory, settings: Settings, logs: pytest.LogCaptureFixture
) -> None:
    keys = [create(client, token(user="alice")), create(client, token(user="bob"))]
    database_files = [p for p in Path(settings.data_dir).glob("trent.db*") if p.is_file()]
    assert Path(settings.data_dir) / "trent.db" in database_files
    contents = b"".join(p.read_bytes() for p in database_files)
    for key in keys:
        # The id is stored in clear (it is looked up), the secret in no spelling.
        assert key["AccessKeyId"].encode() in contents
        secret = key["SecretAccessKey"].encode()
        for spelling in secret_spellings(secret):
            assert spelling.encode("latin-1") not in contents
        assert key["SecretAccessKey"] not in logs.text


def test_a_created_key_signs_requests_the_aws_door_accepts(
    app: Flask, client: FlaskClient, token: TokenFactory
) -> None:
    key = create(client, token(user="alice", tags={"team": "payments"}))
    runtime = app.extensions["trent"]
    assert isinstance(runtime, Runtime)
    services = runtime.services
    now = datetime.now(tz=UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    body = b'{"Limit": 10}'
    headers = [
        ("Host", "localhost"),
        ("X-Amz-Target", "TrentService.ListKeys"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Date", amz_date),
    ]
    signed = sign(
        method="POST",
        path="/",
        headers=headers,
        body=body,
        access_key_id=key["AccessKeyId"],
        secret=key["SecretAccessKey"],
        region=services.settings.region,
        service="kms",
        amz_date=amz_date,
    )
    with services.connection():
        principal = sigv4_verifier(services).verify(
            SignedRequest("POST", "/", "", tuple(signed.headers), body)
        )
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert dict(principal.tags) == {"team": "payments"}
    assert principal.auth_method == "sigv4"
    assert principal.token_id == key["AccessKeyId"]


def test_the_routes_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"post", "get"} <= set(paths[URL])
    assert "delete" in paths[URL + "/{AccessKeyId}"]
