"""The REST door's error dialect: one JSON envelope for every error.

    {"error": {"code": "<KMS error code>", "message": "<safe text>", "request_id": "<id>"}}

Werkzeug's own HTTP errors (unknown route, wrong method, body too large) are
turned into the matching :class:`~app.errors.KmsError` first, so there is one
mapping. An unexpected exception becomes a fixed 500 body with the request id;
its traceback goes to the log only.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from app.api.endpoint import audit_failure
from app.errors import (
    KmsError,
    MethodNotAllowedError,
    NotFoundError,
    RequestTooLargeError,
    ValidationError,
)
from app.operations.failures import as_kms_error

log = logging.getLogger("trent.api")


def http_exception_as_kms_error(exc: HTTPException) -> KmsError:
    if exc.code == 404:
        return NotFoundError("The requested resource does not exist.")
    if exc.code == 405:
        return MethodNotAllowedError("The method is not allowed for the requested resource.")
    if exc.code == 413:
        return RequestTooLargeError("The request body is larger than the service accepts.")
    if exc.code is not None and 400 <= exc.code < 500:
        return ValidationError("The request could not be understood.")
    return as_kms_error(exc)


def rest_error_document(error: KmsError, request_id: str | None) -> dict[str, object]:
    return {"error": {"code": error.code, "message": error.message, "request_id": request_id}}


def rest_error_headers(error: KmsError) -> list[tuple[str, str]]:
    """The headers an error adds to the REST door's answer."""
    headers = []
    if error.retry_after is not None:
        headers.append(("Retry-After", str(error.retry_after)))
    if error.status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="trent"'))
    return headers


def error_response(error: KmsError) -> Response:
    response = jsonify(rest_error_document(error, getattr(g, "request_id", None)))
    response.status_code = error.status
    for name, value in rest_error_headers(error):
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(KmsError)
    def _kms_error(exc: KmsError) -> Response:
        return error_response(audit_failure(exc, exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        error = audit_failure(http_exception_as_kms_error(exc), exc)
        response = error_response(error)
        if isinstance(error, MethodNotAllowedError):
            # RFC 9110: a 405 names the methods the resource does allow.
            response.headers["Allow"] = ", ".join(_allowed_methods(exc))
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        return error_response(audit_failure(unexpected_error(exc), exc))


def _allowed_methods(exc: HTTPException) -> list[str]:
    """The methods the requested URL answers. Werkzeug's own list also names
    those of rules whose path matched but whose converter then refused the
    value (``/v1/keys/{id}/enable`` is not the key ``"{id}/enable"``), so
    each is tried against the route map."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    candidates = getattr(exc, "valid_methods", None) or ()
    return sorted(method for method in candidates if adapter.test(method=method))


def unexpected_error(exc: BaseException) -> KmsError:
    """The error for an exception no handler expected; a bug (500, logged with
    its traceback) unless a dependency is down (503)."""
    error = as_kms_error(exc)
    if error.status == 500:
        log.error(
            "request %s failed: %s", getattr(g, "request_id", "-"), type(exc).__name__, exc_info=exc
        )
    elif error.status == 503:
        log.warning(
            "request %s: a dependency is unavailable: %s",
            getattr(g, "request_id", "-"),
            type(exc).__name__,
        )
    return error
