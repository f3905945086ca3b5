"""The checkpoints kept outside the database that the verifier compares the
table with: where they are read from, how each source is read, and which of
them are trusted (signed by a trusted key), grouped by number.

The file format itself, and how it is written, is :mod:`app.audit.checkpoints`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.audit.checkpoint_stream import check_signature
from app.audit.checkpoints import (
    Checkpoint,
    CheckpointFileError,
    ExportedCheckpoint,
    read_exported,
)
from app.audit.report import Findings

if TYPE_CHECKING:
    from app.audit.log import AuditLog

#: What a caller may hand the verifier: checkpoints already read, records as
#: in the export file, or the path of such a file.
ExportedSource = Sequence[Checkpoint | ExportedCheckpoint | Mapping[str, Any]] | Path | str | None


def checkpoint_sources(
    exported: ExportedSource, log: AuditLog | None, own_sources: bool
) -> list[ExportedSource]:
    """What to read checkpoints from outside the database: what the caller
    gave, and (unless told not to) the log's own checkpoint file and sink,
    each file once."""
    sources: list[ExportedSource] = [] if exported is None else [exported]
    if log is None or not own_sources:
        return sources
    given = Path(exported) if isinstance(exported, str | Path) else None
    for path in log.checkpoint_sources():
        if given is None or not _same_file(given, path):
            sources.append(path)
    return sources


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False


def read_sources(sources: Sequence[ExportedSource], findings: Findings) -> list[ExportedCheckpoint]:
    """Every checkpoint of every source, in order; what cannot be read is a finding."""
    exported: list[ExportedCheckpoint] = []
    for place in sources:
        exported.extend(_read_source(place, findings))
    return exported


def _read_source(exported: ExportedSource, findings: Findings) -> list[ExportedCheckpoint]:
    if exported is None:
        return []
    if isinstance(exported, str | Path):
        try:
            items, problems = read_exported(Path(exported))
        except CheckpointFileError as exc:
            findings.add("exported_checkpoints_unreadable", None, str(exc))
            return []
        for problem in problems:
            findings.add("exported_checkpoint_unreadable", None, problem)
        return items
    result: list[ExportedCheckpoint] = []
    for index, item in enumerate(exported, start=1):
        if isinstance(item, ExportedCheckpoint):
            result.append(item)
        elif isinstance(item, Checkpoint):
            result.append(ExportedCheckpoint(item, None, index))
        else:
            try:
                checkpoint, public = Checkpoint.from_record(item)
            except ValueError as exc:
                findings.add("exported_checkpoint_unreadable", None, f"item {index}: {exc}")
                continue
            result.append(ExportedCheckpoint(checkpoint, public, index))
    return result


def keys_in_exports(exported: Sequence[ExportedCheckpoint]) -> dict[str, bytes]:
    """The public keys the export files carry, by signer key id."""
    return {e.checkpoint.signer_key_id: e.public_key for e in exported if e.public_key}


def trusted_by_number(
    exported: Sequence[ExportedCheckpoint], trusted: Mapping[str, bytes], findings: Findings
) -> dict[int, list[ExportedCheckpoint]]:
    """The exported checkpoints whose signature verifies, by checkpoint number;
    the others are findings and take no further part."""
    by_number: dict[int, list[ExportedCheckpoint]] = {}
    for item in exported:
        if check_signature(item.checkpoint, trusted, findings, f"exported ({item.source})"):
            by_number.setdefault(item.checkpoint.checkpoint_no, []).append(item)
    return by_number


def expected_heads(
    by_number: Mapping[int, Sequence[ExportedCheckpoint]],
) -> dict[int, dict[Checkpoint, ExportedCheckpoint]]:
    """Each distinct exported checkpoint (with the first copy that names it),
    by the sequence number whose recomputed hash it must equal."""
    heads: dict[int, dict[Checkpoint, ExportedCheckpoint]] = {}
    for copies in by_number.values():
        for item in copies:
            heads.setdefault(item.checkpoint.last_seq, {}).setdefault(item.checkpoint, item)
    return heads
