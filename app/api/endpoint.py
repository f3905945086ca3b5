"""The one path every REST call takes: authenticate, parse, run, serialise.

A route gathers its input (path parameters and the JSON body) and hands it to
:func:`call`, which does everything else the same way for every operation.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, g, jsonify, request
from marshmallow import Schema

from app.api.json_body import parse_json_object
from app.api.runtime import runtime
from app.api.schemas.base import load
from app.auth.principal import Principal
from app.errors import UnauthenticatedError, ValidationError
from app.operations.context import OperationContext, RequestInfo
from app.operations.services import Services

log = logging.getLogger("trent.auth")

Operation = Callable[[Services, OperationContext, Any], Mapping[str, Any] | None]


def request_info() -> RequestInfo:
    return RequestInfo(
        request_id=g.request_id,
        source_ip=request.remote_addr,
        user_agent=(request.headers.get("User-Agent") or "")[:256] or None,
        door="rest",
        secure_transport=request.is_secure,
    )


def authenticate() -> Principal:
    headers = request.headers.getlist("Authorization")
    if len(headers) > 1:
        exc = UnauthenticatedError()
        log.info("request %s: authentication failed: several Authorization headers", g.request_id)
        raise exc
    try:
        return runtime().verifier.verify(headers[0] if headers else None)
    except UnauthenticatedError as exc:
        log.info(
            "request %s: authentication failed: %s",
            g.request_id,
            exc.reason,
        )
        raise


def json_body() -> dict[str, Any]:
    if request.content_length is None and not request.data:
        return {}
    mimetype = request.mimetype
    if request.get_data(cache=True) and mimetype not in ("application/json", ""):
        raise ValidationError("The request body must be application/json.")
    settings = runtime().services.settings
    return parse_json_object(request.get_data(cache=True), max_depth=settings.max_json_depth)


def jsonable(value: Any) -> Any:
    """Blobs become standard base64; everything else is already JSON."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def require_principal() -> None:
    """``before_request`` hook of every authenticated blueprint: nothing about
    the request is looked at before the caller is known."""
    g.principal = authenticate()


def call(
    operation: Operation,
    schema: Schema | None,
    data: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> Response:
    principal: Principal = g.principal
    typed = load(schema, data or {}) if schema is not None else None
    rt = runtime()
    context = OperationContext(principal=principal, request=request_info())
    with rt.services.connection():
        result = operation(rt.services, context, typed)
    response = jsonify(jsonable(dict(result or {})))
    response.status_code = status
    return response
