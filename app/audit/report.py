"""What the audit verifier found: :class:`Finding`, the bounded collection
of them a run fills (:class:`Findings`), and the :class:`VerifyReport` it
answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Findings kept in a report; further ones are only counted.
MAX_FINDINGS = 1000


@dataclass(frozen=True)
class Finding:
    kind: str
    seq: int | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "detail": self.detail}


class Findings:
    """The findings of one run: the first ``limit`` kept, the rest counted,
    and the lowest sequence number any of them names."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[Finding] = []
        self.omitted = 0
        self.first_bad_seq: int | None = None

    def add(self, kind: str, seq: int | None, detail: str) -> None:
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq
        if len(self.items) < self.limit:
            self.items.append(Finding(kind, seq, detail))
        else:
            self.omitted += 1


@dataclass
class VerifyReport:
    ok: bool
    events_checked: int
    first_bad_seq: int | None
    findings: list[Finding]
    checkpoints_checked: int = 0
    exported_checkpoints_checked: int = 0
    head_seq: int = 0
    findings_omitted: int = 0
    #: The files outside the database whose checkpoints were compared.
    checkpoint_sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "eventsChecked": self.events_checked,
            "firstBadSeq": self.first_bad_seq,
            "headSeq": self.head_seq,
            "checkpointsChecked": self.checkpoints_checked,
            "exportedCheckpointsChecked": self.exported_checkpoints_checked,
            "findings": [finding.as_dict() for finding in self.findings],
            "findingsOmitted": self.findings_omitted,
            "checkpointSources": list(self.checkpoint_sources),
        }


class AuditIntegrityError(Exception):
    """The stored chain does not verify; nothing was signed or written."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.kind} at seq {finding.seq}: {finding.detail}")
        self.finding = finding
