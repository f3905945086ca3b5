"""The fast lane answers and audits exactly as the doors do.

Two applications share one data directory: one with the fast lane (the
default), one without (``TRENT_FAST_LANE=false``). Every request of a matrix
(plain and malformed, authorised and not, both doors, bearer and SigV4) is
sent to both; the answers must be the same byte for byte but for the request
id and the randomness of ciphertexts and data keys, and so must the audit
event each one leaves. Separately, the lane must actually serve the plain
requests (else this would prove nothing about it) and hand everything else
over.
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from flask import Flask

from app import create_app
from app.api.fast_lane import ROUTE_CACHE_SIZE, FastLane
from app.config import Settings, load_settings
from tests.conftest import TokenFactory, b64, bearer, failing_audit_inserts

JSON = "application/json"
JSON_11 = "application/x-amz-json-1.1"
PLAINTEXT = b64(b"p" * 1024)


@dataclass(frozen=True)
class Call:
    name: str
    path: str
    body: bytes
    headers: dict[str, str]
    #: The lane serves it itself (else it must hand it to the door).
    lane: bool = False
    sign: Credentials | None = None


class Apps:
    """The same data directory behind two applications, lane on and off."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plain = create_app(replace(settings, fast_lane=False))
        self.lane = create_app(settings)
        assert isinstance(self.lane.wsgi_app, FastLane)
        assert not isinstance(self.plain.wsgi_app, FastLane)
        self.handed_over: list[str] = []
        lane = self.lane.wsgi_app
        door = lane._next

        def counting(environ: dict[str, Any], start_response: Any) -> Any:
            self.handed_over.append(environ["PATH_INFO"])
            return door(environ, start_response)

        lane._next = counting

    def events(self) -> list[dict[str, Any]]:
        db = sqlite3.connect(self.settings.data_dir / "trent.db")
        try:
            rows = db.execute("SELECT body FROM audit_event ORDER BY seq").fetchall()
        finally:
            db.close()
        return [json.loads(bytes(row[0])) for row in rows]


@pytest.fixture
def apps(settings: Settings) -> Apps:
    return Apps(settings)


def _send(app: Flask, call: Call) -> Any:
    headers = dict(call.headers)
    if call.sign is not None:
        request = AWSRequest(
            method="POST", url=f"http://localhost{call.path}", data=call.body, headers=headers
        )
        SigV4Auth(call.sign, "kms", "us-east-1").add_auth(request)
        headers = dict(request.headers.items())
    return app.test_client().post(call.path, data=call.body, headers=headers)


_RANDOM_MEMBERS = ("CiphertextBlob", "Plaintext")


def _answer(response: Any) -> tuple[int, list[tuple[str, str]], Any]:
    """The answer with what differs by nature replaced: the request id, and
    blobs that are random (compared by length)."""
    request_id = response.headers.get("X-Request-Id")
    assert request_id
    headers = [(name, "<id>" if value == request_id else value) for name, value in response.headers]
    text = response.get_data(as_text=True)
    body: Any = json.loads(text) if text.strip() else None
    if isinstance(body, dict):
        for member in _RANDOM_MEMBERS:
            if member in body and body.get("KeyId"):
                body[member] = len(base64.b64decode(body[member]))
        error = body.get("error")
        if isinstance(error, dict) and error.get("request_id") == request_id:
            error["request_id"] = "<id>"
    return response.status_code, headers, (body, text.endswith("\n"))


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in event.items()
        if k not in ("eventId", "eventTime", "recordedAt", "requestId", "latencyUs")
    }


def _aws(target: str, body: dict[str, Any] | bytes, **options: Any) -> Call:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Amz-Target": f"TrentService.{target}", "Content-Type": JSON_11}
    headers.update(options.pop("headers", {}))
    return Call(f"aws {target}", "/", raw, headers, **options)


def _rest(path: str, body: dict[str, Any] | bytes, token: str, **options: Any) -> Call:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**bearer(token), "Content-Type": JSON}
    headers.update(options.pop("headers", {}))
    return Call(f"rest {path}", path, raw, headers, **options)


@pytest.fixture
def calls(apps: Apps, token: TokenFactory) -> list[Call]:
    root = token(root=True)
    client = apps.plain.test_client()

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers=bearer(root))
        assert response.status_code == 200, response.get_data(as_text=True)
        answer: dict[str, Any] = response.get_json()
        return answer

    key = post("/v1/keys", {})["KeyMetadata"]
    key_id, arn = key["KeyId"], key["Arn"]
    post("/v1/aliases", {"AliasName": "alias/app", "TargetKeyId": key_id})
    other = post("/v1/keys", {})["KeyMetadata"]["KeyId"]
    disabled = post("/v1/keys", {})["KeyMetadata"]["KeyId"]
    post(f"/v1/keys/{disabled}/disable", {})
    blob = post(
        f"/v1/keys/{key_id}/encrypt", {"Plaintext": PLAINTEXT, "EncryptionContext": {"a": "b"}}
    )["CiphertextBlob"]
    tampered = bytearray(base64.b64decode(blob))
    tampered[-1] ^= 1
    access = post("/v1/access-keys", {})["AccessKey"]
    signer = Credentials(access["AccessKeyId"], access["SecretAccessKey"])
    wrong = Credentials(access["AccessKeyId"], "x" * 40)
    stranger = token(user="stranger")
    alias = quote("alias/app", safe="")
    encrypt = f"/v1/keys/{key_id}/encrypt"
    data_key = f"/v1/keys/{key_id}/data-key"
    return [
        # Plain requests: the lane's own.
        _rest(encrypt, {"Plaintext": PLAINTEXT}, root, lane=True),
        _rest(encrypt, {"Plaintext": PLAINTEXT, "EncryptionContext": {"a": "b"}}, root, lane=True),
        _rest(f"/v1/keys/{alias}/encrypt", {"Plaintext": PLAINTEXT}, root, lane=True),
        _rest(f"/v1/keys/{quote(arn, safe='')}/encrypt", {"Plaintext": PLAINTEXT}, root, lane=True),
        _rest(
            encrypt,
            {"Plaintext": PLAINTEXT, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            root,
            lane=True,
            headers={"User-Agent": "app/1.0"},
        ),
        _rest(
            "/v1/decrypt",
            {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}},
            root,
            lane=True,
        ),
        _rest(
            "/v1/decrypt",
            {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}, "KeyId": "alias/app"},
            root,
            lane=True,
        ),
        _rest(data_key, {"KeySpec": "AES_256"}, root, lane=True),
        _rest(data_key, {"NumberOfBytes": 16, "EncryptionContext": {"x": "y"}}, root, lane=True),
        _aws("Encrypt", {"KeyId": key_id, "Plaintext": PLAINTEXT}, sign=signer, lane=True),
        _aws(
            "Encrypt",
            {"KeyId": "alias/app", "Plaintext": PLAINTEXT, "Ignored": 1},
            sign=signer,
            lane=True,
        ),
        _aws(
            "Decrypt",
            {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}},
            sign=signer,
            lane=True,
        ),
        _aws("GenerateDataKey", {"KeyId": key_id, "KeySpec": "AES_128"}, sign=signer, lane=True),
        _aws(
            "Encrypt",
            {"KeyId": key_id, "Plaintext": PLAINTEXT},
            headers=bearer(root),
            lane=True,
        ),
        # Everything else: handed to the door, which answers and audits it.
        _rest(encrypt, {"Plaintext": PLAINTEXT}, stranger),
        _rest(encrypt, {"Plaintext": PLAINTEXT}, "not.a.token"),
        _rest(encrypt, {"Plaintext": PLAINTEXT}, root, headers={"Authorization": ""}),
        _rest(encrypt, {"Plaintext": PLAINTEXT, "Bogus": 1}, root),
        _rest(encrypt, {"Plaintext": PLAINTEXT, "KeyId": key_id}, root),
        _rest(encrypt, {"Plaintext": "%%%"}, root),
        _rest(encrypt, {"Plaintext": b64(b"x" * 4097)}, root),
        _rest(encrypt, {}, root),
        _rest(encrypt, b'{"Plaintext": "eA==", "Plaintext": "eQ=="}', root),
        _rest(encrypt, b'{"Plaintext": ', root),
        _rest(encrypt, b"[]", root),
        _rest(encrypt, b"", root),
        _rest(encrypt, {"Plaintext": PLAINTEXT}, root, headers={"Content-Type": "text/plain"}),
        _rest(
            encrypt,
            {"Plaintext": PLAINTEXT},
            root,
            headers={"Content-Type": "application/json; charset=utf-8"},
        ),
        _rest(
            encrypt,
            {"Plaintext": PLAINTEXT},
            root,
            headers={"Content-Type": "application/json; charset=latin-1"},
        ),
        _rest(
            encrypt,
            {"Plaintext": PLAINTEXT},
            root,
            headers={"Content-Type": "application/json; charset=utf-16"},
        ),
        _rest(f"{encrypt}?Plaintext=x", {"Plaintext": PLAINTEXT}, root),
        _rest(f"/v1/keys/{disabled}/encrypt", {"Plaintext": PLAINTEXT}, root),
        _rest("/v1/keys/alias%2Fmissing/encrypt", {"Plaintext": PLAINTEXT}, root),
        _rest(f"/v1/keys/{other}/encrypt", {"Plaintext": PLAINTEXT, "GrantTokens": ["t"]}, root),
        _rest("/v1/decrypt", {"CiphertextBlob": blob}, root),
        _rest(
            "/v1/decrypt",
            {"CiphertextBlob": b64(bytes(tampered)), "EncryptionContext": {"a": "b"}},
            root,
        ),
        _rest(
            "/v1/decrypt",
            {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}, "KeyId": other},
            root,
        ),
        _rest("/v1/decrypt", {"CiphertextBlob": blob, "EncryptionContext": {"a": "b"}}, stranger),
        _rest(data_key, {"KeySpec": "AES_256", "NumberOfBytes": 32}, root),
        _rest(data_key, {}, root),
        _rest(f"{data_key}?plaintext=false", {"KeySpec": "AES_256"}, root),
        _rest(f"{data_key}?plaintext=maybe", {"KeySpec": "AES_256"}, root),
        _rest("/v1/keys//encrypt", {"Plaintext": PLAINTEXT}, root),
        _rest(f"/v1/keys/{key_id}/encrypt/", {"Plaintext": PLAINTEXT}, root),
        _aws("Encrypt", {"KeyId": key_id, "Plaintext": PLAINTEXT}, sign=wrong),
        _aws("Encrypt", {"KeyId": key_id, "Plaintext": PLAINTEXT}),
        _aws("Encrypt", {"KeyId": key_id, "Plaintext": PLAINTEXT}, headers=bearer("bad")),
        _aws("Encrypt", {"KeyId": key_id, "Plaintext": "%%%"}, sign=signer),
        _aws("Encrypt", b"{not json", sign=signer),
        _aws(
            "Encrypt",
            {"KeyId": key_id, "Plaintext": PLAINTEXT},
            sign=signer,
            headers={"Content-Type": f"{JSON_11}; charset=latin-1"},
        ),
        _aws(
            "Encrypt",
            {"KeyId": key_id, "Plaintext": PLAINTEXT},
            sign=signer,
            headers={"Content-Type": f"{JSON_11}; charset=utf-8"},
        ),
        _aws("Decrypt", {"CiphertextBlob": b64(bytes(tampered))}, sign=signer),
        _aws("GenerateDataKey", {"KeyId": disabled, "KeySpec": "AES_256"}, sign=signer),
        _aws(
            "GenerateDataKeyWithoutPlaintext",
            {"KeyId": key_id, "KeySpec": "AES_256"},
            sign=signer,
            lane=True,
        ),
        _aws(
            "GenerateDataKeyWithoutPlaintext",
            {"KeyId": disabled, "KeySpec": "AES_256"},
            sign=signer,
        ),
        _aws(
            "ReEncrypt",
            {
                "CiphertextBlob": blob,
                "SourceEncryptionContext": {"a": "b"},
                "DestinationKeyId": other,
            },
            sign=signer,
            lane=True,
        ),
        _aws("ReEncrypt", {"CiphertextBlob": blob, "DestinationKeyId": other}, sign=signer),
        _aws("DescribeKey", {"KeyId": "alias/app"}, sign=signer, lane=True),
        _aws("DescribeKey", {"KeyId": "alias/missing"}, sign=signer),
        _aws("DescribeKey", {"KeyId": key_id, "GrantTokens": ["t"]}, sign=signer),
        _rest(
            "/v1/re-encrypt",
            {
                "CiphertextBlob": blob,
                "SourceEncryptionContext": {"a": "b"},
                "DestinationKeyId": "alias/app",
            },
            root,
            lane=True,
        ),
        _rest("/v1/re-encrypt", {"CiphertextBlob": blob, "DestinationKeyId": "alias/app"}, root),
        _rest(
            "/v1/re-encrypt",
            {
                "CiphertextBlob": blob,
                "SourceEncryptionContext": {"a": "b"},
                "DestinationKeyId": other,
            },
            stranger,
        ),
        _aws("Nonsense", {"KeyId": key_id}, sign=signer),
        _aws(
            "Encrypt",
            {"KeyId": key_id, "Plaintext": PLAINTEXT},
            headers={"X-Amz-Target": "KMS.Encrypt"},
            sign=signer,
        ),
    ]


def test_same_answers_and_events_with_and_without_the_lane(apps: Apps, calls: list[Call]) -> None:
    for call in calls:
        before = len(apps.events())
        plain = _answer(_send(apps.plain, call))
        between = len(apps.events())
        handed_over = len(apps.handed_over)
        lane = _answer(_send(apps.lane, call))
        events = apps.events()
        assert lane == plain, call
        assert (len(apps.handed_over) == handed_over) is call.lane, call
        if call.lane:
            assert plain[0] == 200, (call, plain)
        # One event each (or none for both: sampled authentication failures).
        assert between - before == len(events) - between, call
        if between > before:
            assert _event(events[-1]) == _event(events[between - 1]), call


def test_the_lane_changes_nothing_when_it_hands_over(apps: Apps, calls: list[Call]) -> None:
    """A handed-over request is run once more by the door: the lane itself
    must not have written anything."""
    for call in (c for c in calls if not c.lane):
        before = len(apps.events())
        _send(apps.lane, call)
        assert len(apps.events()) - before <= 1, call


def test_an_audit_failure_after_the_operation_is_the_door_s_503(
    apps: Apps, calls: list[Call], settings: Settings
) -> None:
    plain_calls = [c for c in calls if c.lane]
    with failing_audit_inserts(settings):
        for call in plain_calls:
            plain = _answer(_send(apps.plain, call))
            lane = _answer(_send(apps.lane, call))
            assert plain[0] == 503, call
            assert lane == plain, call
            body, _ = lane[2]
            assert "CiphertextBlob" not in json.dumps(body)
    assert not apps.handed_over


def test_the_route_cache_is_bounded(apps: Apps, token: TokenFactory) -> None:
    lane = apps.lane.wsgi_app
    assert isinstance(lane, FastLane)
    client = apps.lane.test_client()
    for index in range(ROUTE_CACHE_SIZE + 10):
        lane._route(f"/v1/keys/k{index}/encrypt")
    assert len(lane._routes) <= ROUTE_CACHE_SIZE
    response = client.post(
        "/v1/keys/alias%2Fnothing/encrypt",
        json={"Plaintext": PLAINTEXT},
        headers=bearer(token(root=True)),
    )
    assert response.status_code == 404


def test_trent_fast_lane_false_turns_it_off(settings: Settings) -> None:
    env = {"TRENT_DATA_DIR": str(settings.data_dir), "TRENT_FAST_LANE": "false"}
    assert load_settings(env).fast_lane is False
    assert load_settings({"TRENT_DATA_DIR": str(settings.data_dir)}).fast_lane is True
    app = create_app(replace(settings, fast_lane=False))
    assert not isinstance(app.wsgi_app, FastLane)


def _environ(path: str, body: bytes, token: str, **overrides: Any) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(
        method="POST", path=path, data=body, headers={**bearer(token), "Content-Type": JSON}
    ).get_environ()
    environ.update(overrides)
    return environ


def _wsgi(app: Flask, environ: dict[str, Any]) -> tuple[str, bytes]:
    statuses: list[str] = []
    chunks = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    return statuses[0], b"".join(chunks)


def _key(apps: Apps, token: TokenFactory) -> str:
    response = apps.plain.test_client().post("/v1/keys", json={}, headers=bearer(token(root=True)))
    return str(response.get_json()["KeyMetadata"]["KeyId"])


def test_a_body_shorter_than_its_content_length_is_the_door_s_to_refuse(
    apps: Apps, token: TokenFactory
) -> None:
    # A client that declared more than it sent and went away: the door answers
    # 400, even though what arrived happens to be a complete request.
    path = f"/v1/keys/{_key(apps, token)}/encrypt"
    body = json.dumps({"Plaintext": PLAINTEXT}).encode()
    answers = []
    for app in (apps.plain, apps.lane):
        environ = _environ(path, body, token(root=True), CONTENT_LENGTH=str(len(body) + 10))
        answers.append(_wsgi(app, environ))
    assert answers[0][0].startswith("400")
    assert answers[1][0] == answers[0][0]
    assert apps.handed_over == [path]


def test_a_body_that_cannot_be_read_is_handed_over(apps: Apps, token: TokenFactory) -> None:
    class Broken(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise OSError("connection reset by peer")

    path = f"/v1/keys/{_key(apps, token)}/encrypt"
    before = len(apps.events())
    environ = _environ(path, b"{}", token(root=True))
    environ["wsgi.input"] = Broken()
    status, body = _wsgi(apps.lane, environ)
    assert status.startswith("400"), body
    assert apps.handed_over == [path]
    assert [e["outcome"] for e in apps.events()[before:]] == ["failed"]


def test_an_event_that_cannot_be_built_is_left_to_the_door(
    apps: Apps, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.api.fast_lane as fast_lane

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("event")

    monkeypatch.setattr(fast_lane, "build_event", broken)
    path = f"/v1/keys/{_key(apps, token)}/encrypt"
    before = len(apps.events())
    response = apps.lane.test_client().post(
        path, json={"Plaintext": PLAINTEXT}, headers=bearer(token(root=True))
    )
    assert response.status_code == 200
    assert apps.handed_over == [path]
    assert [e["outcome"] for e in apps.events()[before:]] == ["success"]


def test_an_answer_that_cannot_be_encoded_is_a_500_without_the_result(
    apps: Apps, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.api.fast_lane as fast_lane

    def broken(*_: Any, **__: Any) -> Any:
        raise TypeError("not serializable")

    monkeypatch.setattr(fast_lane, "_success", broken)
    path = f"/v1/keys/{_key(apps, token)}/encrypt"
    response = apps.lane.test_client().post(
        path, json={"Plaintext": PLAINTEXT}, headers=bearer(token(root=True))
    )
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "KMSInternalException"
    assert "CiphertextBlob" not in response.get_data(as_text=True)
    assert not apps.handed_over


def test_the_rest_door_knows_the_caller_before_reading_the_body(
    apps: Apps, token: TokenFactory
) -> None:
    class Untouchable(io.RawIOBase):
        reads = 0

        def read(self, size: int = -1) -> bytes:
            Untouchable.reads += 1
            return b""

    path = f"/v1/keys/{_key(apps, token)}/encrypt"
    environ = _environ(path, json.dumps({"Plaintext": PLAINTEXT}).encode(), "forged.token.x")
    environ["wsgi.input"] = Untouchable()
    status, _ = _wsgi(apps.lane, environ)
    assert status.startswith("401")
    assert Untouchable.reads == 0
    assert apps.handed_over == [path]


def test_concurrent_requests_each_get_their_answer_and_one_event(
    apps: Apps, token: TokenFactory
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    key_id = _key(apps, token)
    root = token(root=True)
    before = len(apps.events())

    def encrypt_then_decrypt(index: int) -> bytes:
        client = apps.lane.test_client()
        secret = f"message {index}".encode()
        # A path of its own per thread as well: the route cache fills concurrently.
        path = f"/v1/keys/{quote(key_id if index % 2 else 'alias/none', safe='')}/encrypt"
        if index % 2 == 0:
            assert (
                client.post(path, json={"Plaintext": b64(secret)}, headers=bearer(root)).status_code
                == 404
            )
            return secret
        sealed = client.post(path, json={"Plaintext": b64(secret)}, headers=bearer(root))
        assert sealed.status_code == 200
        opened = client.post(
            "/v1/decrypt",
            json={"CiphertextBlob": sealed.get_json()["CiphertextBlob"]},
            headers=bearer(root),
        )
        assert opened.status_code == 200
        return base64.b64decode(opened.get_json()["Plaintext"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(encrypt_then_decrypt, range(64)))
    assert results == [f"message {index}".encode() for index in range(64)]
    outcomes = [e["outcome"] for e in apps.events()[before:]]
    assert sorted(outcomes) == sorted(["success"] * 64 + ["failed"] * 32)
