"""Lint findings: problems in a valid policy, ranked by severity."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from policies.source import Position


class Severity(StrEnum):
    #: The service refuses the policy (or should): fix it.
    ERROR = "error"
    #: Valid but probably not what the author meant, or dangerous.
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    pointer: str
    line: int
    column: int

    def __str__(self) -> str:
        return (
            f"{self.line}:{self.column}: {self.severity}: {self.code}: {self.message} "
            f"(at {self.pointer or '/'})"
        )


def make_finding(
    positions: dict[str, Position], code: str, severity: Severity, message: str, pointer: str
) -> Finding:
    """A finding located at ``pointer`` (or its nearest located ancestor)."""
    probe = pointer
    while probe not in positions and probe:
        probe = probe.rpartition("/")[0]
    position = positions.get(probe, Position(1, 1))
    return Finding(code, severity, message, pointer, position.line, position.column)
