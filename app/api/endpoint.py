"""The path every call takes, on both doors: authenticate, parse, run, audit,
serialise.

Plain requests of the hot read-only operations (Encrypt, Decrypt,
GenerateDataKey, ...: ``REST_LANES`` and ``AWS_LANES``) are served by
:mod:`app.api.fast_lane` instead, which uses the same pieces (the verifiers,
:func:`build_event`, :func:`write_failure_event`, the schemas and operations)
and hands every request it cannot serve in full, and every failure, to the
doors. A check added here for those operations must be added there too, or
make the lane hand the request over.

Audit rules (ARCHITECTURE.md §7): exactly one event per request. A call that
succeeds writes its event in the same transaction as its changes, before the
response exists; a call that fails writes a failure event in a transaction of
its own (:func:`audit_failure`, from the doors' error handlers). If an event
cannot be written the caller gets 503 and nothing else: no plaintext, no data
key, no ciphertext. Authentication failures go through the audit log's
bounded sampler, so a flood of bad tokens cannot grow the table without limit.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, current_app, g, jsonify, request
from marshmallow import Schema

from app.api.json_body import parse_json_object, require_utf8
from app.api.runtime import runtime
from app.api.schemas.base import load
from app.audit.events import AuditEvent, Outcome
from app.auth.principal import Principal
from app.errors import (
    AccessDeniedError,
    KmsError,
    ServiceUnavailableError,
    UnauthenticatedError,
    ValidationError,
)
from app.operations.context import Door, OperationContext, RequestInfo
from app.operations.kinds import is_read_only
from app.operations.services import Services

log = logging.getLogger("trent.auth")
audit_log = logging.getLogger("trent.audit")

Operation = Callable[[Services, OperationContext, Any], Mapping[str, Any] | None]

#: Operational endpoints that are not audited: load balancers poll them.
UNAUDITED_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json"})


def begin_request() -> None:
    """``before_request`` of the app: the request's id and its audit state."""
    g.request_id = str(uuid.uuid4())
    g.started = time.monotonic()
    g.audited = request.path in UNAUDITED_PATHS
    g.principal = None
    g.ctx = None
    g.params = {}
    g.door = "rest"


def event_name() -> str:
    """The operation a request is for, as its audit event names it."""
    name = getattr(g, "event_name", None)
    if name:
        return str(name)
    view = current_app.view_functions.get(request.endpoint or "")
    return str(getattr(view, "trent_operation", "UnknownRoute"))


def request_info() -> RequestInfo:
    door: Door = g.door
    return RequestInfo(
        request_id=g.request_id,
        source_ip=request.remote_addr,
        user_agent=(request.headers.get("User-Agent") or "")[:256] or None,
        door=door,
        secure_transport=request.is_secure,
    )


def authenticate() -> Principal:
    headers = request.headers.getlist("Authorization")
    if len(headers) > 1:
        raise UnauthenticatedError(reason="several Authorization headers")
    return runtime().verifier.verify(headers[0] if headers else None)


def require_principal() -> None:
    """``before_request`` hook of every authenticated blueprint: nothing about
    the request is looked at before the caller is known."""
    g.principal = authenticate()


def json_body() -> dict[str, Any]:
    if request.content_length is None and not request.data:
        return {}
    mimetype = request.mimetype
    if request.get_data(cache=True):
        if mimetype not in ("application/json", ""):
            raise ValidationError("The request body must be application/json.")
        require_utf8(request.mimetype_params.get("charset"))
    settings = runtime().services.settings
    return parse_json_object(request.get_data(cache=True), max_depth=settings.max_json_depth)


def query_parameters(
    *names: str, integers: tuple[str, ...] = (), repeatable: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The query string as request members: unknown or repeated parameters
    are refused, integers must be plain decimal digits."""
    unknown = set(request.args) - set(names)
    if unknown:
        raise ValidationError(f"Unknown query parameter {sorted(unknown)[0]!r}.")
    result: dict[str, Any] = {}
    for name in names:
        values = request.args.getlist(name)
        if not values:
            continue
        if name in repeatable:
            result[name] = values
            continue
        if len(values) > 1:
            raise ValidationError(f"The query parameter {name!r} is given more than once.")
        value = values[0]
        if name in integers:
            if not value.isascii() or not value.isdigit() or len(value) > 19:
                raise ValidationError(
                    f"1 validation error detected: Value at '{name[:1].lower() + name[1:]}' "
                    "failed to satisfy constraint: Member must be an integer",
                    field=name,
                )
            result[name] = int(value)
        else:
            result[name] = value
    return result


def jsonable(value: Any) -> Any:
    """Blobs become standard base64; everything else is already JSON."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def build_event(
    services: Services,
    *,
    request_id: str,
    door: str,
    event_name: str,
    started: float,
    source_ip: str | None,
    user_agent: str | None,
    principal: Principal | None,
    ctx: OperationContext | None,
    params: Mapping[str, Any] | None,
    outcome: Outcome,
    status: int,
    error: KmsError | None,
) -> AuditEvent:
    """The audit event of one request, from what the door knows of it."""
    notes = ctx.notes if ctx is not None else None
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=services.now(),
        request_id=request_id,
        door=door,
        event_name=event_name,
        outcome=outcome,
        http_status=status,
        source_ip=source_ip,
        user_agent=user_agent,
        principal_arn=principal.arn if principal else None,
        principal_account=principal.account if principal else None,
        principal_type=principal.type if principal else None,
        auth_method=principal.auth_method if principal else None,
        token_id=principal.token_id if principal else None,
        resources=tuple(notes.resources) if notes else (),
        request_parameters=dict(params or {}),
        encryption_context=notes.encryption_context if notes else None,
        error_code=error.code if error else None,
        error_message=error.message if error else None,
        decision_sids=tuple(notes.decision_sids) if notes else (),
        key_version=notes.key_version if notes else None,
        latency_ms=(time.monotonic() - started) * 1000.0,
    )


def _event(outcome: Outcome, status: int, error: KmsError | None, services: Services) -> AuditEvent:
    # The request's globals are read once each: every access through Flask's
    # context proxies costs a lookup, and this runs for every request.
    state = g._get_current_object()
    http = request._get_current_object()  # type: ignore[attr-defined]
    name = getattr(state, "event_name", None)
    if not name:
        view = current_app.view_functions.get(http.endpoint or "")
        name = getattr(view, "trent_operation", "UnknownRoute")
    return build_event(
        services,
        request_id=state.request_id,
        door=state.door,
        event_name=str(name),
        started=state.started,
        source_ip=http.remote_addr,
        user_agent=http.headers.get("User-Agent"),
        principal=state.principal,
        ctx=state.ctx,
        params=state.params,
        outcome=outcome,
        status=status,
        error=error,
    )


def execute(
    operation: Operation,
    schema: Schema | None,
    data: Mapping[str, Any] | None = None,
    *,
    ignore_unknown: bool = False,
) -> Mapping[str, Any]:
    """Run ``operation`` for the authenticated caller and audit its success in
    the same transaction; failures propagate to :func:`audit_failure`."""
    services = runtime().services
    g.params = dict(data or {})
    context = OperationContext(principal=g.principal, request=request_info())
    g.ctx = context
    typed = load(schema, data or {}, ignore_unknown=ignore_unknown) if schema else None
    read_only = is_read_only(operation)
    if read_only:
        with services.connection_if_used():
            result = operation(services, context, typed)
    else:
        with services.connection(), services.unit_of_work():
            result = operation(services, context, typed)
            services.audit.append(_event("success", 200, None, services))
    if read_only:
        # Nothing to commit but the event. It joins the next group commit
        # (shared with concurrent requests) and the result is returned only
        # once that batch is durable. The request's connection is back in the
        # pool first, so waiting never holds one the writer might need.
        services.audit_writer.submit(_event("success", 200, None, services))
    g.audited = True
    return result or {}


def call(
    operation: Operation,
    schema: Schema | None,
    data: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> Response:
    """The REST door's :func:`execute`: the result as a JSON response."""
    response = jsonify(jsonable(dict(execute(operation, schema, data))))
    response.status_code = status
    return response


def audit_failure(error: KmsError, cause: BaseException) -> KmsError:
    """Write the failure event of this request (once); returns the error the
    caller must see: ``error``, or 503 when the event could not be written."""
    if g.get("audited", True):
        return error
    g.audited = True
    services = runtime().services
    reason = getattr(cause, "reason", None)
    if isinstance(error, UnauthenticatedError) or reason is not None and g.principal is None:
        log.info("request %s: authentication failed: %s", g.request_id, reason or error.code)
    denied = isinstance(error, AccessDeniedError | UnauthenticatedError) or reason is not None
    outcome: Outcome = "denied" if denied else "failed"
    event = _event(outcome, error.status, error, services)
    written = write_failure_event(
        services,
        event,
        authenticated=g.principal is not None,
        source_ip=request.remote_addr,
        reason=str(reason or error.code),
    )
    return error if written else ServiceUnavailableError()


def write_failure_event(
    services: Services,
    event: AuditEvent,
    *,
    authenticated: bool,
    source_ip: str | None,
    reason: str,
) -> bool:
    """Append the event of a failed request in a transaction of its own
    (through the sampler when the caller is unknown); False if it could not
    be written, and the caller must then get 503."""
    try:
        with services.connection():
            if not authenticated:
                services.audit.append_auth_failure(source_ip, reason, None, event)
            else:
                with services.unit_of_work(audit_only=True):
                    services.audit.append(event)
    except Exception as exc:  # noqa: BLE001 - any failure to audit fails closed
        audit_log.error(
            "request %s: its audit event could not be written (%s); answering 503",
            event.request_id,
            type(exc).__name__,
        )
        return False
    return True
