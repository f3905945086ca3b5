"""The console's routes: each page is an operation the pipeline runs and
audits like any other (as the signed-in principal); the sign-in page and
the static files are probes (no caller, nothing to audit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.console import pages
from app.console.door import SIGN_IN, SIGN_OUT
from app.operations import audit_log, console, console_policy, identity
from app.operations.services import Services
from app.pipeline.route import Probe, Rendered, Route
from app.schemas.audit import GetAuditEventSchema
from app.schemas.console import (
    ApplyPolicySchema,
    ConsoleAuditSchema,
    ConsoleExportSchema,
    ConsoleKeysSchema,
    KeyAccessSchema,
    PlaygroundSchema,
    SignInSchema,
)

_MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _sign_in(services: Services) -> Rendered:
    page = pages.sign_in_page()
    return Rendered("text/html; charset=utf-8", [page], tuple(pages.security_headers()))


def _static(name: str) -> Probe:
    def serve(services: Services) -> Rendered:
        headers = (("X-Content-Type-Options", "nosniff"),)
        return Rendered(pages.STATIC[name], [pages.static_file(name)], headers)

    return serve


def _export(services: Services, result: Mapping[str, Any]) -> Rendered:
    kind = result["format"]
    disposition = f'attachment; filename="trent-audit.{kind}"'
    headers = (("Content-Disposition", disposition), ("X-Content-Type-Options", "nosniff"))
    return Rendered(_MEDIA[kind], result["chunks"], headers)


def _verify(services: Services, result: Mapping[str, Any]) -> Mapping[str, Any]:
    # After the permission check, outside any transaction (as the REST door).
    with services.connection():
        return audit_log.verify_audit_log(services)


ROUTES = (
    Route("ConsoleSignInPage", method="GET", rule="/console", probe=_sign_in),
    Route(
        "ConsoleScript",
        method="GET",
        rule="/console/static/console.js",
        probe=_static("console.js"),
    ),
    Route(
        "ConsoleStylesheet",
        method="GET",
        rule="/console/static/console.css",
        probe=_static("console.css"),
    ),
    Route(SIGN_IN, console.sign_in, SignInSchema, "POST", "/console/login"),
    Route(SIGN_OUT, identity.whoami, None, "POST", "/console/logout", members="none"),
    Route(
        "ConsoleSearchAudit",
        console.audit_page,
        ConsoleAuditSchema,
        "GET",
        "/console/audit",
        members="query",
    ),
    Route(
        "ConsoleGetAuditEvent",
        audit_log.get_audit_event,
        GetAuditEventSchema,
        "GET",
        "/console/audit/events/<event_id>",
        members="none",
    ),
    Route(
        "ConsoleExportAuditEvents",
        console.export_page,
        ConsoleExportSchema,
        "GET",
        "/console/audit/export",
        members="query",
        render=_export,
    ),
    Route(
        "ConsoleVerifyAuditLog",
        audit_log.authorize_audit_read,
        None,
        "GET",
        "/console/audit/verify",
        members="none",
        render=_verify,
    ),
    Route(
        "ConsoleListKeys",
        console.keys_page,
        ConsoleKeysSchema,
        "GET",
        "/console/keys",
        members="query",
    ),
    Route(
        "ConsoleKeyAccess",
        console_policy.key_access_page,
        KeyAccessSchema,
        "GET",
        "/console/keys/<key_id>",
        members="none",
    ),
    Route(
        "ConsolePlayground",
        console_policy.playground,
        PlaygroundSchema,
        "GET",
        "/console/playground",
        members="query",
    ),
    Route(
        "ConsolePlaygroundRun",
        console_policy.playground,
        PlaygroundSchema,
        "POST",
        "/console/playground",
    ),
    Route(
        "ConsoleApplyPolicy",
        console_policy.apply_policy,
        ApplyPolicySchema,
        "POST",
        "/console/playground/apply",
    ),
)
