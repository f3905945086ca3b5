"""The console's pages, each one operation built from the others.

A page that shows what several operations answer (the audit explorer: a page
of events and a chart of the same filters) is one request, so it is one
operation with one audit event, recorded as the signed-in principal. Each
still asks the same permission the REST door asks first
(``trent:ReadAuditLog``, ``kms:ListKeys``, ``kms:DescribeKey``…), before
anything is looked up, so a page never shows what the API would refuse.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.audit import query, times
from app.errors import AccessDeniedError, KmsError
from app.operations import aliases, audit_log, keys, rotation, tags
from app.operations.access import authorize_account_action
from app.operations.context import OperationContext
from app.operations.kinds import read_only
from app.operations.services import Services

#: Events the chart of the audit explorer counts (the newest that match).
CHART_EVENTS = 1000
#: Columns of the CSV export, from the CloudTrail-like record.
CSV_COLUMNS = (
    "eventTime",
    "eventID",
    "eventName",
    "outcome",
    "errorCode",
    "principalArn",
    "sourceIPAddress",
    "resources",
    "seq",
)
EXPORT_FORMATS = ("jsonl", "csv")


@dataclass(frozen=True)
class ConsoleAuditRequest(audit_log.SearchAuditEventsRequest):
    #: Matched against each event's source address (the page shown).
    source: str | None = None


@dataclass(frozen=True)
class ConsoleExportRequest(audit_log.AuditFilterRequest):
    source: str | None = None
    format: str = "jsonl"


def _seconds(written: object) -> float | None:
    """Epoch seconds of a time the audit search wrote (ISO 8601)."""
    if not isinstance(written, str | int | float) or isinstance(written, bool):
        return None
    found = times.filter_micros("recordedAt", written)
    return None if found is None else found / 1_000_000


@read_only
def audit_page(
    services: Services, ctx: OperationContext, req: ConsoleAuditRequest
) -> dict[str, Any]:
    """A page of events, the chart of everything that matches, the filters."""
    audit_log.authorize_audit_read(services, ctx, None)
    # An alias in the key filter names the key it points at now (a missing one is
    # NotFoundException), exactly as for SearchAuditEvents.
    audit_query = audit_log.resolved_query(services, ctx, req.audit_query())
    page = query.search(
        services.audit.repository,
        audit_query,
        account=ctx.principal.account,
        limit=req.limit,
        cursor=req.cursor,
    )
    charted = query.search(
        services.audit.repository,
        audit_query,
        account=ctx.principal.account,
        limit=CHART_EVENTS,
    ).events
    events = page.events
    if req.source is not None:
        events = [e for e in events if e.get("sourceIp") == req.source]
        charted = [e for e in charted if e.get("sourceIp") == req.source]
    return {
        "events": events,
        "nextCursor": page.next_cursor,
        "chart": [
            (_seconds(e.get("recordedAt") or e.get("eventTime")), e.get("outcome")) for e in charted
        ],
        "charted": len(charted),
    }


@read_only
def export_page(
    services: Services, ctx: OperationContext, req: ConsoleExportRequest
) -> dict[str, Any]:
    """The filtered events as JSON Lines or CSV, through ExportAuditEvents."""
    plain = audit_log.AuditFilterRequest(
        principal=req.principal,
        operation=req.operation,
        key=req.key,
        outcome=req.outcome,
        error_code=req.error_code,
        since=req.since,
        until=req.until,
    )
    exported = audit_log.export_audit_events(services, ctx, plain)
    lines: Iterator[str] = exported["lines"]
    if req.source is not None:
        lines = _from_source(lines, req.source)
    if req.format == "csv":
        return {"format": "csv", "chunks": _csv(lines)}
    return {"format": "jsonl", "chunks": lines}


def _from_source(lines: Iterator[str], source: str) -> Iterator[str]:
    for line in lines:
        if json.loads(line).get("sourceIPAddress") == source:
            yield line


def _csv(lines: Iterator[str]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        record = json.loads(line)
        extra = record.get("additionalEventData") or {}
        identity = record.get("userIdentity") or {}
        writer.writerow(
            [
                record.get("eventTime"),
                record.get("eventID"),
                record.get("eventName"),
                extra.get("outcome"),
                record.get("errorCode"),
                identity.get("arn"),
                record.get("sourceIPAddress"),
                " ".join(r.get("ARN", "") for r in record.get("resources") or []),
                extra.get("seq"),
            ]
        )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    # The header alone, when nothing matched.
    yield out.getvalue()


@dataclass(frozen=True)
class ConsoleKeysRequest:
    limit: int = 100
    marker: str | None = None


@read_only
def keys_page(services: Services, ctx: OperationContext, req: ConsoleKeysRequest) -> dict[str, Any]:
    """The inventory: each key the caller may list, with what DescribeKey,
    ListAliases, ListResourceTags and GetKeyRotationStatus answer it (a key
    the caller may not describe is listed by id alone)."""
    listed = keys.list_keys(services, ctx, keys.ListRequest(limit=req.limit, marker=req.marker))
    rows = []
    for entry in listed["Keys"]:
        rows.append(_key_row(services, ctx, entry["KeyId"], entry["KeyArn"]))
    return {"keys": rows, "nextMarker": listed.get("NextMarker")}


def _key_row(services: Services, ctx: OperationContext, key_id: str, arn: str) -> dict[str, Any]:
    row: dict[str, Any] = {"KeyId": key_id, "KeyArn": arn}
    try:
        row.update(keys.describe_key(services, ctx, keys.DescribeKeyRequest(key_id))["KeyMetadata"])
    except KmsError as exc:
        row["Refused"] = exc.code
        return row
    listed = _quietly(
        lambda: aliases.list_aliases(
            services, ctx, aliases.ListAliasesRequest(key_id=key_id, limit=100)
        )
    )
    row["Aliases"] = [alias["AliasName"] for alias in listed.get("Aliases", [])]
    row["Tags"] = _quietly(
        lambda: tags.list_resource_tags(services, ctx, tags.ListResourceTagsRequest(key_id))
    ).get("Tags", [])
    row["Rotation"] = _quietly(
        lambda: rotation.get_key_rotation_status(services, ctx, rotation.KeyRotationRequest(key_id))
    )
    return row


def _quietly(call: Any) -> Mapping[str, Any]:
    """What an operation answers, or ``{"Refused": code}`` (the page shows it)."""
    try:
        result = call()
    except KmsError as exc:
        return {"Refused": exc.code}
    return result if isinstance(result, Mapping) else {}


def account_action(services: Services, ctx: OperationContext, action: str) -> None:
    authorize_account_action(services, ctx, action)


@dataclass(frozen=True)
class SignInRequest:
    #: Signing in with a link of ``trent console login`` (which signs in once).
    link: bool = False
    #: When the token was issued (its ``iat``): no earlier event can be its use.
    issued_at: int | None = None


@read_only
def sign_in(services: Services, ctx: OperationContext, req: SignInRequest) -> dict[str, Any]:
    """Who signs in; a sign-in link whose token has signed in before is refused."""
    token_id = ctx.principal.token_id
    if req.link and (token_id is None or _signed_in_before(services, ctx, req.issued_at)):
        raise AccessDeniedError("This sign-in link has been used; ask for a new one.")
    return ctx.principal.as_dict()


def _signed_in_before(services: Services, ctx: OperationContext, since: int | None) -> bool:
    cursor = None
    while True:
        page = query.search(
            services.audit.repository,
            query.AuditQuery(principal=ctx.principal.arn, since=since),
            account=ctx.principal.account,
            limit=query.MAX_LIMIT,
            cursor=cursor,
        )
        for event in page.events:
            used = (event.get("principal") or {}).get("tokenId") == ctx.principal.token_id
            if (
                used
                and event.get("eventName") == "ConsoleSignIn"
                and event.get("outcome") == "success"
            ):
                return True
        if page.next_cursor is None:
            return False
        cursor = page.next_cursor
