"""Writing changes to a key row safely."""

from __future__ import annotations

from typing import Any

from app.audit.events import AuditEvent
from app.errors import ConflictError
from app.keys.model import Key
from app.operations.services import Services

DAY = 86400.0


def apply_changes(services: Services, key: Key, **changes: Any) -> None:
    """Write ``changes`` to ``key`` only if nobody changed it since it was read.

    Inside a SQLite ``BEGIN IMMEDIATE`` transaction nobody can; on PostgreSQL a
    concurrent change makes this fail instead of silently overwriting it
    (a key being enabled while it is scheduled for deletion, say).
    """
    if not services.keys.update_key(key.key_id, expected_revision=key.revision, **changes):
        raise ConflictError("The key was changed by another request at the same time; retry.")


def service_event(
    services: Services, event_name: str, key_arn: str, key_version: int | None = None
) -> AuditEvent:
    """The audit event of a change the service makes by itself (an automatic
    rotation, the deletion of a key whose waiting period ended), as AWS
    records such actions too. Written in the same transaction as the change."""
    return AuditEvent(
        event_id=str(services.new_uuid()),
        event_time=services.now(),
        request_id="",
        door="scheduler",
        event_name=event_name,
        outcome="success",
        http_status=200,
        principal_type="service",
        resources=(key_arn,),
        key_version=key_version,
    )
