"""What every operation is handed: who is calling, about which request, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.audit.events import AuditNotes
from app.auth.principal import Principal

Door = Literal["rest", "aws", "cli", "console"]


@dataclass(frozen=True)
class RequestInfo:
    """Facts about the HTTP request, for the audit log and policy conditions."""

    request_id: str
    source_ip: str | None = None
    user_agent: str | None = None
    door: Door = "rest"
    secure_transport: bool = False


@dataclass(frozen=True)
class OperationContext:
    principal: Principal
    request: RequestInfo
    #: What the operation learns that its audit event must record.
    notes: AuditNotes = field(default_factory=AuditNotes)
