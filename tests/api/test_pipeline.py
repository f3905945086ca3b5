"""The one request pipeline (app.pipeline): what it guarantees for every
route of both doors, beyond what the per-operation tests show.

- every declared route is served, and the OpenAPI document and the route
  map are the same declarations;
- each request leaves exactly one audit event, written before the answer,
  and an answer that cannot be produced after that is a 500 without the
  result; an audit failure after the operation is a 503 without it;
- the REST door knows the caller before it reads the body;
- a body cut short, or a connection that breaks mid-body, is a 400;
- a Flask hook the pipeline would silently skip stops the application;
- ``HEAD`` and ``OPTIONS`` behave as Flask's did.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from app import create_app
from app.api import door as rest_door
from app.api.openapi import ROUTES
from app.awsapi.targets import TARGETS
from app.catalogue import KMS
from app.config import Settings
from app.console.routes import ROUTES as CONSOLE_ROUTES
from app.pipeline.pipeline import ROUTE_CACHE_SIZE, Pipeline
from tests.api.kms import Kms
from tests.api.test_audit_trail import events
from tests.conftest import TokenFactory, b64, bearer, failing_audit_inserts

PLAINTEXT = b64(b"p" * 1024)


def _key(root: Kms) -> str:
    return str(root.post("/v1/keys", {}).get_json()["KeyMetadata"]["KeyId"])


def _environ(path: str, body: bytes, token: str, **overrides: Any) -> dict[str, Any]:
    environ = EnvironBuilder(
        method="POST",
        path=path,
        data=body,
        headers={**bearer(token), "Content-Type": "application/json"},
    ).get_environ()
    environ.update(overrides)
    return environ


def _wsgi(app: Flask, environ: dict[str, Any]) -> tuple[str, bytes]:
    statuses: list[str] = []
    chunks = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    return statuses[0], b"".join(chunks)


def test_every_declared_route_is_in_the_map_and_nothing_else(app: Flask) -> None:
    doors = (*ROUTES, *CONSOLE_ROUTES)
    declared = {(route.rule, route.method) for route in doors} | {("/", "POST")}
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert served == declared
    assert isinstance(app.wsgi_app, Pipeline)


def test_each_route_names_its_operation_in_the_event(
    app: Flask, root: Kms, settings: Settings
) -> None:
    key_id = _key(root)
    before = len(events(settings))
    assert root.post(f"/v1/keys/{key_id}/disable").status_code == 200
    assert root.get(f"/v1/keys/{key_id}/rotation").status_code == 200
    assert root.post("/v1/random", {"NumberOfBytes": 8}).status_code == 200
    names = [event["eventName"] for event in events(settings)[before:]]
    assert names == ["DisableKey", "GetKeyRotationStatus", "GenerateRandom"]


def test_an_audit_failure_after_the_operation_is_a_503_without_the_result(
    root: Kms, settings: Settings, credentials: Any
) -> None:
    key_id = _key(root)
    with failing_audit_inserts(settings):
        rest = root.post(f"/v1/keys/{key_id}/encrypt", {"Plaintext": PLAINTEXT})
        aws = root.aws("Encrypt", {"KeyId": key_id, "Plaintext": PLAINTEXT})
        created = root.post("/v1/keys", {})
    for response in (rest, aws, created):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert "CiphertextBlob" not in response.get_data(as_text=True)
        assert "KeyMetadata" not in response.get_data(as_text=True)


def test_an_answer_that_cannot_be_encoded_is_a_500_without_the_result(
    root: Kms, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id = _key(root)

    def broken(*_: Any, **__: Any) -> Any:
        raise TypeError("not serializable")

    monkeypatch.setattr(rest_door, "jsonable", broken)
    before = len(events(settings))
    response = root.post(f"/v1/keys/{key_id}/encrypt", {"Plaintext": PLAINTEXT})
    monkeypatch.undo()
    assert response.status_code == 500
    assert "CiphertextBlob" not in response.get_data(as_text=True)
    # The operation succeeded and its event was written before the answer:
    # that one event stands (a second, failure event would contradict it).
    assert [e["outcome"] for e in events(settings)[before:]] == ["success"]


def test_the_rest_door_knows_the_caller_before_reading_the_body(app: Flask, root: Kms) -> None:
    class Untouchable(io.RawIOBase):
        reads = 0

        def read(self, size: int = -1) -> bytes:
            Untouchable.reads += 1
            return b""

    path = f"/v1/keys/{_key(root)}/encrypt"
    environ = _environ(path, json.dumps({"Plaintext": PLAINTEXT}).encode(), "forged.token.x")
    environ["wsgi.input"] = Untouchable()
    status, _ = _wsgi(app, environ)
    assert status.startswith("401")
    assert Untouchable.reads == 0


def test_a_body_shorter_than_its_content_length_is_refused(
    app: Flask, root: Kms, token: TokenFactory, settings: Settings
) -> None:
    # A client that declared more than it sent and went away: 400, even
    # though what arrived happens to be a complete request.
    path = f"/v1/keys/{_key(root)}/encrypt"
    body = json.dumps({"Plaintext": PLAINTEXT}).encode()
    before = len(events(settings))
    environ = _environ(path, body, token(root=True), CONTENT_LENGTH=str(len(body) + 10))
    status, answer = _wsgi(app, environ)
    assert status.startswith("400"), answer
    assert [e["outcome"] for e in events(settings)[before:]] == ["failed"]


def test_a_connection_that_breaks_mid_body_is_a_400(
    app: Flask, root: Kms, token: TokenFactory, settings: Settings
) -> None:
    class Broken(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise OSError("connection reset by peer")

    path = f"/v1/keys/{_key(root)}/encrypt"
    before = len(events(settings))
    environ = _environ(path, b"{}", token(root=True))
    environ["wsgi.input"] = Broken()
    status, body = _wsgi(app, environ)
    assert status.startswith("400"), body
    assert [e["outcome"] for e in events(settings)[before:]] == ["failed"]


def test_a_flask_hook_stops_the_application_rather_than_being_skipped(
    settings: Settings,
) -> None:
    app = create_app(settings)
    app.before_request(lambda: None)
    with pytest.raises(RuntimeError, match="before_request"):
        app.test_client().get("/healthz")


def test_a_query_parameter_a_route_does_not_declare_is_refused(root: Kms) -> None:
    key_id = _key(root)
    response = root.post(f"/v1/keys/{key_id}/encrypt?verbose=1", {"Plaintext": PLAINTEXT})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Unknown query parameter 'verbose'."
    assert root.get("/v1/whoami", x=1).status_code == 400
    declared = root.post(f"/v1/keys/{key_id}/data-key?plaintext=false", {"NumberOfBytes": 32})
    assert declared.status_code == 200
    assert "Plaintext" not in declared.get_json()


def test_a_member_in_both_the_path_and_the_body_is_refused(root: Kms) -> None:
    arn = "arn:aws:iam::111122223333:user/alice"
    response = root.put(
        f"/v1/principals/{quote(arn, safe='')}/policies/p1",
        {"PolicyName": "other", "PolicyDocument": "{}"},
    )
    assert response.status_code == 400
    assert "PolicyName is given in the path" in response.get_json()["error"]["message"]


def test_head_answers_get_without_a_body_and_options_names_the_methods(
    client: FlaskClient, root: Kms
) -> None:
    listed = client.get("/v1/keys", headers=root.headers)
    head = client.head("/v1/keys", headers=root.headers)
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.headers["Content-Length"] == listed.headers["Content-Length"]
    options = client.options("/v1/keys")
    assert options.status_code == 200
    assert options.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_the_route_cache_is_bounded(app: Flask, root: Kms) -> None:
    pipeline = app.wsgi_app
    assert isinstance(pipeline, Pipeline)
    for index in range(ROUTE_CACHE_SIZE + 10):
        pipeline._match("POST", f"/v1/keys/k{index}/encrypt")
    assert len(pipeline._matches) <= ROUTE_CACHE_SIZE
    response = root.post("/v1/keys/alias%2Fnothing/encrypt", {"Plaintext": PLAINTEXT})
    assert response.status_code == 404


def test_every_kms_operation_is_served_on_both_doors() -> None:
    # One catalogue pairs operations and schemas; the REST door serves each
    # at a path (GenerateDataKeyWithoutPlaintext is ?plaintext=false).
    rest = {route.name for route in ROUTES}
    chosen = {s for route in ROUTES if route.choice for s in route.choice.schemas.values()}
    for name, operation in KMS.items():
        assert TARGETS[name] is operation, name
        assert name in rest or operation.schema in chosen, name


def test_concurrent_requests_each_get_their_answer_and_one_event(
    app: Flask, root: Kms, token: TokenFactory, settings: Settings
) -> None:
    key_id = _key(root)
    before = len(events(settings))

    def encrypt_then_decrypt(index: int) -> bytes:
        kms = Kms(app.test_client(), token(root=True))
        secret = f"message {index}".encode()
        # A path of its own per thread as well: the route cache fills concurrently.
        path = f"/v1/keys/{quote(key_id if index % 2 else 'alias/none', safe='')}/encrypt"
        if index % 2 == 0:
            assert kms.post(path, {"Plaintext": b64(secret)}).status_code == 404
            return secret
        sealed = kms.post(path, {"Plaintext": b64(secret)})
        assert sealed.status_code == 200
        opened = kms.post("/v1/decrypt", {"CiphertextBlob": sealed.get_json()["CiphertextBlob"]})
        assert opened.status_code == 200
        return base64.b64decode(opened.get_json()["Plaintext"])

    run: Callable[[int], bytes] = encrypt_then_decrypt
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(64)))
    assert results == [f"message {index}".encode() for index in range(64)]
    outcomes = [e["outcome"] for e in events(settings)[before:]]
    assert sorted(outcomes) == sorted(["success"] * 64 + ["failed"] * 32)
