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
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.audit.chain import GENESIS_HASH, entry_hash, mac_matches
from app.audit.checkpoints import (
    Checkpoint,
    CheckpointFileError,
    ExportedCheckpoint,
    read_exported,
)
from app.audit.record import typed_columns
from app.audit.repository import AuditRepository, StoredCheckpoint, StoredEvent
from app.crypto.signing import verify as verify_signature

if TYPE_CHECKING:
    from app.audit.log import AuditLog

#: Findings kept in a report; further ones are only counted.
MAX_FINDINGS = 1000


@dataclass(frozen=True)
class Finding:
    kind: str
    seq: int | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "detail": self.detail}


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


class _Findings:
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


class ChainWalker:
    """Checks events one at a time, in ``seq`` order, from a known point."""

    def __init__(
        self,
        mac_key: bytes,
        *,
        start_seq: int = 1,
        prev_hash: bytes = GENESIS_HASH,
        findings: _Findings | None = None,
    ) -> None:
        self._mac_key = mac_key
        self.expected_seq = start_seq
        self.prev_hash = prev_hash
        self.recorded_at: int | None = None
        self.checked = 0
        self.findings = findings if findings is not None else _Findings(MAX_FINDINGS)

    def feed(self, event: StoredEvent) -> bytes:
        """Check ``event``; returns its recomputed entry hash."""
        seq = event.seq
        if seq > self.expected_seq:
            missing = f"{self.expected_seq}" + (
                f"..{seq - 1}" if seq - 1 > self.expected_seq else ""
            )
            self.findings.add("missing", self.expected_seq, f"event(s) {missing} are missing")
        elif seq < self.expected_seq:
            self.findings.add("out_of_order", seq, f"seq {seq} repeats or goes backwards")
        if not mac_matches(self._mac_key, seq, event.prev_hash, event.body, event.body_mac):
            self.findings.add(
                "mac_mismatch",
                seq,
                "the MAC does not match this body at this position (modified, moved or forged)",
            )
        if event.prev_hash != self.prev_hash:
            self.findings.add("chain_broken", seq, "prev_hash does not link to the previous event")
        recomputed = entry_hash(event.prev_hash, seq, event.body, event.body_mac)
        if recomputed != event.entry_hash:
            self.findings.add("hash_mismatch", seq, "entry_hash does not recompute")
        self._check_columns(event)
        self.prev_hash = recomputed
        self.expected_seq = seq + 1
        self.checked += 1
        return recomputed

    def _check_columns(self, event: StoredEvent) -> None:
        try:
            body = json.loads(event.body)
            expected = typed_columns(body)
        except (ValueError, KeyError, TypeError, IndexError):
            self.findings.add("body_unreadable", event.seq, "the body is not an audit event")
            return
        recorded_at = expected["recorded_at"]
        if not isinstance(recorded_at, int) or (
            self.recorded_at is not None and recorded_at < self.recorded_at
        ):
            self.findings.add(
                "time_reversed", event.seq, "recordedAt is earlier than the previous event's"
            )
        else:
            self.recorded_at = recorded_at
        changed = sorted(
            name for name, value in expected.items() if event.columns.get(name) != value
        )
        if changed:
            self.findings.add(
                "column_mismatch",
                event.seq,
                f"column(s) {', '.join(changed)} differ from the body",
            )

    def first_finding(self) -> Finding | None:
        return self.findings.items[0] if self.findings.items else None


ExportedSource = Sequence[Checkpoint | ExportedCheckpoint | Mapping[str, Any]] | Path | str | None


def _load_exported(exported: ExportedSource, findings: _Findings) -> list[ExportedCheckpoint]:
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


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False


def _sources(
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


def _check_signature(
    checkpoint: Checkpoint, keys: Mapping[str, bytes], findings: _Findings, where: str
) -> bool:
    public = keys.get(checkpoint.signer_key_id)
    if public is None:
        findings.add(
            "checkpoint_signer_unknown",
            None,
            f"{where} checkpoint {checkpoint.checkpoint_no} is signed by "
            f"{checkpoint.signer_key_id}, which is not a trusted key",
        )
        return False
    if not verify_signature(public, checkpoint.signature, checkpoint.signed_bytes()):
        findings.add(
            "checkpoint_signature",
            None,
            f"{where} checkpoint {checkpoint.checkpoint_no} has an invalid signature",
        )
        return False
    return True


class _CheckpointStream:
    """The database's checkpoints (numbered up to ``up_to_no``), checked as
    the event walk passes their ``last_seq``."""

    def __init__(
        self,
        stored: Iterator[StoredCheckpoint],
        up_to_no: int,
        keys: Mapping[str, bytes],
        exported: Mapping[int, Sequence[ExportedCheckpoint]],
        findings: _Findings,
    ) -> None:
        self._source = stored
        self._up_to_no = up_to_no
        self._keys = keys
        self._exported = exported
        self._findings = findings
        self._previous: Checkpoint | None = None
        self.pending: Checkpoint | None = None
        self.checked = 0
        self.seen_numbers: set[int] = set()
        self._advance()

    def _advance(self) -> None:
        self.pending = None
        for stored in self._source:
            if stored.checkpoint_no > self._up_to_no:
                break
            self.pending = Checkpoint.from_stored(stored)
            self._check_links(self.pending)
            return

    def _check_links(self, checkpoint: Checkpoint) -> None:
        add = self._findings.add
        previous = self._previous
        number = checkpoint.checkpoint_no
        expected_no = 1 if previous is None else previous.checkpoint_no + 1
        expected_first = 1 if previous is None else previous.last_seq + 1
        expected_link = GENESIS_HASH if previous is None else previous.digest()
        if number != expected_no:
            add("checkpoint_missing", None, f"checkpoint {expected_no} is missing")
        if checkpoint.first_seq != expected_first or checkpoint.last_seq < checkpoint.first_seq:
            add(
                "checkpoint_range",
                None,
                f"checkpoint {number} covers {checkpoint.first_seq}..{checkpoint.last_seq}, "
                f"expected to start at {expected_first}",
            )
        if checkpoint.prev_checkpoint_hash != expected_link:
            add("checkpoint_chain", None, f"checkpoint {number} does not link to its predecessor")
        if previous is not None and checkpoint.created_at < previous.created_at:
            add("checkpoint_time", None, f"checkpoint {number} is older than its predecessor")
        _check_signature(checkpoint, self._keys, self._findings, "stored")
        copies = self._exported.get(number, ())
        if copies:
            self.seen_numbers.add(number)
        for exported in copies:
            if exported.checkpoint != checkpoint:
                add(
                    "exported_checkpoint_mismatch",
                    exported.checkpoint.first_seq,
                    f"checkpoint {number} differs from its copy in {exported.source} "
                    f"(line {exported.line})",
                )
        self._previous = checkpoint
        self.checked += 1

    def passing(self, seq: int, recomputed: bytes) -> None:
        """The walk checked event ``seq``, whose hash is ``recomputed``."""
        while self.pending is not None and self.pending.last_seq <= seq:
            checkpoint = self.pending
            if checkpoint.last_seq < seq:
                self._findings.add(
                    "checkpoint_head_mismatch",
                    checkpoint.last_seq,
                    f"checkpoint {checkpoint.checkpoint_no} ends at event "
                    f"{checkpoint.last_seq}, which is missing",
                )
            elif checkpoint.head_hash != recomputed:
                self._findings.add(
                    "checkpoint_head_mismatch",
                    seq,
                    f"the chain at {seq} differs from signed checkpoint {checkpoint.checkpoint_no}",
                )
            self._advance()

    def remaining(self) -> Iterator[Checkpoint]:
        while self.pending is not None:
            yield self.pending
            self._advance()


def verify(
    source: AuditLog | bytes,
    *,
    exported_checkpoints: ExportedSource = None,
    public_keys: Mapping[str, bytes] | None = None,
    batch_size: int = 1000,
    max_findings: int = MAX_FINDINGS,
    own_sources: bool = True,
    repository: AuditRepository | None = None,
) -> VerifyReport:
    """Verify the audit log in its repository (inside a connection).

    ``source`` is the :class:`~app.audit.log.AuditLog` (which derives the MAC
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
    """
    findings = _Findings(max_findings)
    log: AuditLog | None = None
    if isinstance(source, bytes):
        mac_key = source
        trusted: dict[str, bytes] = {}
    else:
        log = source
        repository = repository or source.repository
        mac_key, trusted, problems = source.verifier_keys()
        for problem in problems:
            findings.add("signing_key_invalid", None, problem)
    trusted.update(public_keys or {})

    # Order matters: the exported files, then the checkpoint count, then the
    # head. Everything read earlier was committed before the head we read, so
    # it may never lie beyond it; anything committed later is ignored.
    sources = _sources(exported_checkpoints, log, own_sources)
    exported: list[ExportedCheckpoint] = []
    for place in sources:
        exported.extend(_load_exported(place, findings))
    if not trusted:
        trusted = {e.checkpoint.signer_key_id: e.public_key for e in exported if e.public_key}
    if repository is None:
        raise TypeError("verify needs the repository to read when given a MAC key")
    latest = repository.latest_checkpoint()
    head = repository.read_head()
    if head is None:
        findings.add("head_missing", None, "the chain-head row is missing")
        bound = repository.last_event_seq()
    else:
        bound = head.last_seq

    exported_by_no: dict[int, list[ExportedCheckpoint]] = {}
    for item in exported:
        if _check_signature(item.checkpoint, trusted, findings, f"exported ({item.source})"):
            exported_by_no.setdefault(item.checkpoint.checkpoint_no, []).append(item)
    expected_heads: dict[int, dict[Checkpoint, ExportedCheckpoint]] = {}
    for copies in exported_by_no.values():
        for item in copies:
            expected_heads.setdefault(item.checkpoint.last_seq, {}).setdefault(
                item.checkpoint, item
            )

    walker = ChainWalker(mac_key, findings=findings)
    stream = _CheckpointStream(
        repository.checkpoints_in_order(),
        latest.checkpoint_no if latest else 0,
        trusted,
        exported_by_no,
        findings,
    )
    last_hash = GENESIS_HASH
    for event in repository.events_in_order(0, bound, batch_size):
        last_hash = walker.feed(event)
        stream.passing(event.seq, last_hash)
        for checkpoint, item in expected_heads.get(event.seq, {}).items():
            if checkpoint.head_hash != last_hash:
                findings.add(
                    "checkpoint_head_mismatch",
                    event.seq,
                    f"the chain at {event.seq} differs from exported checkpoint "
                    f"{checkpoint.checkpoint_no} ({item.source})",
                )
    reached = walker.expected_seq - 1
    if reached < bound:
        missing = f"{reached + 1}" + (f"..{bound}" if bound > reached + 1 else "")
        findings.add("missing", reached + 1, f"event(s) {missing} are missing (head is {bound})")
    elif head is not None and last_hash != head.head_hash:
        findings.add("head_mismatch", bound, "the chain-head hash differs from the last event's")
    elif head is not None and bound and walker.recorded_at != head.recorded_at:
        findings.add("head_mismatch", bound, "the chain-head time differs from the last event's")

    # Signed history the table no longer reaches: a cut tail or an old backup.
    # The newest such checkpoint of each place names what is missing.
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
    for number, copies in sorted(exported_by_no.items()):
        if number in stream.seen_numbers:
            continue
        for item in copies:
            findings.add(
                "exported_checkpoint_missing",
                None,
                f"exported checkpoint {number} ({item.source}, line {item.line}) "
                "is not in the database",
            )

    # Rows no committed head accounts for: forged appends past the head.
    beyond = repository.last_event_seq()
    head_now = repository.read_head()
    if head_now is not None and beyond > head_now.last_seq:
        findings.add(
            "beyond_head",
            head_now.last_seq + 1,
            f"events up to {beyond} exist beyond the chain head {head_now.last_seq}",
        )

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
