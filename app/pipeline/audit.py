"""The audit event of a request, and writing it when the request failed.

Rules (docs/architecture.md, "The audit log"): exactly one event per request.
A call that succeeds writes its event before its answer exists (with its
changes, in the same transaction, or through the group commit for a
read-only operation); a call that fails writes a failure event in a
transaction of its own (:func:`audit_failure`). If an event cannot be
written the caller gets 503 and nothing else: no plaintext, no data key, no
ciphertext. Authentication failures go through the audit log's bounded
sampler, so a flood of bad tokens cannot grow the table without limit.
"""

from __future__ import annotations

import logging
import time

from app.audit.events import AuditEvent, Outcome
from app.errors import (
    AccessDeniedError,
    KmsError,
    ServiceUnavailableError,
    UnauthenticatedError,
)
from app.operations.services import Services
from app.pipeline.call import Call, uuid7_text

audit_log = logging.getLogger("trent.audit")


def build_event(
    services: Services, call: Call, outcome: Outcome, status: int, error: KmsError | None
) -> AuditEvent:
    """The audit event of ``call``, from what the pipeline knows of it."""
    principal = call.principal
    notes = call.context.notes if call.context is not None else None
    now = services.now()
    return AuditEvent(
        event_id=uuid7_text(now),
        event_time=now,
        request_id=call.request_id,
        door=call.door,
        event_name=call.event_name,
        outcome=outcome,
        http_status=status,
        source_ip=call.source_ip,
        user_agent=call.user_agent,
        principal_arn=principal.arn if principal else None,
        principal_account=principal.account if principal else None,
        principal_type=principal.type if principal else None,
        auth_method=principal.auth_method if principal else None,
        token_id=principal.token_id if principal else None,
        resources=tuple(notes.resources) if notes else (),
        request_parameters=dict(call.params),
        encryption_context=notes.encryption_context if notes else None,
        error_code=error.code if error else None,
        error_message=error.message if error else None,
        decision_sids=tuple(notes.decision_sids) if notes else (),
        key_version=notes.key_version if notes else None,
        latency_ms=(time.monotonic() - call.started) * 1000.0,
        grant_ids=tuple(notes.grant_ids) if notes else (),
    )


def audit_failure(
    services: Services, call: Call, error: KmsError, cause: BaseException
) -> KmsError:
    """Write the failure event of ``call`` (once); returns the error the
    caller must see: ``error``, or 503 when the event could not be written."""
    if call.audited:
        return error
    call.audited = True
    # Why authentication failed is in the audit event and the request log
    # line (app.pipeline.request_log), never in the answer.
    reason = getattr(cause, "reason", None)
    denied = isinstance(error, AccessDeniedError | UnauthenticatedError) or reason is not None
    outcome: Outcome = "denied" if denied else "failed"
    written = write_failure_event(
        services,
        build_event(services, call, outcome, error.status, error),
        authenticated=call.principal is not None,
        source_ip=call.source_ip,
        reason=str(reason or error.code),
    )
    return error if written else ServiceUnavailableError()


def write_failure_event(
    services: Services,
    event: AuditEvent,
    *,
    authenticated: bool,
    source_ip: str | None,
    reason: str,
) -> bool:
    """Append the event of a failed request in a transaction of its own
    (through the sampler when the caller is unknown); False if it could not
    be written, and the caller must then get 503."""
    try:
        with services.connection():
            if not authenticated:
                services.audit.append_auth_failure(source_ip, reason, None, event)
            else:
                with services.unit_of_work(audit_only=True):
                    services.audit.append(event)
    except Exception as exc:  # noqa: BLE001 - any failure to audit fails closed
        audit_log.error(
            "request %s: its audit event could not be written (%s); answering 503",
            event.request_id,
            type(exc).__name__,
        )
        return False
    return True
