"""The AWS door: ``POST /`` in the KMS JSON 1.1 protocol ("TrentService").

boto3, the AWS CLI and the AWS Encryption SDK talk to this endpoint unchanged.
Requests are authenticated with SigV4 (access keys issued by Trent) or a
bearer JWT, dispatched by ``X-Amz-Target`` to the same operations and schemas
as the REST door (:mod:`app.awsapi.targets`), audited the same way, and
answered in AWS's dialect: ``{"__type": code, "message": text}`` (no
``message`` when it is empty, as AWS does), 400 for every client error (as
real KMS sends), 500/503 for server faults, and an ``x-amzn-RequestId``
header. Unknown members in a body are ignored, as AWS does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.auth.principal import Principal
from app.auth.sigv4 import SigV4Error, signed_request_from_wsgi
from app.awsapi.targets import TARGET_PREFIX, TARGETS, UNSUPPORTED
from app.errors import (
    IncompleteSignatureError,
    InvalidSignatureError,
    KmsError,
    MissingAuthenticationTokenError,
    SerializationError,
    UnauthenticatedError,
    UnknownOperationError,
    UnrecognizedClientError,
    UnsupportedOperationError,
    ValidationError,
)
from app.pipeline.call import Call
from app.pipeline.documents import json_document, jsonable
from app.pipeline.json_body import parse_json_object, require_utf8
from app.pipeline.pipeline import Answer
from app.pipeline.route import Route
from app.pipeline.runtime import Runtime

CONTENT_TYPE = "application/x-amz-json-1.1"
_SIGV4_ERRORS: dict[str, type[UnauthenticatedError]] = {
    cls.code: cls
    for cls in (
        IncompleteSignatureError,
        InvalidSignatureError,
        UnrecognizedClientError,
        MissingAuthenticationTokenError,
    )
}
#: The door's one URL; ``X-Amz-Target`` names the operation.
ENTRY = Route("UnknownOperation", method="POST", rule="/")


class AwsDoor:
    name = "aws"
    ignore_unknown = True

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._max_body = runtime.services.settings.max_body_bytes
        self._max_depth = runtime.services.settings.max_json_depth

    def routes(self) -> Sequence[Route]:
        return (ENTRY,)

    def begin(self, call: Call, route: Route) -> Route | None:
        prefix, _, name = (call.header("HTTP_X_AMZ_TARGET") or "").partition(".")
        known = prefix == TARGET_PREFIX and name.isalnum()
        call.event_name = name[:64] if known else "UnknownOperation"
        return TARGETS.get(name) if prefix == TARGET_PREFIX else None

    def choose(self, call: Call) -> Route:
        prefix, _, name = (call.header("HTTP_X_AMZ_TARGET") or "").partition(".")
        if prefix == TARGET_PREFIX and name in UNSUPPORTED:
            raise UnsupportedOperationError(f"{name} is not supported by this service.")
        raise UnknownOperationError(f"Unknown operation {name or '(none)'}.")

    def authenticate(self, call: Call, route: Route) -> Principal:
        """A bearer JWT, or else a SigV4 signature (over the body: read first)."""
        runtime = self._runtime
        body = call.body(self._max_body)
        authorization = call.header("HTTP_AUTHORIZATION") or ""
        if authorization[:7].lower() == "bearer ":
            try:
                return runtime.verifier.verify(authorization)
            except UnauthenticatedError as exc:
                raise UnrecognizedClientError(reason=exc.reason) from None
        signed = signed_request_from_wsgi(call.environ, body)
        try:
            # The access key usually comes from the read cache: no connection then.
            with runtime.services.connection_if_used():
                return runtime.sigv4.verify(signed)
        except SigV4Error as exc:
            error_class = _SIGV4_ERRORS.get(exc.code, UnrecognizedClientError)
            raise error_class(exc.message, reason=exc.reason) from None

    def members(self, call: Call, route: Route, path: Mapping[str, str]) -> dict[str, Any]:
        try:
            require_utf8(call.content_type()[1].get("charset"))
            return parse_json_object(call.body(self._max_body), max_depth=self._max_depth)
        except ValidationError as exc:
            raise SerializationError(exc.message) from None

    def success(self, call: Call, document: Any) -> Answer:
        payload = json_document(jsonable(dict(document)), newline=False)
        return Answer(200, _headers(call, payload), [payload])

    def failure(self, call: Call, error: KmsError) -> Answer:
        payload = json_document(aws_error_document(error), newline=False)
        headers = _headers(call, payload)
        if error.retry_after is not None:
            headers.append(("Retry-After", str(error.retry_after)))
        return Answer(aws_error_status(error), headers, [payload])


def aws_error_status(error: KmsError) -> int:
    # Real KMS answers 400 for every client error; only faults are 5xx.
    return error.status if error.server_fault else 400


def aws_error_document(error: KmsError) -> dict[str, str]:
    # AWS sends no message member at all when there is nothing to say
    # (InvalidCiphertextException, KMSInvalidSignatureException, ...).
    if not error.message:
        return {"__type": error.code}
    return {"__type": error.code, "message": error.message}


def _headers(call: Call, payload: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(payload))),
        ("x-amzn-RequestId", call.request_id),
        ("X-Request-Id", call.request_id),
        ("Cache-Control", "no-store"),
    ]
