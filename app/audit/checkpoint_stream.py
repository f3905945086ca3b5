"""The database's checkpoints as the verifier sees them: each one checked
against its predecessor, its signature and its exported copies, and against
the recomputed chain when the event walk passes its ``last_seq``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from app.audit.chain import GENESIS_HASH
from app.audit.checkpoints import Checkpoint, ExportedCheckpoint
from app.audit.report import Findings
from app.audit.repository import StoredCheckpoint
from app.crypto.signing import verify as verify_signature


def check_signature(
    checkpoint: Checkpoint, keys: Mapping[str, bytes], findings: Findings, where: str
) -> bool:
    """Whether ``checkpoint`` is signed by one of ``keys``; a finding when not."""
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


class CheckpointStream:
    """The database's checkpoints (numbered up to ``up_to_no``), checked as
    the event walk passes their ``last_seq``."""

    def __init__(
        self,
        stored: Iterator[StoredCheckpoint],
        up_to_no: int,
        keys: Mapping[str, bytes],
        exported: Mapping[int, Sequence[ExportedCheckpoint]],
        findings: Findings,
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
        check_signature(checkpoint, self._keys, self._findings, "stored")
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
