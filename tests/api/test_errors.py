"""One JSON error envelope for every error the REST door can produce."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.wrappers import Response

from app.api.door import error_answer
from app.auth.principal import Principal
from app.errors import KmsError, ServiceUnavailableError, all_error_classes
from app.pipeline.errors import http_exception_as_kms_error
from tests.conftest import TokenFactory, bearer


def assert_envelope(response: object, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.get_data(as_text=True)  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-Id"]  # type: ignore[attr-defined]
    return error


def error_response(error: KmsError, request_id: str) -> Response:
    """The REST door's answer to ``error``, as a response object."""
    answer = error_answer(error, request_id)
    return Response(b"".join(answer.body), status=answer.status, headers=answer.headers)


def test_every_error_class_has_a_unique_code_and_a_status() -> None:
    classes = all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), "two error classes share a code"
    for cls in classes:
        assert 400 <= cls.status <= 599
        assert cls.server_fault == (cls.status >= 500)


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.code)
def test_every_error_class_renders_the_envelope(app: Flask, cls: type[KmsError]) -> None:
    response = error_response(cls("safe text"), "req-1")
    assert response.status_code == cls.status
    body = response.get_json()
    assert body["error"]["code"] == cls.code
    assert body["error"]["request_id"] == "req-1"
    if cls.status in (429, 503):
        assert response.headers["Retry-After"].isdigit()
    if cls.status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_route_is_a_404_envelope(client: FlaskClient) -> None:
    assert_envelope(client.get("/v1/nope"), 404, "NotFoundException")
    assert_envelope(client.get("/nothing/here"), 404, "NotFoundException")


def test_wrong_method_is_a_405_envelope(client: FlaskClient) -> None:
    assert_envelope(client.post("/healthz"), 405, "MethodNotAllowedException")
    assert_envelope(client.delete("/v1/whoami"), 405, "MethodNotAllowedException")


def test_body_over_the_limit_is_a_413(client: FlaskClient, token: TokenFactory) -> None:
    body = b'{"Description": "' + b"x" * (70 * 1024) + b'"}'
    response = client.post(
        "/v1/keys",
        data=body,
        headers={**bearer(token(root=True)), "Content-Type": "application/json"},
    )
    assert_envelope(response, 413, "RequestTooLargeException")


BAD_BODIES = {
    "malformed": b'{"Description": ',
    "not an object": b'["a"]',
    "duplicate keys": b'{"Description": "a", "Description": "b"}',
    "NaN": b'{"Description": NaN}',
    "Infinity": b'{"Limit": Infinity}',
    "byte order mark": b'\xef\xbb\xbf{"Description": "a"}',
    "not UTF-8": b'{"Description": "\xff\xfe"}',
    "UTF-16": '{"Description": "a"}'.encode("utf-16"),
    "lone surrogate": b'{"Description": "\\ud800"}',
    "deep nesting": b'{"a":' * 200 + b"1" + b"}" * 200,
    "very deep nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_bad_json_is_a_400_and_never_a_500(
    client: FlaskClient, token: TokenFactory, body: bytes
) -> None:
    response = client.post(
        "/v1/keys",
        data=body,
        headers={**bearer(token(root=True)), "Content-Type": "application/json"},
    )
    if len(body) > 64 * 1024:
        assert_envelope(response, 413, "RequestTooLargeException")
    else:
        assert_envelope(response, 400, "ValidationException")


def test_wrong_content_type_is_a_400(client: FlaskClient, token: TokenFactory) -> None:
    response = client.post(
        "/v1/keys",
        data=b"Description=x",
        headers={**bearer(token(root=True)), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_envelope(response, 400, "ValidationException")


def test_an_unexpected_exception_is_a_fixed_500_and_the_traceback_goes_to_the_log(
    client: FlaskClient,
    token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("internal detail 7f3a that must not leak")

    # WhoAmI answers with the caller's principal: make that fail unexpectedly.
    monkeypatch.setattr(Principal, "as_dict", broken)
    with caplog.at_level(logging.ERROR, logger="trent.api"):
        response = client.get("/v1/whoami", headers=bearer(token(user="alice")))
    error = assert_envelope(response, 500, "KMSInternalException")
    assert "7f3a" not in response.get_data(as_text=True)
    assert error["message"] == "An internal error occurred."
    assert "internal detail 7f3a" in caplog.text
    assert error["request_id"] in caplog.text


def test_http_exceptions_map_to_kms_errors() -> None:
    from werkzeug.exceptions import BadRequest, InternalServerError

    assert http_exception_as_kms_error(BadRequest()).code == "ValidationException"
    assert http_exception_as_kms_error(InternalServerError()).status == 500


def test_service_unavailable_carries_retry_after(app: Flask) -> None:
    response = error_response(ServiceUnavailableError(), "req-2")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"


def test_every_response_has_a_request_id(client: FlaskClient) -> None:
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3
