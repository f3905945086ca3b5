"""The audit verifier: recompute everything, trust nothing in the database.

Checks, streaming over the table in ``seq`` order (never the whole table in
memory):

1. ``seq`` runs 1, 2, 3… with no gap up to the chain head;
2. every ``body_mac`` recomputes (the MAC key is derived from the root key,
   which never enters the database);
3. every ``prev_hash`` links to the previous event and every ``entry_hash``
   recomputes;
4. every typed column equals the value in the body, and ``recordedAt``
   never decreases;
5. checkpoints are numbered 1, 2, 3…, cover consecutive ranges, chain through
   ``prev_checkpoint_hash``, have non-decreasing times, carry a valid
   signature by a trusted key, and their ``head_hash`` equals the recomputed
   hash at their ``last_seq``;
6. each checkpoint kept outside the database (the file given, the log's
   checkpoint file and its sink) is in the database, unchanged, and the
   table reaches at least the newest one's ``last_seq`` with the same hash
   there (this is what exposes a cut tail or a restored older backup, even
   when the database's own checkpoints were deleted with it);
7. the chain-head row agrees with the last event, and no event lies beyond it.

The report names each problem found and the first bad sequence number. The
verifier never repairs anything.

:func:`verify` runs the steps; the pieces it walks with are beside it:
:mod:`~app.audit.chain_walker` (checks 1-4), :mod:`~app.audit.checkpoint_stream`
(check 5), :mod:`~app.audit.exported_checkpoints` (reading what check 6
compares), :mod:`~app.audit.report` (the findings and the report).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.audit.chain import GENESIS_HASH
from app.audit.chain_walker import ChainWalker
from app.audit.checkpoint_stream import CheckpointStream
from app.audit.checkpoints import Checkpoint, ExportedCheckpoint
from app.audit.exported_checkpoints import (
    ExportedSource,
    checkpoint_sources,
    expected_heads,
    keys_in_exports,
    read_sources,
    trusted_by_number,
)
from app.audit.report import MAX_FINDINGS, AuditIntegrityError, Finding, Findings, VerifyReport
from app.audit.repository import AuditRepository, Head

if TYPE_CHECKING:
    from app.audit.log import AuditLog

# Re-exported: callers import the verifier's vocabulary from here.
__all__ = [
    "MAX_FINDINGS",
    "AuditIntegrityError",
    "ChainWalker",
    "ExportedSource",
    "Finding",
    "VerifyReport",
    "verify",
]

#: How often (in events) the walk reports its progress, when asked to.
PROGRESS_EVERY = 1000


def verify(
    source: AuditLog | bytes,
    *,
    exported_checkpoints: ExportedSource = None,
    public_keys: Mapping[str, bytes] | None = None,
    batch_size: int = 1000,
    max_findings: int = MAX_FINDINGS,
    own_sources: bool = True,
    repository: AuditRepository | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Verify the audit log in its repository (inside a connection).

    ``source`` is the :class:`~app.audit.log.AuditLog` (which holds the MAC
    key and trusts only signing keys that unseal under the root key) or the
    raw 32-byte audit MAC key. Checkpoint signatures are checked against
    ``public_keys`` (key id → raw Ed25519 key) plus the log's own keys; when
    neither gives any key, the public keys written in the export files are
    used, since those live outside the database.

    Checkpoints kept outside the database are read from
    ``exported_checkpoints`` and, for an ``AuditLog`` (unless
    ``own_sources`` is false), from its checkpoint file and its sink: the
    table must reach the newest checkpoint found anywhere, with the same hash.
    The records are read from ``repository``, by default the log's own.
    ``progress`` is called with the events checked so far and the head's
    sequence number every thousand events, and once at the end.
    """
    findings = Findings(max_findings)
    log, mac_key, trusted = _verifier_keys(source, public_keys, findings)
    if log is not None:
        repository = repository or log.repository
    if repository is None:
        raise TypeError("verify needs the repository to read when given a MAC key")

    # Order matters: the exported files, then the checkpoint count, then the
    # head. Everything read earlier was committed before the head we read, so
    # it may never lie beyond it; anything committed later is ignored.
    sources = checkpoint_sources(exported_checkpoints, log, own_sources)
    exported = read_sources(sources, findings)
    if not trusted:
        trusted = keys_in_exports(exported)
    latest = repository.latest_checkpoint()
    head = repository.read_head()
    if head is None:
        findings.add("head_missing", None, "the chain-head row is missing")
        bound = repository.last_event_seq()
    else:
        bound = head.last_seq

    exported_by_no = trusted_by_number(exported, trusted, findings)
    walker = ChainWalker(mac_key, findings=findings)
    stream = CheckpointStream(
        repository.checkpoints_in_order(),
        latest.checkpoint_no if latest else 0,
        trusted,
        exported_by_no,
        findings,
    )
    last_hash = _walk_events(
        repository,
        walker,
        stream,
        expected_heads(exported_by_no),
        bound,
        batch_size,
        findings,
        progress,
    )
    reached = walker.expected_seq - 1
    _check_head(head, bound, reached, last_hash, walker.recorded_at, findings)
    _check_reach(stream, exported_by_no, reached, findings)
    _check_exported_are_stored(exported_by_no, stream.seen_numbers, findings)
    _check_beyond_head(repository, findings)

    return VerifyReport(
        ok=not findings.items and not findings.omitted,
        events_checked=walker.checked,
        first_bad_seq=findings.first_bad_seq,
        findings=findings.items,
        checkpoints_checked=stream.checked,
        exported_checkpoints_checked=len(exported),
        head_seq=bound,
        findings_omitted=findings.omitted,
        checkpoint_sources=[str(place) for place in sources if isinstance(place, str | Path)],
    )


def _verifier_keys(
    source: AuditLog | bytes, public_keys: Mapping[str, bytes] | None, findings: Findings
) -> tuple[AuditLog | None, bytes, dict[str, bytes]]:
    """The log (if ``source`` is one), the MAC key, and the trusted checkpoint
    signing keys: the log's own that unseal, plus ``public_keys``."""
    log: AuditLog | None = None
    if isinstance(source, bytes):
        mac_key = source
        trusted: dict[str, bytes] = {}
    else:
        log = source
        mac_key, trusted, problems = source.verifier_keys()
        for kind, problem in problems:
            findings.add(kind, None, problem)
    trusted.update(public_keys or {})
    return log, mac_key, trusted


def _walk_events(
    repository: AuditRepository,
    walker: ChainWalker,
    stream: CheckpointStream,
    heads: Mapping[int, Mapping[Checkpoint, ExportedCheckpoint]],
    bound: int,
    batch_size: int,
    findings: Findings,
    progress: Callable[[int, int], None] | None,
) -> bytes:
    """Every event up to ``bound`` through ``walker``, each checkpoint (stored
    or exported) compared with the chain as the walk passes its ``last_seq``;
    the recomputed hash of the last event."""
    last_hash = GENESIS_HASH
    for event in repository.events_in_order(0, bound, batch_size):
        if progress is not None and walker.checked % PROGRESS_EVERY == 0:
            progress(walker.checked, bound)
        last_hash = walker.feed(event)
        stream.passing(event.seq, last_hash)
        for checkpoint, item in heads.get(event.seq, {}).items():
            if checkpoint.head_hash != last_hash:
                findings.add(
                    "checkpoint_head_mismatch",
                    event.seq,
                    f"the chain at {event.seq} differs from exported checkpoint "
                    f"{checkpoint.checkpoint_no} ({item.source})",
                )
    if progress is not None:
        progress(walker.checked, bound)
    return last_hash


def _check_head(
    head: Head | None,
    bound: int,
    reached: int,
    last_hash: bytes,
    last_recorded_at: int | None,
    findings: Findings,
) -> None:
    """The walk reached the head, and the head row agrees with the last event."""
    if reached < bound:
        missing = f"{reached + 1}" + (f"..{bound}" if bound > reached + 1 else "")
        findings.add("missing", reached + 1, f"event(s) {missing} are missing (head is {bound})")
    elif head is not None and last_hash != head.head_hash:
        findings.add("head_mismatch", bound, "the chain-head hash differs from the last event's")
    elif head is not None and bound and last_recorded_at != head.recorded_at:
        findings.add("head_mismatch", bound, "the chain-head time differs from the last event's")


def _check_reach(
    stream: CheckpointStream,
    exported_by_no: Mapping[int, Sequence[ExportedCheckpoint]],
    reached: int,
    findings: Findings,
) -> None:
    """Signed history the table no longer reaches: a cut tail or an old
    backup. The newest such checkpoint of each place names what is missing."""
    newest: dict[str, Checkpoint] = {}
    for checkpoint in stream.remaining():
        newest["stored"] = checkpoint
    for copies in exported_by_no.values():
        for item in copies:
            if item.checkpoint.last_seq > reached:
                known = newest.get(item.source)
                if known is None or item.checkpoint.last_seq > known.last_seq:
                    newest[item.source] = item.checkpoint
    for where, checkpoint in newest.items():
        label = "stored" if where == "stored" else f"exported ({where})"
        findings.add(
            "truncated",
            reached + 1,
            f"{label} checkpoint {checkpoint.checkpoint_no} covers events up to "
            f"{checkpoint.last_seq}, but the table ends at {reached}: events "
            f"{reached + 1}..{checkpoint.last_seq} are missing",
        )


def _check_exported_are_stored(
    exported_by_no: Mapping[int, Sequence[ExportedCheckpoint]],
    stored_numbers: set[int],
    findings: Findings,
) -> None:
    """Every trusted exported checkpoint is one the database holds."""
    for number, copies in sorted(exported_by_no.items()):
        if number in stored_numbers:
            continue
        for item in copies:
            findings.add(
                "exported_checkpoint_missing",
                None,
                f"exported checkpoint {number} ({item.source}, line {item.line}) "
                "is not in the database",
            )


def _check_beyond_head(repository: AuditRepository, findings: Findings) -> None:
    """Rows no committed head accounts for: forged appends past the head."""
    beyond = repository.last_event_seq()
    head_now = repository.read_head()
    if head_now is not None and beyond > head_now.last_seq:
        findings.add(
            "beyond_head",
            head_now.last_seq + 1,
            f"events up to {beyond} exist beyond the chain head {head_now.last_seq}",
        )
