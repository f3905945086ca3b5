"""``/v1/whoami``, ``/healthz``, ``/readyz``, ``/openapi.json`` and authentication."""

from __future__ import annotations

import base64
import json

import pytest
from flask.testing import FlaskClient

from tests.conftest import ACCOUNT, TokenFactory, bearer


def test_whoami_returns_the_callers_principal(client: FlaskClient, token: TokenFactory) -> None:
    response = client.get("/v1/whoami", headers=bearer(token(user="alice", tags={"team": "pay"})))
    assert response.status_code == 200
    assert response.get_json() == {
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
        "Account": ACCOUNT,
        "Type": "user",
        "Name": "alice",
        "Tags": {"team": "pay"},
        "AuthMethod": "jwt",
    }


def test_whoami_for_a_role_and_for_the_account_root(
    client: FlaskClient, token: TokenFactory
) -> None:
    role = client.get("/v1/whoami", headers=bearer(token(role="App"))).get_json()
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/App"
    root = client.get("/v1/whoami", headers=bearer(token(root=True))).get_json()
    assert root["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert root["Type"] == "root"


def _forge(token: str, **claims: object) -> str:
    header, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded))
    data.update(claims)
    new_payload = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{new_payload}.{signature}"


BAD_AUTHORIZATION = {
    "missing": None,
    "empty": "",
    "basic scheme": "Basic YWxpY2U6cGFzcw==",
    "bearer without token": "Bearer ",
    "garbage": "Bearer not-a-token",
    "alg none": "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.",
    "huge": "Bearer " + "a" * 20000,
}


@pytest.mark.parametrize("value", list(BAD_AUTHORIZATION.values()), ids=list(BAD_AUTHORIZATION))
def test_every_bad_token_is_the_same_401(client: FlaskClient, value: str | None) -> None:
    headers = {} if value is None else {"Authorization": value}
    response = client.get("/v1/whoami", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.get_json()["error"]
    assert error["code"] == "UnauthenticatedException"
    assert error["message"] == "The request could not be authenticated."


def test_a_forged_claim_is_a_401(client: FlaskClient, token: TokenFactory) -> None:
    forged = _forge(
        token(user="alice"), sub=f"arn:aws:iam::{ACCOUNT}:root", **{"trent:type": "root"}
    )
    assert client.get("/v1/whoami", headers=bearer(forged)).status_code == 401


def test_two_authorization_headers_are_refused(client: FlaskClient, token: TokenFactory) -> None:
    response = client.get(
        "/v1/whoami",
        headers=[("Authorization", f"Bearer {token(user='a')}"), ("Authorization", "Bearer x")],
    )
    assert response.status_code == 401


def test_authentication_comes_before_anything_about_the_request(client: FlaskClient) -> None:
    # A malformed body from an unauthenticated caller is a 401, not a 400.
    response = client.post("/v1/keys", data=b"{not json", content_type="application/json")
    assert response.status_code == 401


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    # No audit writer process listens in a test: the worker appends its own events.
    assert ready.get_json()["checks"] == {
        "database": "ok",
        "root_key": "ok",
        "audit": "ok",
        "audit_writer": "in-process",
    }


def test_openapi_document_is_generated_from_the_schemas(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert "/v1/whoami" in document["paths"]
    encrypt = document["paths"]["/v1/keys/{KeyId}/encrypt"]["post"]
    schema = encrypt["requestBody"]["content"]["application/json"]["schema"]
    assert "Plaintext" in schema["required"]
    assert schema["properties"]["EncryptionContext"]["type"] == "object"
    create = document["paths"]["/v1/keys"]["post"]["requestBody"]["content"]["application/json"]
    assert create["schema"]["properties"]["Description"]["maxLength"] == 8192
    codes = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert "AccessDeniedException" in codes["code"]["enum"]
