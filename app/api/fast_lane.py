"""The hot path: Encrypt, Decrypt, GenerateDataKey and a few more read-only
operations without Flask's dispatch.

These operations are nearly all of a KMS's traffic, and for them Flask's
per-request machinery (request context, routing, hooks, response object) cost
as much CPU as the operation itself. :class:`FastLane` is a WSGI layer in front
of the Flask application that serves a *plain* request of one of them
(:data:`REST_LANES`, :data:`AWS_LANES`) directly, through the very same pieces
the doors use:

- the route is Flask's own (``url_map`` matched once per path, then cached);
- the caller is authenticated by the same verifiers (bearer JWT, SigV4);
- the body is parsed by the same strict JSON parser and loaded by the same
  schema (:func:`app.api.schemas.base.load`);
- the same operation runs, with the same :class:`OperationContext`;
- its audit event is built by the same :func:`build_event` and made durable
  by the same group commit before a byte of the answer exists;
- the answer is byte for byte what the door would have sent.

Plain means: ``POST``, no query string, an ASCII path, a ``Content-Length`` within
the body limit, and ``Content-Type: application/json`` (REST) or
``application/x-amz-json-1.1`` (AWS), without parameters. Anything
else, and every request that fails before its audit event is submitted (a bad
token or signature, malformed JSON, a schema error, a denial, a disabled key,
a database error), is handed to the Flask application unchanged, with the body
it had: the door then does everything again and answers and audits the failure
exactly as it always does. Nothing the lane does before that point changes
state (these operations only read), so running the request twice is invisible
except in CPU. Errors thus have one implementation, the door's.

After the event is submitted the lane never hands over: if the event could not
be made durable the caller gets the door's 503, as from the door itself.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from marshmallow import Schema
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import RequestRedirect

from app.api.endpoint import Operation, build_event, jsonable, write_failure_event
from app.api.errors import rest_error_document, rest_error_headers
from app.api.json_body import parse_json_object
from app.api.runtime import Runtime
from app.api.schemas.base import load, schema
from app.audit.events import AuditEvent, Outcome
from app.auth.principal import Principal
from app.auth.sigv4 import signed_request_from_wsgi
from app.awsapi.door import CONTENT_TYPE as AWS_CONTENT_TYPE
from app.awsapi.door import aws_error_document, aws_error_status
from app.awsapi.targets import TARGET_PREFIX, TARGETS
from app.errors import InternalError, KmsError, ServiceUnavailableError, ValidationError
from app.operations.context import Door, OperationContext, RequestInfo
from app.operations.failures import as_kms_error
from app.operations.kinds import is_read_only

log = logging.getLogger("trent.api")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: Paths whose route is remembered; the cache is emptied when it is full.
ROUTE_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Lane:
    """One operation the lane serves, and how its request is put together."""

    event_name: str
    operation: Operation
    schema: Schema


#: The AWS door's operations the lane serves: what KMS clients call most (the
#: AWS Encryption SDK: GenerateDataKey, Encrypt, Decrypt; key rotation of stored
#: data keys: ReEncrypt, GenerateDataKeyWithoutPlaintext; DescribeKey). Every
#: one is read-only.
AWS_FAST_TARGETS = (
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncrypt",
    "DescribeKey",
)
#: ``X-Amz-Target`` → the lane (AWS door, whose endpoint is ``awsapi.dispatch``),
#: from the door's own target table.
AWS_LANES: dict[str, Lane] = {
    f"{TARGET_PREFIX}.{name}": Lane(name, TARGETS[name].operation, schema(TARGETS[name].schema))
    for name in AWS_FAST_TARGETS
}


def _rest(name: str) -> Lane:
    return AWS_LANES[f"{TARGET_PREFIX}.{name}"]


#: Flask endpoint → the lane of its plain requests (REST door). The REST routes
#: run the same operation and schema as the AWS target of the same name.
REST_LANES: dict[str, Lane] = {
    "keys.encrypt": _rest("Encrypt"),
    "keys.decrypt": _rest("Decrypt"),
    "keys.generate_data_key": _rest("GenerateDataKey"),
    "keys.re_encrypt": _rest("ReEncrypt"),
}
AWS_ENDPOINT = "awsapi.dispatch"


class _HandOver(Exception):
    """The request is not for the lane after all: the Flask application serves it."""


class FastLane:
    """WSGI middleware: plain hot requests here, everything else to ``app``."""

    def __init__(self, app: Flask, runtime: Runtime) -> None:
        for lane in (*REST_LANES.values(), *AWS_LANES.values()):
            # Handing a request over after the lane ran it is only invisible
            # because the operation changed nothing.
            if not is_read_only(lane.operation):
                raise RuntimeError(f"the fast lane serves read-only operations, not {lane}")
        self._next: WsgiApp = app.wsgi_app
        self._url_map = app.url_map
        self._runtime = runtime
        self._routes: dict[str, tuple[str, dict[str, Any]] | None] = {}
        settings = runtime.services.settings
        self._max_body = settings.max_body_bytes
        self._max_depth = settings.max_json_depth

    # -- WSGI ----------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING"):
            return self._next(environ, start_response)
        route = self._route(environ.get("PATH_INFO", ""))
        size = self._body_size(environ)
        if route is None or size is None:
            return self._next(environ, start_response)
        try:
            status, headers, payload = self._serve(route, environ, size)
        except _HandOver:
            return self._next(environ, start_response)
        start_response(status, headers)
        return [payload]

    def _route(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """Flask's endpoint and path arguments for ``path``, if the lane serves it."""
        try:
            return self._routes[path]
        except KeyError:
            pass
        found: tuple[str, dict[str, Any]] | None = None
        if path.isascii():
            try:
                # A fresh adapter per match (only on a cache miss): nothing shared is mutated.
                adapter = self._url_map.bind("localhost")
                endpoint, arguments = adapter.match(path, method="POST")
            except (HTTPException, RequestRedirect):
                endpoint, arguments = "", {}
            if endpoint in REST_LANES or endpoint == AWS_ENDPOINT:
                found = (str(endpoint), dict(arguments))
        if len(self._routes) >= ROUTE_CACHE_SIZE:
            self._routes.clear()
        self._routes[path] = found
        return found

    def _body_size(self, environ: Mapping[str, Any]) -> int | None:
        """The declared body size, if the lane may read the body."""
        length = environ.get("CONTENT_LENGTH") or ""
        if not length.isdigit() or len(length) > 9 or "wsgi.input" not in environ:
            return None
        size = int(length)
        return size if 0 < size <= self._max_body else None

    @staticmethod
    def _take_body(environ: dict[str, Any], size: int) -> bytes:
        """The body; ``wsgi.input`` then holds the same bytes, unread, for the
        door should the request be handed over after all."""
        try:
            body: bytes = environ["wsgi.input"].read(size)
        except Exception:  # noqa: BLE001 - the client went away: the door answers that
            environ["wsgi.input"] = io.BytesIO(b"")
            raise _HandOver from None
        environ["wsgi.input"] = io.BytesIO(body)
        if len(body) != size:
            raise _HandOver  # shorter than declared: the door refuses it
        return body

    # -- the request ---------------------------------------------------------

    def _serve(
        self, route: tuple[str, dict[str, Any]], environ: dict[str, Any], size: int
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        started = time.monotonic()
        endpoint, arguments = route
        door: Door
        if endpoint == AWS_ENDPOINT:
            door = "aws"
            lane = AWS_LANES.get(environ.get("HTTP_X_AMZ_TARGET", ""))
            if lane is None or environ.get("CONTENT_TYPE") != AWS_CONTENT_TYPE:
                raise _HandOver
            # SigV4 signs the body: it is read first.
            body = self._take_body(environ, size)
            principal = self._aws_principal(environ, body)
            params = self._json(body)
        else:
            door = "rest"
            lane = REST_LANES[endpoint]
            if environ.get("CONTENT_TYPE") != "application/json":
                raise _HandOver
            # As on the door, the caller is known before the body is read.
            principal = self._bearer_principal(environ)
            params = self._json(self._take_body(environ, size))
            if "key_id" in arguments:
                # The door refuses a key named in both the path and the body.
                if "KeyId" in params:
                    raise _HandOver
                params["KeyId"] = arguments["key_id"]
        services = self._runtime.services
        request_id = str(uuid.uuid4())
        source_ip = environ.get("REMOTE_ADDR")
        user_agent = environ.get("HTTP_USER_AGENT")
        context = OperationContext(
            principal=principal,
            request=RequestInfo(
                request_id=request_id,
                source_ip=source_ip,
                user_agent=(user_agent or "")[:256] or None,
                door=door,
                secure_transport=environ.get("wsgi.url_scheme") == "https",
            ),
        )
        try:
            typed = load(lane.schema, params, ignore_unknown=door == "aws")
            with services.connection_if_used():
                result = lane.operation(services, context, typed)
        except Exception:  # noqa: BLE001 - the door answers and audits every failure
            raise _HandOver from None

        def event(outcome: Outcome, status: int, error: KmsError | None) -> AuditEvent:
            return build_event(
                services,
                request_id=request_id,
                door=door,
                event_name=lane.event_name,
                started=started,
                source_ip=source_ip,
                user_agent=user_agent,
                principal=principal,
                ctx=context,
                params=params,
                outcome=outcome,
                status=status,
                error=error,
            )

        try:
            success = event("success", 200, None)
        except Exception:  # noqa: BLE001 - nothing written yet: the door does it all again
            raise _HandOver from None
        try:
            services.audit_writer.submit(success)
        except Exception as exc:  # noqa: BLE001 - as the door: a failure event, then 503
            error = as_kms_error(exc)
            if not isinstance(exc, KmsError):
                log.error("request %s: audit submit failed: %s", request_id, type(exc).__name__)
            written = write_failure_event(
                services,
                event("failed", error.status, error),
                authenticated=True,
                source_ip=source_ip,
                reason=error.code,
            )
            if not written:
                error = ServiceUnavailableError()
            return _error(door, error, request_id)
        try:
            return _success(door, result or {}, request_id)
        except Exception as exc:  # noqa: BLE001 - the event is written: never hand over now
            log.error(
                "request %s: its answer could not be encoded: %s", request_id, type(exc).__name__
            )
            return _error(door, InternalError(), request_id)

    def _bearer_principal(self, environ: Mapping[str, Any]) -> Principal:
        try:
            return self._runtime.verifier.verify(environ.get("HTTP_AUTHORIZATION"))
        except Exception:  # noqa: BLE001 - the door answers and audits the failure
            raise _HandOver from None

    def _aws_principal(self, environ: Mapping[str, Any], body: bytes) -> Principal:
        authorization = environ.get("HTTP_AUTHORIZATION") or ""
        if authorization[:7].lower() == "bearer ":
            return self._bearer_principal(environ)
        runtime = self._runtime
        try:
            signed = signed_request_from_wsgi(environ, body)
            with runtime.services.connection_if_used():
                return runtime.sigv4.verify(signed)
        except Exception:  # noqa: BLE001 - the door answers and audits every failure
            raise _HandOver from None

    def _json(self, body: bytes) -> dict[str, Any]:
        try:
            return parse_json_object(body, max_depth=self._max_depth)
        except ValidationError:
            raise _HandOver from None


def _success(
    door: Door, result: Mapping[str, Any], request_id: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    document = jsonable(dict(result))
    if door == "aws":
        payload = json.dumps(document, separators=(",", ":")).encode()
        return "200 OK", _aws_headers(payload, request_id), payload
    payload = _rest_json(document)
    return "200 OK", _rest_headers(payload, request_id), payload


def _error(
    door: Door, error: KmsError, request_id: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    if door == "aws":
        payload = json.dumps(aws_error_document(error), separators=(",", ":")).encode()
        headers = _aws_headers(payload, request_id)
        status = aws_error_status(error)
        if error.retry_after is not None:
            headers.insert(3, ("Retry-After", str(error.retry_after)))
    else:
        payload = _rest_json(rest_error_document(error, request_id))
        headers = _rest_headers(payload, request_id)
        headers[2:2] = rest_error_headers(error)
        status = error.status
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown Error').upper()}", headers, payload


def _rest_json(document: Any) -> bytes:
    # What Flask's jsonify writes outside debug mode: compact, ASCII, a newline.
    return (json.dumps(document, separators=(",", ":")) + "\n").encode()


def _rest_headers(payload: bytes, request_id: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(payload))),
        ("X-Request-Id", request_id),
        ("Cache-Control", "no-store"),
    ]


def _aws_headers(payload: bytes, request_id: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", AWS_CONTENT_TYPE),
        ("Content-Length", str(len(payload))),
        ("x-amzn-RequestId", request_id),
        ("X-Request-Id", request_id),
        ("Cache-Control", "no-store"),
    ]
