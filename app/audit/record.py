"""The stored form of an event: its canonical body and the typed columns
derived from it.

The body is the whole record; the typed columns are copies of some of its
values, for searching. :func:`typed_columns` is the one derivation of the
columns from a body: the writer uses it to fill them and the verifier to check
them, so an edited column (say, a changed ``principal_arn`` that would hide an
event from a search) is found.

Every string is clipped to a fixed length before anything is derived from it,
so a huge ``User-Agent`` or ARN can neither fail an insert nor make the body
and its columns disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, get_args

from app.audit.events import AuditEvent, Outcome
from app.audit.repository import COLUMN_LIMITS
from app.audit.sanitize import sanitize_parameters

#: Version of the body layout; bump it when a member changes meaning.
BODY_VERSION = 1

OUTCOMES: tuple[str, ...] = get_args(Outcome)

_MAX_USER_AGENT = 256
_MAX_TOKEN_ID = 256
_MAX_PRINCIPAL_TYPE = 16
_MAX_ERROR_MESSAGE = 1024
_MAX_RESOURCES = 16
_MAX_SIDS = 32
_MAX_SID = 128
_MAX_CONTEXT_ENTRIES = 64
_MAX_CONTEXT_TEXT = 2048


def clip(text: str | None, limit: int) -> str | None:
    """``text`` cut to at most ``limit`` characters *and* ``limit`` UTF-8 bytes."""
    if text is None:
        return None
    if type(text) is str and len(text) <= limit and text.isascii():
        return text  # the common case: nothing to cut
    text = str(text)[:limit]
    while len(text.encode("utf-8", "surrogatepass")) > limit:
        text = text[:-1]
    return text


def micros(seconds: float) -> int:
    """Seconds (possibly fractional) as integer microseconds."""
    if not math.isfinite(seconds):
        raise ValueError("a time must be a finite number of seconds")
    return int(round(seconds * 1_000_000))


def _context(context: Mapping[str, str] | None) -> dict[str, str] | None:
    if context is None:
        return None
    result: dict[str, str] = {}
    for key, value in list(context.items())[:_MAX_CONTEXT_ENTRIES]:
        if isinstance(key, str) and isinstance(value, str):
            result[key[:_MAX_CONTEXT_TEXT]] = value[:_MAX_CONTEXT_TEXT]
    return result


def event_body(event: AuditEvent, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body of ``event``: every member the log keeps, in canonical types.

    ``extra`` adds members that are not part of :class:`AuditEvent` (the
    details of an authentication failure, an aggregation summary).
    ``recordedAt`` is left ``None``; the writer sets it under the chain-head
    lock, which is what keeps it from ever decreasing along ``seq``.
    """
    if event.outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    if not isinstance(event.event_id, str) or not event.event_id:
        raise ValueError("an audit event needs an event id")
    if not event.event_name:
        raise ValueError("an audit event needs an event name")
    body: dict[str, Any] = {
        "v": BODY_VERSION,
        "eventId": clip(event.event_id, COLUMN_LIMITS["event_id"]),
        "eventTime": micros(event.event_time),
        # Set by the writer under the chain-head lock (see AuditLog.append).
        "recordedAt": None,
        "requestId": clip(event.request_id, COLUMN_LIMITS["request_id"]) or None,
        "door": clip(event.door, COLUMN_LIMITS["door"]),
        "eventName": clip(event.event_name, COLUMN_LIMITS["event_name"]),
        "outcome": event.outcome,
        "httpStatus": int(event.http_status),
        "sourceIp": clip(event.source_ip, COLUMN_LIMITS["source_ip"]),
        "userAgent": clip(event.user_agent, _MAX_USER_AGENT),
        "principal": {
            "arn": clip(event.principal_arn, COLUMN_LIMITS["principal_arn"]),
            "account": clip(event.principal_account, COLUMN_LIMITS["principal_account"]),
            "type": clip(event.principal_type, _MAX_PRINCIPAL_TYPE),
            "authMethod": clip(event.auth_method, _MAX_PRINCIPAL_TYPE),
            "tokenId": clip(event.token_id, _MAX_TOKEN_ID),
        },
        "resources": [
            clip(arn, COLUMN_LIMITS["key_arn"]) for arn in event.resources[:_MAX_RESOURCES]
        ],
        "requestParameters": sanitize_parameters(event.event_name, event.request_parameters),
        "encryptionContext": _context(event.encryption_context),
        "errorCode": clip(event.error_code, COLUMN_LIMITS["error_code"]),
        "errorMessage": clip(event.error_message, _MAX_ERROR_MESSAGE),
        "decisionSids": [clip(sid, _MAX_SID) for sid in event.decision_sids[:_MAX_SIDS]],
        "keyVersion": event.key_version,
        "latencyUs": None if event.latency_ms is None else micros(event.latency_ms / 1000),
    }
    if event.grant_ids:
        # Only when a grant took part, so the bodies of every other event (and
        # of events written before grants existed) keep their exact form.
        body["grantIds"] = [clip(grant_id, _MAX_SID) for grant_id in event.grant_ids[:_MAX_SIDS]]
    if extra:
        for name in extra:
            if name in body:
                raise ValueError(f"extra member {name!r} would overwrite the event's own")
        body.update(extra)
    return body


def _key_parts(arn: Any) -> tuple[str | None, str | None]:
    """``(key id, account)`` of a KMS key ARN (``arn:aws:kms:region:account:key/id``)."""
    if not isinstance(arn, str):
        return None, None
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None, None
    account = clip(parts[4], COLUMN_LIMITS["cross_account"]) or None
    resource = parts[5]
    key_id = clip(resource[4:], COLUMN_LIMITS["key_id"]) if resource.startswith("key/") else None
    return key_id or None, account


def typed_columns(body: Mapping[str, Any]) -> dict[str, Any]:
    """The searchable columns of the event whose body is ``body``.

    Raises ``KeyError``/``TypeError``/``ValueError`` for a body that is not
    an event body (which the verifier reports as such).
    """
    principal = body["principal"]
    resources = body["resources"]
    if not isinstance(principal, Mapping) or not isinstance(resources, list):
        raise TypeError("not an audit event body")
    key_arn = resources[0] if resources else None
    key_id, key_account = _key_parts(key_arn)
    account = principal["account"]
    return {
        "event_id": body["eventId"],
        "occurred_at": body["eventTime"],
        "recorded_at": body["recordedAt"],
        "request_id": body["requestId"],
        "door": body["door"],
        "event_name": body["eventName"],
        "outcome": body["outcome"],
        "http_status": body["httpStatus"],
        "error_code": body["errorCode"],
        "principal_arn": principal["arn"],
        "principal_account": principal["account"],
        "key_arn": key_arn,
        "key_id": key_id,
        "cross_account": key_account if key_account != account else None,
        "source_ip": body["sourceIp"],
    }
