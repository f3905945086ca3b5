"""What the console's tests share: a signed-in Flask test client, the
CSRF token of a page, and a denied Encrypt to look for."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.conftest import b64, bearer


def sign_in(client: FlaskClient, token: str) -> None:
    answer = client.post("/console/login", data={"token": token})
    assert answer.status_code == 303, answer.data


def csrf_of(page: bytes) -> str:
    found = re.search(rb'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None, page
    return found.group(1).decode()


def key_with_alias(client: FlaskClient, root: str, alias: str) -> str:
    created = client.post("/v1/keys", json={}, headers=bearer(root))
    key_id = str(created.get_json()["KeyMetadata"]["KeyId"])
    named = client.post(
        "/v1/aliases", json={"AliasName": alias, "TargetKeyId": key_id}, headers=bearer(root)
    )
    assert named.status_code == 200, named.data
    return key_id


def denied_encrypt(client: FlaskClient, user: str, key_id: str) -> None:
    answer = client.post(
        f"/v1/keys/{key_id}/encrypt",
        json={"Plaintext": b64(b"card 4111 1111 1111 1111")},
        headers=bearer(user),
    )
    assert answer.status_code == 403, answer.data
