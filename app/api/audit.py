"""REST routes for reading the audit log (``/v1/audit``).

Query parameters are lowerCamel, like the audit event's own fields:
``principal, operation`` (any case; an unknown name is refused with the
valid ones), ``key`` (key id or ARN, alias name or ARN), ``outcome,
errorCode, since, until`` (ISO 8601 or epoch seconds), ``limit`` (1-1000)
and ``cursor``. Unknown or repeated parameters are refused. Events carry
their times as UTC ISO 8601, as the export does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.operations import audit_log
from app.operations.services import Services
from app.pipeline.route import Rendered, Route
from app.schemas.audit import (
    AuditFilterSchema,
    GetAuditEventSchema,
    SearchAuditEventsSchema,
)


def _stream(services: Services, result: Mapping[str, Any]) -> Rendered:
    # The request's audit event is written (and authorization decided) before
    # the first byte is sent; a database failure in mid-stream can only cut
    # the stream short, as the status line has gone out by then.
    return Rendered("application/x-ndjson", result["lines"])


def _verify(services: Services, result: Mapping[str, Any]) -> Mapping[str, Any]:
    # Outside the unit of work, once the caller may read the log: see
    # audit_log.verify_audit_log.
    with services.connection():
        return audit_log.verify_audit_log(services)


ROUTES = (
    Route(
        "SearchAuditEvents",
        audit_log.search_audit_events,
        SearchAuditEventsSchema,
        "GET",
        "/v1/audit/events",
        "Audit events, newest first (?principal=&operation=&key=&outcome=&errorCode="
        "&since=&until=&limit=&cursor=).",
        members="query",
    ),
    Route(
        "GetAuditEvent",
        audit_log.get_audit_event,
        GetAuditEventSchema,
        "GET",
        "/v1/audit/events/<event_id>",
        "One audit event.",
        members="none",
    ),
    Route(
        "ExportAuditEvents",
        audit_log.export_audit_events,
        AuditFilterSchema,
        "GET",
        "/v1/audit/export",
        "Matching audit events, oldest first, as CloudTrail-like JSON Lines (streamed).",
        members="query",
        render=_stream,
        media_type="application/x-ndjson",
    ),
    Route(
        "VerifyAuditLog",
        audit_log.authorize_audit_read,
        None,
        "GET",
        "/v1/audit/verify",
        "Verify the hash chain and the checkpoints.",
        members="none",
        render=_verify,
    ),
)
