"""Request schemas of the console's pages (``/console``): the audit filters
of the REST door, plus the source address and the export format."""

from __future__ import annotations

from app.operations import console
from app.schemas.audit import AuditFilterSchema, SearchAuditEventsSchema
from app.schemas.base import Int, RequestSchema, Text


class ConsoleAuditSchema(SearchAuditEventsSchema):
    builds = console.ConsoleAuditRequest

    source = Text(min_length=1, max_length=64, data_key="source")


class ConsoleExportSchema(AuditFilterSchema):
    builds = console.ConsoleExportRequest

    source = Text(min_length=1, max_length=64, data_key="source")
    format = Text(choices=console.EXPORT_FORMATS, data_key="format")


class ConsoleKeysSchema(RequestSchema):
    builds = console.ConsoleKeysRequest

    limit = Int(minimum=1, maximum=100, data_key="limit")
    marker = Text(min_length=1, max_length=1024, data_key="marker")
