"""A method a URL does not answer is a 405 naming the methods it does.

``GET /v1/keys/{id}/encrypt`` used to be DescribeKey of the key
``"{id}/encrypt"`` (404 "Invalid keyId"), because a KeyId may contain ``/``.
Every route of the map is walked: for each URL, the methods its rules
declare are the ones it answers, and any other method is a 405 in the REST
error shape with an ``Allow`` header that lists exactly those.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ACCOUNT, TokenFactory, bearer

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: A value for each path argument of the map (a key id is filled in per test).
SAMPLES = {
    "alias_name": "alias/method-test",
    "principal_arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "policy_name": "p1",
    "event_id": "00000000-0000-4000-8000-000000000000",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
}


def _urls(app: Flask, key_id: str) -> dict[str, set[str]]:
    """Each concrete URL of the map, and the methods its rules declare."""
    adapter = app.url_map.bind("localhost")
    declared: dict[str, set[str]] = defaultdict(set)
    for rule in app.url_map.iter_rules():
        values = {name: SAMPLES.get(name, key_id) for name in rule.arguments}
        url = adapter.build(rule.endpoint, values, method=sorted(rule.methods or ())[0])
        declared[url] |= set(rule.methods or ())
    return declared


def test_every_url_answers_a_method_it_does_not_allow_with_405_and_allow(
    app: Flask, client: FlaskClient, token: TokenFactory
) -> None:
    headers = bearer(token(root=True))
    created = client.post("/v1/keys", json={}, headers=headers)
    key_id = created.get_json()["KeyMetadata"]["KeyId"]
    urls = _urls(app, key_id)
    assert len(urls) > 30
    checked = 0
    for url, allowed in sorted(urls.items()):
        for method in METHODS:
            if method in allowed:
                continue
            response = client.open(url, method=method, headers=headers)
            where = f"{method} {url}"
            assert response.status_code == 405, (where, response.get_data(as_text=True))
            assert response.get_json()["error"]["code"] == "MethodNotAllowedException", where
            assert response.headers["Allow"] == ", ".join(sorted(allowed)), where
            checked += 1
    assert checked > 60


@pytest.mark.parametrize("suffix", ["encrypt", "data-key", "enable", "rotations"])
def test_get_on_a_post_only_key_route_is_405_not_describe_key(
    client: FlaskClient, token: TokenFactory, suffix: str
) -> None:
    headers = bearer(token(root=True))
    key_id = client.post("/v1/keys", json={}, headers=headers).get_json()["KeyMetadata"]["KeyId"]
    response = client.get(f"/v1/keys/{key_id}/{suffix}", headers=headers)
    if suffix == "rotations":  # ListKeyRotations answers GET
        assert response.status_code == 200
        response = client.put(f"/v1/keys/{key_id}/{suffix}", headers=headers)
    assert response.status_code == 405, response.get_data(as_text=True)
    assert "POST" in response.headers["Allow"].split(", ")
    assert "Invalid keyId" not in response.get_data(as_text=True)


def test_the_key_itself_is_still_described_by_id_arn_and_alias(
    client: FlaskClient, token: TokenFactory
) -> None:
    headers = bearer(token(root=True))
    metadata = client.post("/v1/keys", json={}, headers=headers).get_json()["KeyMetadata"]
    alias = client.post(
        "/v1/aliases",
        json={"AliasName": "alias/described", "TargetKeyId": metadata["KeyId"]},
        headers=headers,
    )
    assert alias.status_code == 200, alias.get_data(as_text=True)
    for key_id in (metadata["KeyId"], metadata["Arn"], "alias/described"):
        response = client.get("/v1/keys/" + key_id.replace("/", "%2F"), headers=headers)
        assert response.status_code == 200, (key_id, response.get_data(as_text=True))
        assert response.get_json()["KeyMetadata"]["KeyId"] == metadata["KeyId"]
