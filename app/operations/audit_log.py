"""Reading the audit log: search, one event, export, verify.

All of them change nothing (``@read_only``): they run outside a write
transaction, and their own audit event goes through the group commit.

Reading the log is its own permission, ``trent:ReadAuditLog``, decided on
identity policies (the account root has it unless denied; key administrators
and key users do not). A caller sees only its own account's share of the
log: the events of its account's principals and the events that touched its
account's keys. Verification covers the whole chain (its report names
sequence numbers and problem kinds, never event contents).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.audit import query
from app.audit.key_filter import alias_in_key_filter
from app.audit.verify import verify
from app.errors import NotFoundError
from app.keys.identifiers import alias_arn
from app.operations import access
from app.operations.context import OperationContext
from app.operations.kinds import read_only
from app.operations.services import Services

READ_AUDIT_LOG = "trent:ReadAuditLog"


@dataclass(frozen=True)
class AuditFilterRequest:
    principal: str | None = None
    operation: str | None = None
    key: str | None = None
    outcome: str | None = None
    error_code: str | None = None
    #: ISO 8601 or epoch seconds (:mod:`app.audit.times`).
    since: str | None = None
    until: str | None = None

    def audit_query(self) -> query.AuditQuery:
        return query.AuditQuery(
            principal=self.principal,
            operation=self.operation,
            key=self.key,
            outcome=self.outcome,
            error_code=self.error_code,
            since=self.since,
            until=self.until,
        )


@dataclass(frozen=True)
class SearchAuditEventsRequest(AuditFilterRequest):
    limit: int = query.DEFAULT_LIMIT
    cursor: str | None = None


@dataclass(frozen=True)
class GetAuditEventRequest:
    event_id: str


def resolved_query(
    services: Services, ctx: OperationContext, audit_query: query.AuditQuery
) -> query.AuditQuery:
    """``audit_query`` with an alias in its key filter replaced by the key it names now.

    Only the caller's own aliases are looked up, as for a cryptographic
    operation: an alias of another account is reported missing like one
    that does not exist, so the filter reveals nothing about other accounts.
    A missing alias is NotFoundException rather than an empty result, which
    would read as "the key was never used".
    """
    alias = alias_in_key_filter(audit_query.key)
    if alias is None:
        return audit_query
    settings = services.settings
    account = ctx.principal.account
    own = alias.account in (None, account) and not alias.elsewhere(
        settings.partition, settings.region
    )
    found = services.keys.get_alias(account, alias.name) if own else None
    if found is None:
        arn = alias_arn(settings.partition, settings.region, alias.account or account, alias.name)
        raise NotFoundError(f"Alias {arn} is not found.")
    key = services.keys.get_key(account, found.key_id)
    if key is None:  # pragma: no cover - the alias row cascades with its key
        raise NotFoundError(f"Alias {alias.name} is not found.")
    return query.with_key(audit_query, key.arn)


@read_only
def search_audit_events(
    services: Services, ctx: OperationContext, req: SearchAuditEventsRequest
) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, READ_AUDIT_LOG)
    page = query.search(
        services.audit.repository,
        resolved_query(services, ctx, req.audit_query()),
        account=ctx.principal.account,
        limit=req.limit,
        cursor=req.cursor,
    )
    result: dict[str, Any] = {"events": page.events}
    if page.next_cursor is not None:
        result["nextCursor"] = page.next_cursor
    return result


@read_only
def get_audit_event(
    services: Services, ctx: OperationContext, req: GetAuditEventRequest
) -> dict[str, Any]:
    access.authorize_account_action(services, ctx, READ_AUDIT_LOG)
    event = query.get_event(services.audit.repository, req.event_id, account=ctx.principal.account)
    return {"event": event}


@read_only
def export_audit_events(
    services: Services, ctx: OperationContext, req: AuditFilterRequest
) -> dict[str, Iterator[str]]:
    """``{"lines": …}``: JSON Lines of the matching events, oldest first.

    Authorization and filter validation happen now (so a refusal is an
    ordinary error, and the request's audit event is durable before anything
    is streamed); the iterator reads the rows later, in a connection of its
    own, as the response is sent.
    """
    access.authorize_account_action(services, ctx, READ_AUDIT_LOG)
    lines = query.export_records(
        services.audit.repository,
        resolved_query(services, ctx, req.audit_query()),
        account=ctx.principal.account,
        region=services.settings.region,
    )

    def stream() -> Iterator[str]:
        with services.connection():
            yield from lines

    return {"lines": stream()}


@read_only
def authorize_audit_read(services: Services, ctx: OperationContext, req: object) -> None:
    """Only the permission check (for work done outside the unit of work)."""
    access.authorize_account_action(services, ctx, READ_AUDIT_LOG)


def verify_audit_log(services: Services) -> dict[str, Any]:
    """Verify the whole chain against the process's exported checkpoints.

    Call it inside a connection but outside any transaction, after
    :func:`authorize_audit_read`: it streams over the whole table, and on
    SQLite a write transaction would hold the database's write lock (and so
    stall every other request) for as long as that takes.
    """
    audit = services.audit
    exported = audit.checkpoint_file if audit.checkpoint_file.exists() else None
    return verify(audit, exported_checkpoints=exported).as_dict()
