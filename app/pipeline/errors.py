"""Every exception a request can end with, as the one :class:`~app.errors.KmsError`
each door then writes in its own dialect.

Werkzeug's HTTP errors (no such route, wrong method, body too large, a client
that went away mid-body) become the matching error first, so there is one
mapping. An unexpected exception is a bug (500, logged with its traceback)
unless a dependency is down (503); either way the caller sees a fixed text.
"""

from __future__ import annotations

import logging

from werkzeug.exceptions import HTTPException

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


def as_error(exc: BaseException, request_id: str) -> KmsError:
    """The error a request that raised ``exc`` answers with."""
    if isinstance(exc, KmsError):
        return exc
    if isinstance(exc, HTTPException):
        return http_exception_as_kms_error(exc)
    error = as_kms_error(exc)
    if error.status == 500:
        log.error("request %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
    elif error.status == 503:
        # The text of these (root key, token, database) is written for
        # operators and holds no secret; the client gets the generic 503.
        log.warning(
            "request %s: a dependency is unavailable: %s: %s", request_id, type(exc).__name__, exc
        )
    return error
