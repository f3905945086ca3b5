"""The AWS door: ``POST /`` in the KMS JSON 1.1 protocol ("TrentService").

boto3, the AWS CLI and the AWS Encryption SDK talk to this endpoint unchanged.
Requests are authenticated with SigV4 (access keys issued by Trent) or a
bearer JWT, dispatched by ``X-Amz-Target`` to the same operations and schemas
as the REST door, audited the same way, and answered in AWS's dialect:
``{"__type": code, "message": text}`` (no ``message`` when it is empty, as
AWS does), 400 for every client error (as real KMS sends), 500/503 for
server faults, and an ``x-amzn-RequestId`` header.
Unknown members in a body are ignored, as AWS does.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException

from app.api.endpoint import audit_failure, execute, jsonable
from app.api.errors import http_exception_as_kms_error, unexpected_error
from app.api.json_body import parse_json_object, require_utf8
from app.api.runtime import runtime
from app.api.schemas.base import schema
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

log = logging.getLogger("trent.awsapi")

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

blueprint = Blueprint("awsapi", __name__)


def _respond(body: object, status: int) -> Response:
    response = Response(json.dumps(body, separators=(",", ":")), status=status)
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["x-amzn-RequestId"] = g.request_id
    return response


def aws_error_status(error: KmsError) -> int:
    # Real KMS answers 400 for every client error; only faults are 5xx.
    return error.status if error.server_fault else 400


def aws_error_document(error: KmsError) -> dict[str, str]:
    # AWS sends no message member at all when there is nothing to say
    # (InvalidCiphertextException, KMSInvalidSignatureException, ...).
    if not error.message:
        return {"__type": error.code}
    return {"__type": error.code, "message": error.message}


def error_response(error: KmsError) -> Response:
    response = _respond(aws_error_document(error), aws_error_status(error))
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _authenticate() -> Principal:
    """A bearer JWT, or else a SigV4 signature."""
    rt = runtime()
    authorization = request.headers.getlist("Authorization")
    if len(authorization) == 1 and authorization[0][:7].lower() == "bearer ":
        try:
            return rt.verifier.verify(authorization[0])
        except UnauthenticatedError as exc:
            raise UnrecognizedClientError(reason=exc.reason) from None
    signed = signed_request_from_wsgi(request.environ, request.get_data(cache=True))
    try:
        # The access key usually comes from the read cache: no connection then.
        with rt.services.connection_if_used():
            return rt.sigv4.verify(signed)
    except SigV4Error as exc:
        error_class = _SIGV4_ERRORS.get(exc.code, UnrecognizedClientError)
        raise error_class(exc.message, reason=exc.reason) from None


@blueprint.post("/")
def dispatch() -> Response:
    g.door = "aws"
    prefix, _, name = request.headers.get("X-Amz-Target", "").partition(".")
    g.event_name = name[:64] if prefix == TARGET_PREFIX and name.isalnum() else "UnknownOperation"
    g.principal = _authenticate()
    target = TARGETS.get(name) if prefix == TARGET_PREFIX else None
    if target is None:
        if prefix == TARGET_PREFIX and name in UNSUPPORTED:
            raise UnsupportedOperationError(f"{name} is not supported by this service.")
        raise UnknownOperationError(f"Unknown operation {name or '(none)'}.")
    try:
        require_utf8(request.mimetype_params.get("charset"))
        body = parse_json_object(
            request.get_data(cache=True), max_depth=runtime().services.settings.max_json_depth
        )
    except ValidationError as exc:
        raise SerializationError(exc.message) from None
    result = execute(target.operation, schema(target.schema), body, ignore_unknown=True)
    return _respond(jsonable(dict(result)), 200)


@blueprint.errorhandler(Exception)
def _error(exc: Exception) -> Response:
    if isinstance(exc, KmsError):
        error = exc
    elif isinstance(exc, HTTPException):
        error = http_exception_as_kms_error(exc)
    else:
        error = unexpected_error(exc)
    return error_response(audit_failure(error, exc))
