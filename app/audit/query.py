"""Searching and exporting the audit log.

Search is newest first with an opaque cursor; export is oldest first, as
JSON Lines in a CloudTrail-like shape. Both may be scoped to one account: an
account sees the events of its own principals and the events that touched
its keys (CloudTrail gives a key's owner the record of another account's use
of it). A scoped search runs one index-ordered query for each of the two
kinds and merges them by ``seq``, so neither has to scan the table. Each
function reads the :class:`~app.audit.repository.AuditRepository` it is
given (the audit log's :attr:`~app.audit.log.AuditLog.repository`).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from app import markers
from app.audit.event_names import canonical_event_name
from app.audit.key_filter import alias_in_key_filter
from app.audit.record import OUTCOMES
from app.audit.repository import AuditRepository, EventFilter, StoredEvent
from app.audit.times import filter_micros, iso
from app.errors import NotFoundError, ValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
EXPORT_BATCH = 500
EVENT_VERSION = "1.11"
EVENT_SOURCE = "kms.trent"

_MAX_FILTER_TEXT = 2048

#: Operations that change nothing (CloudTrail's ``readOnly``).
_READ_ONLY_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateRandom",
    "GenerateMac",
    "Verify",
    "Sign",
    "Search",
    "Export",
    "Simulate",
    "Validate",
    "WhoAmI",
)


@dataclass(frozen=True)
class AuditQuery:
    """Search filters; all given ones must match."""

    principal: str | None = None
    #: An operation name in any case (``decrypt`` is ``Decrypt``); an unknown
    #: one is refused (:mod:`app.audit.event_names`).
    operation: str | None = None
    #: A key ARN, or a bare key id (the ARN's suffix after ``key/``). Aliases
    #: are resolved by the caller first (:func:`~app.audit.key_filter.alias_in_key_filter`): only
    #: the alias's owner knows which key it names.
    key: str | None = None
    outcome: str | None = None
    error_code: str | None = None
    #: Bounds (inclusive) on when the log recorded the event (``recordedAt``:
    #: the request's time plus its duration, and never earlier than the event
    #: before it), which makes a time range an exact ``seq`` range. Epoch
    #: seconds, or text: ISO 8601 or epoch seconds (:mod:`app.audit.times`).
    since: float | str | None = None
    until: float | str | None = None


def with_key(audit_query: AuditQuery, key_arn: str) -> AuditQuery:
    """``audit_query`` with its key filter replaced (by the key an alias names)."""
    return replace(audit_query, key=key_arn)


@dataclass(frozen=True)
class AuditPage:
    events: list[dict[str, Any]]
    next_cursor: str | None


def _text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_FILTER_TEXT:
        raise ValidationError(
            f"The filter '{name}' must be a string of 1 to {_MAX_FILTER_TEXT} characters.",
            field=name,
        )
    return value


def event_filter(query: AuditQuery) -> EventFilter:
    """Validate ``query`` (``ValidationError``) and turn it into store terms."""
    key = _text("key", query.key)
    key_arn: str | None = None
    key_id: str | None = None
    if key is not None:
        if alias_in_key_filter(key) is not None:
            # Never a silent empty result: the caller resolves aliases first.
            raise ValidationError(
                "The filter 'key' names an alias that was not resolved to its key.", field="key"
            )
        if key.startswith("arn:"):
            key_arn = key
            resource = key.split(":", 5)[-1]
            key_id = resource[4:] if resource.startswith("key/") else None
            if not key_id:
                raise ValidationError("The filter 'key' must be a key ARN or key id.", field="key")
        else:
            key_id = key.removeprefix("key/")
    outcome = _text("outcome", query.outcome)
    if outcome is not None and outcome not in OUTCOMES:
        raise ValidationError(
            f"The filter 'outcome' must be one of {', '.join(OUTCOMES)}.", field="outcome"
        )
    operation = _text("operation", query.operation)
    since = filter_micros("since", query.since)
    until = filter_micros("until", query.until, end_of_day=True)
    if since is not None and until is not None and since > until:
        raise ValidationError("The filter 'since' must not be after 'until'.", field="since")
    return EventFilter(
        principal_arn=_text("principal", query.principal),
        event_name=None if operation is None else canonical_event_name(operation),
        key_arn=key_arn,
        key_id=key_id,
        outcome=outcome,
        error_code=_text("errorCode", query.error_code),
        since_us=since,
        until_us=until,
    )


def encode_cursor(seq: int) -> str:
    return markers.encode(markers.AUDIT_EVENTS, seq)


def decode_cursor(cursor: str) -> int:
    """The ``seq`` a cursor stands for; :class:`InvalidMarkerError` if it is not one of ours."""
    return markers.decode_position(cursor, markers.AUDIT_EVENTS)


def _legs(flt: EventFilter, account: str | None) -> list[EventFilter]:
    if account is None:
        return [flt]
    own = EventFilter(**{**flt.__dict__, "principal_account": account})
    keys = EventFilter(**{**flt.__dict__, "cross_account": account})
    return [own, keys]


def _page(
    store: AuditRepository,
    flt: EventFilter,
    account: str | None,
    *,
    newest_first: bool,
    limit: int,
    before_seq: int | None = None,
    after_seq: int | None = None,
) -> list[StoredEvent]:
    results = [
        store.find_events(
            leg,
            newest_first=newest_first,
            limit=limit,
            before_seq=before_seq,
            after_seq=after_seq,
        )
        for leg in _legs(flt, account)
    ]
    if len(results) == 1:
        return results[0]
    merged = heapq.merge(*results, key=lambda e: -e.seq if newest_first else e.seq)
    return list(merged)[:limit]


def search(
    store: AuditRepository,
    query: AuditQuery,
    *,
    account: str | None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> AuditPage:
    """One page of matching events, newest first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"The limit must be between 1 and {MAX_LIMIT}.", field="limit")
    flt = event_filter(query)
    before = decode_cursor(cursor) if cursor is not None else None
    rows = _page(store, flt, account, newest_first=True, limit=limit + 1, before_seq=before)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].seq) if len(rows) > limit else None
    return AuditPage([api_event(row) for row in page], next_cursor)


def _visible(event: StoredEvent, account: str | None) -> bool:
    return account is None or account in (
        event.columns["principal_account"],
        event.columns["cross_account"],
    )


def get_event(store: AuditRepository, event_id: str, *, account: str | None) -> dict[str, Any]:
    """One event by its id; :class:`NotFoundError` if absent or not the caller's to see."""
    stored = store.event_by_id(event_id) if 0 < len(event_id) <= 64 else None
    if stored is None or not _visible(stored, account):
        raise NotFoundError(f"Audit event '{event_id[:64]}' does not exist.")
    return api_event(stored)


def last_seq(store: AuditRepository) -> int:
    """The sequence number of the newest committed event (0 for an empty log)."""
    head = store.read_head()
    return head.last_seq if head is not None else store.last_event_seq()


def events_after(
    store: AuditRepository, seq: int, *, account: str | None, limit: int = 100
) -> list[dict[str, Any]]:
    """Up to ``limit`` events newer than ``seq``, oldest first (for following the log)."""
    rows = _page(store, EventFilter(), account, newest_first=False, limit=limit, after_seq=seq)
    return [api_event(row) for row in rows]


def export_records(
    store: AuditRepository, query: AuditQuery, *, account: str | None, region: str
) -> Iterator[str]:
    """Every matching event, oldest first, as CloudTrail-like JSON Lines.

    Validates ``query`` at once (so a bad filter fails before anything is
    streamed), then reads in batches of :data:`EXPORT_BATCH`.
    """
    flt = event_filter(query)

    def lines() -> Iterator[str]:
        after = 0
        while True:
            rows = _page(
                store, flt, account, newest_first=False, limit=EXPORT_BATCH, after_seq=after
            )
            for row in rows:
                yield json.dumps(cloudtrail_record(row, region), sort_keys=True) + "\n"
            if len(rows) < EXPORT_BATCH:
                return
            after = rows[-1].seq

    return lines()


# -- shapes ----------------------------------------------------------------


def _body(event: StoredEvent) -> dict[str, Any] | None:
    try:
        body = json.loads(event.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _latency_ms(body: Mapping[str, Any]) -> float | None:
    latency = body.get("latencyUs")
    return latency / 1000 if isinstance(latency, int) else None


_EXTRA_MEMBERS = ("authFailure", "authFailureSummary")


def _unreadable(event: StoredEvent) -> dict[str, Any]:
    return {
        "eventId": event.columns["event_id"],
        "seq": event.seq,
        "bodyUnreadable": True,
        "prevHash": event.prev_hash.hex(),
        "hash": event.entry_hash.hex(),
    }


def api_event(event: StoredEvent) -> dict[str, Any]:
    """The REST shape of an event (API.md, "Audit")."""
    body = _body(event)
    if body is None:
        return _unreadable(event)
    principal = body.get("principal") or {}
    result: dict[str, Any] = {
        "eventId": body.get("eventId"),
        "eventTime": iso(body.get("eventTime")),
        "recordedAt": iso(body.get("recordedAt")),
        "requestId": body.get("requestId"),
        "sourceIp": body.get("sourceIp"),
        "userAgent": body.get("userAgent"),
        "door": body.get("door"),
        "principal": {
            "arn": principal.get("arn"),
            "account": principal.get("account"),
            "type": principal.get("type"),
            "authMethod": principal.get("authMethod"),
            "tokenId": principal.get("tokenId"),
        },
        "eventName": body.get("eventName"),
        "resources": body.get("resources", []),
        "requestParameters": body.get("requestParameters", {}),
        "encryptionContext": body.get("encryptionContext"),
        "outcome": body.get("outcome"),
        "httpStatus": body.get("httpStatus"),
        "errorCode": body.get("errorCode"),
        "errorMessage": body.get("errorMessage"),
        "decision": {"matchedStatementSids": body.get("decisionSids", [])},
        "keyVersion": body.get("keyVersion"),
        "latencyMs": _latency_ms(body),
        "seq": event.seq,
        "prevHash": event.prev_hash.hex(),
        "hash": event.entry_hash.hex(),
    }
    for name in _EXTRA_MEMBERS:
        if name in body:
            result[name] = body[name]
    return result


def _identity_type(principal_type: Any) -> str:
    return {"root": "Root", "user": "IAMUser", "role": "AssumedRole"}.get(
        principal_type if isinstance(principal_type, str) else "", "Unknown"
    )


def _resource(arn: str) -> dict[str, Any]:
    parts = arn.split(":", 5)
    kind = (
        "AWS::KMS::Alias" if len(parts) == 6 and parts[5].startswith("alias/") else "AWS::KMS::Key"
    )
    return {"ARN": arn, "type": kind, "accountId": parts[4] if len(parts) == 6 else None}


def cloudtrail_record(event: StoredEvent, region: str) -> dict[str, Any]:
    """The export shape of an event, named as CloudTrail names its fields."""
    body = _body(event)
    if body is None:
        return _unreadable(event)
    principal = body.get("principal") or {}
    name = body.get("eventName") or ""
    resources = [arn for arn in body.get("resources", []) if isinstance(arn, str)]
    additional: dict[str, Any] = {
        "keyVersion": body.get("keyVersion"),
        "encryptionContext": body.get("encryptionContext"),
        "door": body.get("door"),
        "outcome": body.get("outcome"),
        "httpStatus": body.get("httpStatus"),
        "decisionSids": body.get("decisionSids", []),
        "latencyMs": _latency_ms(body),
        "recordedAt": iso(body.get("recordedAt")),
        "seq": event.seq,
        "prevHash": event.prev_hash.hex(),
        "hash": event.entry_hash.hex(),
    }
    for member in _EXTRA_MEMBERS:
        if member in body:
            additional[member] = body[member]
    owner = event.columns.get("cross_account") or principal.get("account")
    return {
        "eventVersion": EVENT_VERSION,
        "eventID": body.get("eventId"),
        "eventTime": iso(body.get("eventTime")),
        "eventSource": EVENT_SOURCE,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": body.get("sourceIp"),
        "userAgent": body.get("userAgent"),
        "userIdentity": {
            "type": _identity_type(principal.get("type")),
            "arn": principal.get("arn"),
            "accountId": principal.get("account"),
            "authMethod": principal.get("authMethod"),
            "tokenId": principal.get("tokenId"),
        },
        "requestParameters": body.get("requestParameters") or None,
        "responseElements": None,
        "resources": [_resource(arn) for arn in resources],
        "errorCode": body.get("errorCode"),
        "errorMessage": body.get("errorMessage"),
        "requestID": body.get("requestId"),
        "readOnly": name.startswith(_READ_ONLY_PREFIXES),
        "eventType": "AwsServiceEvent" if body.get("door") == "internal" else "AwsApiCall",
        "managementEvent": True,
        "eventCategory": "Management",
        "recipientAccountId": owner,
        "additionalEventData": additional,
    }
