"""Building a :class:`SignedRequest` from a WSGI environ (what the AWS door
does), and properties over many generated requests."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from app.auth.sigv4 import INVALID_SIGNATURE, SigV4Error, SigV4Verifier, signed_request_from_wsgi
from tests.unit.sigv4.conftest import ACCESS_KEY_ID, HOST, NOW, Build, kms_headers


def _environ(headers: list[tuple[str, str]], body: bytes, path: str = "/") -> dict[str, object]:
    builder = EnvironBuilder(
        path=path,
        method="POST",
        base_url=f"http://{HOST}",
        headers=[(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")],
        content_type=dict(headers).get("Content-Type"),
        data=body,
    )
    try:
        return dict(builder.get_environ())
    finally:
        builder.close()


def test_a_request_rebuilt_from_the_wsgi_environ_verifies(
    verifier: SigV4Verifier, build: Build
) -> None:
    request, signed = build()
    environ = _environ(signed.headers, request.body)
    rebuilt = signed_request_from_wsgi(environ, request.body)
    assert rebuilt.method == "POST" and rebuilt.path == "/" and rebuilt.query == ""
    assert ("host", HOST) in rebuilt.headers
    assert ("content-type", "application/x-amz-json-1.1") in rebuilt.headers
    assert verifier.verify(rebuilt).token_id == ACCESS_KEY_ID


def test_the_raw_path_is_taken_from_the_environ(verifier: SigV4Verifier, build: Build) -> None:
    request, signed = build(path="/a b/c", wire_path="/a%20b/c")
    environ = _environ(signed.headers, request.body, path="/a%20b/c")
    rebuilt = signed_request_from_wsgi(environ, request.body)
    assert rebuilt.path == "/a%20b/c"
    assert verifier.verify(rebuilt).token_id == ACCESS_KEY_ID
    # Without RAW_URI / REQUEST_URI the decoded PATH_INFO is encoded again.
    for key in ("RAW_URI", "REQUEST_URI"):
        environ.pop(key, None)
    assert signed_request_from_wsgi(environ, request.body).path == "/a%20b/c"


def test_the_headers_are_the_http_keys_and_a_non_empty_content_type_and_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ: dict[str, object] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "HTTP_X_AMZ_DATE": "20250101T000000Z",
        "HTTP_X_EMPTY": "",
        "CONTENT_TYPE": "",
        "CONTENT_LENGTH": "12",
        "SERVER_NAME": "kms",
        "HTTP_X_NOT_TEXT": b"bytes",
        "wsgi.input": object(),
    }
    expected = (("x-amz-date", "20250101T000000Z"), ("x-empty", ""), ("content-length", "12"))
    # The names are remembered per environ key: the second build reads them
    # from memory, and gives the same headers.
    assert signed_request_from_wsgi(environ, b"").headers == expected
    assert signed_request_from_wsgi(environ, b"").headers == expected
    # Past the bound on remembered keys a new key is still read, not remembered.
    from app.auth.sigv4 import request as request_module

    monkeypatch.setattr(request_module, "_MOST_KEYS", 0)
    environ["HTTP_X_LATE_COMER"] = "yes"
    environ["CONTENT_TYPE"] = "application/json"
    headers = signed_request_from_wsgi(environ, b"").headers
    assert ("x-late-comer", "yes") in headers and ("content-type", "application/json") in headers
    assert "HTTP_X_LATE_COMER" not in request_module._HEADERS


def test_a_wsgi_request_with_a_changed_body_fails(verifier: SigV4Verifier, build: Build) -> None:
    request, signed = build()
    environ = _environ(signed.headers, request.body)
    with pytest.raises(SigV4Error) as caught:
        verifier.verify(signed_request_from_wsgi(environ, request.body + b" "))
    assert caught.value.code == INVALID_SIGNATURE


header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40
).filter(lambda v: v.strip() != "")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=512), note=header_values, flip=st.integers(min_value=0))
def test_any_body_and_header_verify_and_any_flipped_body_byte_fails(
    verifier: SigV4Verifier, build: Build, body: bytes, note: str, flip: int
) -> None:
    headers = [*kms_headers(NOW, body=body), ("X-Amz-Meta-Note", note)]
    request, _ = build(headers=headers, body=body)
    assert verifier.verify(request).token_id == ACCESS_KEY_ID
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        with pytest.raises(SigV4Error) as caught:
            verifier.verify(dataclasses.replace(request, body=changed))
        assert caught.value.code == INVALID_SIGNATURE
