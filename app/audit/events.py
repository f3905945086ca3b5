"""What one audit event records (CloudTrail-like, and never a secret).

The front door fills one :class:`AuditEvent` per request. Operations add what
only they know (the keys touched, the key version used, the encryption
context) to the :class:`AuditNotes` carried by their context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["success", "denied", "failed"]


@dataclass
class AuditNotes:
    """Facts an operation adds to its request's audit event as it runs."""

    resources: list[str] = field(default_factory=list)
    key_version: int | None = None
    encryption_context: dict[str, str] | None = None
    #: Sids of the statements that decided an authorization (never the reason).
    decision_sids: list[str] = field(default_factory=list)
    #: Ids of the grants the request made, retired, revoked or was allowed by.
    grant_ids: list[str] = field(default_factory=list)
    #: Extra request facts safe to record (e.g. ``bypassSeparationOfDutiesCheck``).
    extra: dict[str, Any] = field(default_factory=dict)

    def add_resource(self, arn: str) -> None:
        if arn not in self.resources:
            self.resources.append(arn)

    def add_grants(self, grant_ids: tuple[str, ...] | list[str]) -> None:
        for grant_id in grant_ids:
            if grant_id not in self.grant_ids:
                self.grant_ids.append(grant_id)


@dataclass(frozen=True)
class AuditEvent:
    event_id: str
    event_time: float
    request_id: str
    door: str
    event_name: str
    outcome: Outcome
    http_status: int
    source_ip: str | None = None
    user_agent: str | None = None
    principal_arn: str | None = None
    principal_account: str | None = None
    principal_type: str | None = None
    auth_method: str | None = None
    token_id: str | None = None
    resources: tuple[str, ...] = ()
    request_parameters: dict[str, Any] = field(default_factory=dict)
    encryption_context: dict[str, str] | None = None
    error_code: str | None = None
    error_message: str | None = None
    decision_sids: tuple[str, ...] = ()
    key_version: int | None = None
    latency_ms: float | None = None
    grant_ids: tuple[str, ...] = ()
