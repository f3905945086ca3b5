"""Request schemas of the console's pages (``/console``): the audit filters
of the REST door, plus the source address and the export format; a key's
access; the policy playground's form."""

from __future__ import annotations

from app.operations import console, console_policy
from app.schemas.audit import AuditFilterSchema, SearchAuditEventsSchema
from app.schemas.base import Flag, Int, RequestSchema, Text, policy_document


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


class KeyAccessSchema(RequestSchema):
    builds = console_policy.KeyAccessRequest

    key_id = Text(min_length=1, max_length=2048, required=True, data_key="KeyId")


class PlaygroundSchema(RequestSchema):
    builds = console_policy.PlaygroundRequest

    policy = policy_document("policy", stored=False)
    step = Text(choices=console_policy.PLAYGROUND_STEPS, data_key="step")
    key = Text(min_length=1, max_length=2048, data_key="key")
    principal = Text(min_length=1, max_length=2048, data_key="principal")
    actions = Text(min_length=1, max_length=4096, data_key="actions")
    context = Text(min_length=1, max_length=8192, printable=False, data_key="context")
    tests = Text(min_length=1, max_length=262144, printable=False, data_key="tests")


class ApplyPolicySchema(RequestSchema):
    builds = console_policy.ApplyPolicyRequest

    key = Text(min_length=1, max_length=2048, required=True, data_key="key")
    policy = policy_document("policy", required=True)


class SignInSchema(RequestSchema):
    builds = console.SignInRequest

    link = Flag(data_key="link")
    issued_at = Int(minimum=0, maximum=253402300799, data_key="issuedAt")
