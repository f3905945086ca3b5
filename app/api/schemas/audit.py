"""Request schemas for reading the audit log (``/v1/audit``)."""

from __future__ import annotations

from typing import Any

from marshmallow import post_load

from app.api.schemas.base import Int, StrictSchema, Text
from app.audit.query import MAX_LIMIT
from app.audit.record import OUTCOMES
from app.operations import audit_log

_MAX_EPOCH = 253402300799


class AuditFilterSchema(StrictSchema):
    principal = Text(min_length=1, max_length=2048, data_key="principal")
    operation = Text(min_length=1, max_length=128, data_key="operation")
    key = Text(min_length=1, max_length=2048, data_key="key")
    outcome = Text(choices=OUTCOMES, data_key="outcome")
    error_code = Text(min_length=1, max_length=128, data_key="errorCode")
    since = Int(minimum=0, maximum=_MAX_EPOCH, data_key="since")
    until = Int(minimum=0, maximum=_MAX_EPOCH, data_key="until")

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> audit_log.AuditFilterRequest:
        return audit_log.AuditFilterRequest(**data)


class SearchAuditEventsSchema(AuditFilterSchema):
    limit = Int(minimum=1, maximum=MAX_LIMIT, data_key="limit")
    cursor = Text(min_length=1, max_length=256, data_key="cursor")

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> audit_log.SearchAuditEventsRequest:
        return audit_log.SearchAuditEventsRequest(**data)


class GetAuditEventSchema(StrictSchema):
    event_id = Text(min_length=1, max_length=64, required=True, data_key="EventId")

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> audit_log.GetAuditEventRequest:
        return audit_log.GetAuditEventRequest(**data)
