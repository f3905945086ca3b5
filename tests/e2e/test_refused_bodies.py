"""A body too large to take is answered 413 on a connection the client can
trust: either the server keeps it open and the next request is answered, or
its answer says ``Connection: close``.

The 413 used to say ``keep-alive`` and then the server dropped the socket,
so the next request of a client that reuses connections (requests, boto3)
failed with "remote end closed connection without response".
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Server

#: Well over the body limit (and over what the server drains by itself).
OVERSIZED = 2 * 1024 * 1024


def _connection(server: Server) -> http.client.HTTPConnection:
    address = urlsplit(server.url)
    assert address.hostname and address.port
    return http.client.HTTPConnection(address.hostname, address.port, timeout=60)


def _then_another_request(
    connection: http.client.HTTPConnection, answer: http.client.HTTPResponse
) -> None:
    """The connection is usable as the answer said it would be."""
    if (answer.getheader("Connection") or "").lower() == "close":
        return  # the client opens a new connection, as the server told it to
    connection.request("GET", "/healthz")
    follow = connection.getresponse()
    assert follow.status == 200
    follow.read()


@pytest.mark.parametrize("door", ["rest", "aws"])
def test_an_oversized_body_leaves_the_connection_as_the_answer_says(
    server: Server, door: str
) -> None:
    token = server.token("--root")
    body = b'{"Description": "' + b"a" * OVERSIZED + b'"}'
    if door == "rest":
        path, headers = "/v1/keys", {"Content-Type": "application/json"}
    else:
        path = "/"
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.CreateKey",
        }
    connection = _connection(server)
    try:
        connection.request(
            "POST", path, body=body, headers={**headers, "Authorization": f"Bearer {token}"}
        )
        answer = connection.getresponse()
        document = json.loads(answer.read())
        code = document["error"]["code"] if door == "rest" else document["__type"]
        assert code == "RequestTooLargeException"
        assert answer.status == (413 if door == "rest" else 400)
        _then_another_request(connection, answer)
    finally:
        connection.close()


def test_a_body_within_the_limit_keeps_the_connection(server: Server) -> None:
    token = server.token("--root")
    connection = _connection(server)
    try:
        for _ in range(3):
            connection.request(
                "POST",
                "/v1/keys",
                body=b"{}",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            assert (answer.getheader("Connection") or "keep-alive").lower() == "keep-alive"
    finally:
        connection.close()
