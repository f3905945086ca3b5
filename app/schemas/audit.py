"""Request schemas for reading the audit log (``/v1/audit``)."""

from __future__ import annotations

from app.audit.query import MAX_LIMIT
from app.audit.record import OUTCOMES
from app.audit.times import MAX_TIME_TEXT
from app.operations import audit_log
from app.schemas.base import Int, RequestSchema, Text


class AuditFilterSchema(RequestSchema):
    builds = audit_log.AuditFilterRequest

    principal = Text(min_length=1, max_length=2048, data_key="principal")
    operation = Text(min_length=1, max_length=128, data_key="operation")
    key = Text(min_length=1, max_length=2048, data_key="key")
    outcome = Text(choices=OUTCOMES, data_key="outcome")
    error_code = Text(min_length=1, max_length=128, data_key="errorCode")
    # ISO 8601 or epoch seconds, both as text: the audit log parses them
    # (app.audit.times), the same way for the REST door and the CLI.
    since = Text(min_length=1, max_length=MAX_TIME_TEXT, data_key="since")
    until = Text(min_length=1, max_length=MAX_TIME_TEXT, data_key="until")


class SearchAuditEventsSchema(AuditFilterSchema):
    builds = audit_log.SearchAuditEventsRequest

    limit = Int(minimum=1, maximum=MAX_LIMIT, data_key="limit")
    cursor = Text(min_length=1, max_length=256, data_key="cursor")


class GetAuditEventSchema(RequestSchema):
    builds = audit_log.GetAuditEventRequest

    event_id = Text(min_length=1, max_length=64, required=True, data_key="EventId")
