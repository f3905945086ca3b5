"""REST routes for reading the audit log (``/v1/audit``).

Query parameters are lowerCamel, like the audit event's own fields:
``principal, operation, key, outcome, errorCode, since, until`` (epoch
seconds), ``limit`` (1-1000) and ``cursor``. Unknown or repeated parameters
are refused.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, stream_with_context

from app.api.endpoint import call, execute, query_parameters, require_principal
from app.api.openapi import documented
from app.api.runtime import runtime
from app.api.schemas.audit import (
    AuditFilterSchema,
    GetAuditEventSchema,
    SearchAuditEventsSchema,
)
from app.operations import audit_log

blueprint = Blueprint("audit", __name__)
blueprint.before_request(require_principal)

_FILTERS = ("principal", "operation", "key", "outcome", "errorCode", "since", "until")
_INTEGERS = ("since", "until", "limit")


def _query(*names: str) -> dict[str, Any]:
    return query_parameters(*names, integers=_INTEGERS)


@blueprint.get("/v1/audit/events")
@documented(
    "GET",
    "/v1/audit/events",
    "SearchAuditEvents",
    "Audit events, newest first (?principal=&operation=&key=&outcome=&errorCode="
    "&since=&until=&limit=&cursor=).",
    SearchAuditEventsSchema,
    members="query",
)
def search_events() -> Response:
    return call(
        audit_log.search_audit_events,
        SearchAuditEventsSchema(),
        _query(*_FILTERS, "limit", "cursor"),
    )


@blueprint.get("/v1/audit/events/<event_id>")
@documented(
    "GET",
    "/v1/audit/events/{EventId}",
    "GetAuditEvent",
    "One audit event.",
    GetAuditEventSchema,
    members="none",
)
def get_event(event_id: str) -> Response:
    _query()
    return call(audit_log.get_audit_event, GetAuditEventSchema(), {"EventId": event_id})


@blueprint.get("/v1/audit/export")
@documented(
    "GET",
    "/v1/audit/export",
    "ExportAuditEvents",
    "Matching audit events, oldest first, as CloudTrail-like JSON Lines (streamed).",
    AuditFilterSchema,
    members="query",
    media_type="application/x-ndjson",
)
def export_events() -> Response:
    # The request's audit event is written (and authorization decided) before
    # the first byte is sent; a database failure in mid-stream can only cut
    # the stream short, as the status line has gone out by then.
    result = execute(audit_log.export_audit_events, AuditFilterSchema(), _query(*_FILTERS))
    return Response(stream_with_context(result["lines"]), mimetype="application/x-ndjson")


@blueprint.get("/v1/audit/verify")
@documented(
    "GET", "/v1/audit/verify", "VerifyAuditLog", "Verify the hash chain and the checkpoints."
)
def verify_log() -> Response:
    _query()
    execute(audit_log.authorize_audit_read, None)
    services = runtime().services
    # Outside the unit of work: see audit_log.verify_audit_log.
    with services.connection():
        report = audit_log.verify_audit_log(services)
    return jsonify(report)
