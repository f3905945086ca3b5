"""A body is UTF-8: a Content-Type that declares another charset is refused.

``application/json; charset=latin-1`` (or utf-16) used to be read as UTF-8
and accepted, so the service could act on other text than the caller sent.
Both doors, with the fast lane on and off.
"""

from __future__ import annotations

import base64
import json

import pytest
from flask import Flask

from app import create_app
from app.config import Settings
from tests.api.kms import Kms
from tests.conftest import TokenFactory, bearer

PLAINTEXT = base64.b64encode(b"secret").decode()
REFUSED = ["latin-1", "ISO-8859-1", "utf-16", "utf-32", "ascii", '"windows-1252"']
ACCEPTED = ["utf-8", "UTF-8", "utf8", '"utf-8"']


@pytest.fixture
def served(settings: Settings) -> Flask:
    return create_app(settings)


def _key(app: Flask, token: str) -> str:
    created = app.test_client().post("/v1/keys", json={}, headers=bearer(token))
    return str(created.get_json()["KeyMetadata"]["KeyId"])


def _rest(app: Flask, token: str, key_id: str, content_type: str) -> tuple[int, dict[str, object]]:
    response = app.test_client().post(
        f"/v1/keys/{key_id}/encrypt",
        data=json.dumps({"Plaintext": PLAINTEXT}).encode(),
        headers={**bearer(token), "Content-Type": content_type},
    )
    return response.status_code, response.get_json()


def _aws(app: Flask, token: str, key_id: str, content_type: str) -> tuple[int, dict[str, object]]:
    response = Kms(app.test_client(), token).aws(
        "Encrypt", {"KeyId": key_id, "Plaintext": PLAINTEXT}, content_type=content_type
    )
    return response.status_code, json.loads(response.get_data())


@pytest.mark.parametrize("charset", REFUSED)
def test_another_charset_is_refused_on_both_doors(
    served: Flask, token: TokenFactory, charset: str
) -> None:
    root = token(root=True)
    key_id = _key(served, root)
    status, body = _rest(served, root, key_id, f"application/json; charset={charset}")
    assert status == 400, body
    assert body["error"]["code"] == "ValidationException"  # type: ignore[index]
    assert "UTF-8" in body["error"]["message"]  # type: ignore[index]
    status, body = _aws(served, root, key_id, f"application/x-amz-json-1.1; charset={charset}")
    assert status == 400, body
    assert body["__type"] == "SerializationException"
    assert "UTF-8" in str(body["message"])


@pytest.mark.parametrize("charset", ACCEPTED)
def test_utf8_declared_or_not_is_served(served: Flask, token: TokenFactory, charset: str) -> None:
    root = token(root=True)
    key_id = _key(served, root)
    for content_type in (f"application/json; charset={charset}", "application/json"):
        status, body = _rest(served, root, key_id, content_type)
        assert status == 200, body
    for content_type in (
        f"application/x-amz-json-1.1; charset={charset}",
        "application/x-amz-json-1.1",
    ):
        status, body = _aws(served, root, key_id, content_type)
        assert status == 200, body
