"""The request log (app.pipeline.request_log, app.logs): one line per request
on both doors, probes and refusals included, with every field and never a
token, a plaintext or a data key; text or JSON; why authentication failed."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from botocore.credentials import Credentials
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from app.logs import JsonFormatter, TextFormatter, configure
from tests.api.kms import Kms
from tests.api.test_aws_door import signed
from tests.conftest import ACCOUNT, TokenFactory, b64, bearer

PLAINTEXT = b"attack at dawn, bring the blue folder"
FIELDS = [
    "request_id",
    "door",
    "method",
    "path",
    "operation",
    "principal",
    "key",
    "outcome",
    "error",
    "reason",
    "status",
    "latency_ms",
    "client",
]


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="trent")
    return caplog


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The request lines captured so far, as the JSON formatter writes them."""
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "trent.request"
    ]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record, of every logger, as both formatters write it."""
    text, as_json = TextFormatter(), JsonFormatter()
    return "\n".join(f"{text.format(r)}\n{as_json.format(r)}" for r in caplog.records)


def test_an_encrypt_line_has_every_field_and_neither_token_nor_plaintext(
    client: FlaskClient, token: TokenFactory, lines: pytest.LogCaptureFixture
) -> None:
    secret_token = token(root=True)
    key_id = Kms(client, token(root=True)).new_key()
    lines.clear()
    response = client.post(
        f"/v1/keys/{key_id}/encrypt",
        json={"Plaintext": b64(PLAINTEXT)},
        headers=bearer(secret_token),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    blob = response.get_json()["CiphertextBlob"]
    [line] = request_lines(lines)
    assert list(line)[:4] == ["time", "level", "pid", "logger"]
    assert list(line)[4:] == FIELDS
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(line["time"]))
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["door"] == "rest"
    assert line["method"] == "POST"
    assert line["path"] == f"/v1/keys/{key_id}/encrypt"
    assert line["operation"] == "Encrypt"
    assert line["principal"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert line["key"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    assert (line["outcome"], line["error"], line["reason"]) == ("success", None, None)
    assert line["status"] == 200
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert line["client"] == "127.0.0.1"
    logged = everything_logged(lines)
    for secret in (secret_token, b64(PLAINTEXT), PLAINTEXT.decode(), blob):
        assert secret not in logged


def test_a_refused_token_is_logged_with_its_reason_and_without_the_token(
    client: FlaskClient, token: TokenFactory, lines: pytest.LogCaptureFixture
) -> None:
    genuine = token(user="alice")
    header, payload, _signature = genuine.split(".")
    forged = f"{header}.{payload}.{'A' * 86}"
    response = client.post(
        "/v1/keys/alias%2Fx/encrypt",
        json={"Plaintext": b64(PLAINTEXT)},
        headers=bearer(forged),
    )
    assert response.status_code == 401
    [line] = request_lines(lines)
    assert line["status"] == 401
    assert line["outcome"] == "denied"
    assert line["error"] == "UnauthenticatedException"
    assert line["principal"] is None
    assert isinstance(line["reason"], str) and line["reason"]
    logged = everything_logged(lines)
    for secret in (forged, payload, b64(PLAINTEXT)):
        assert secret not in logged


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "no Authorization header"),
        ("Basic dXNlcjpwYXNz", "not a Bearer authorization"),
        ("Bearer not-a-jwt", "not a compact JWS of three unpadded base64url segments"),
    ],
)
def test_each_reason_for_a_401_is_written_on_the_request_line(
    client: FlaskClient,
    lines: pytest.LogCaptureFixture,
    authorization: str | None,
    reason: str,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert client.get("/v1/whoami", headers=headers).status_code == 401
    [line] = request_lines(lines)
    assert (line["status"], line["reason"]) == (401, reason)


def test_the_aws_door_logs_a_sigv4_refusal_with_its_reason(
    client: FlaskClient, credentials: Credentials, lines: pytest.LogCaptureFixture
) -> None:
    unknown = Credentials("AKIA" + "Z" * 16, credentials.secret_key)
    response = signed(client, unknown, "ListKeys", {})
    assert response.status_code == 400
    [line] = request_lines(lines)
    assert line["door"] == "aws"
    assert line["operation"] == "ListKeys"
    assert line["error"] == "UnrecognizedClientException"
    assert line["status"] == 400
    assert line["outcome"] == "denied"
    assert "is unknown or not active" in str(line["reason"])
    assert credentials.secret_key not in everything_logged(lines)


def test_probes_unknown_paths_and_wrong_methods_are_logged_too(
    client: FlaskClient, lines: pytest.LogCaptureFixture
) -> None:
    client.get("/healthz")
    client.get("/no/such/thing")
    client.delete("/v1/whoami")
    client.options("/v1/keys")
    got = [(line["operation"], line["status"], line["outcome"]) for line in request_lines(lines)]
    assert got == [
        ("Health", 200, "success"),
        ("UnknownRoute", 404, "failed"),
        ("UnknownRoute", 405, "failed"),
        ("Options", 200, "success"),
    ]


def test_a_text_line_quotes_what_could_forge_a_field_or_a_line(
    app: Flask, lines: pytest.LogCaptureFixture
) -> None:
    environ = EnvironBuilder(method="GET", path="/x").get_environ()
    environ["PATH_INFO"] = '/x" status=200\nforged=1'
    app.wsgi_app(environ, lambda status, headers: None)
    [record] = [r for r in lines.records if r.name == "trent.request"]
    text = TextFormatter().format(record)
    assert "\n" not in text
    assert ' path="/x\\" status=200\\nforged=1" ' in text
    assert re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO \[\d+\] trent\.request request_id=", text
    )


def test_configure_writes_the_trent_loggers_in_the_chosen_format() -> None:
    logger = logging.getLogger("trent")
    before = (list(logger.handlers), logger.level, logger.propagate)
    stream = io.StringIO()
    try:
        configure("json", "INFO", stream)
        # A second call replaces its handler instead of adding one.
        configure("json", "INFO", stream)
        logging.getLogger("trent.audit").info("audit batch of %d events", 3)
        logging.getLogger("trent.audit").debug("not at INFO")
        configure("text", "WARNING", stream)
        logging.getLogger("trent.audit").info("dropped below WARNING")
        logging.getLogger("trent.audit").warning("a warning")
    finally:
        logger.handlers[:] = before[0]
        logger.setLevel(before[1])
        logger.propagate = before[2]
    first, second = stream.getvalue().splitlines()
    document = json.loads(first)
    assert document["message"] == "audit batch of 3 events"
    assert (document["level"], document["logger"]) == ("INFO", "trent.audit")
    assert second.endswith(f" WARNING [{document['pid']}] trent.audit a warning")
