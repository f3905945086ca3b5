""":class:`ChainWalker`: the per-event checks of the audit chain, used by the
verifier over the whole table and by the checkpointer over the events it is
about to sign.

:meth:`ChainWalker.link` checks an event's place in the chain (position, MAC,
link, hash): everything a checkpoint signs, which is the chain head. The
verifier also checks each event's body (:meth:`ChainWalker.feed`: the typed
columns against it, and that ``recordedAt`` never decreases). The typed
columns are an index derived from the MAC'd body, so a change to a column
alone moves no hash and is found by ``trent audit verify``, not by the
checkpointer, which does not parse the bodies.
"""

from __future__ import annotations

import json

from app.audit.chain import GENESIS_HASH, entry_hash, mac_matches
from app.audit.record import typed_columns
from app.audit.report import MAX_FINDINGS, Finding, Findings
from app.audit.repository import StoredEvent


class ChainWalker:
    """Checks events one at a time, in ``seq`` order, from a known point."""

    def __init__(
        self,
        mac_key: bytes,
        *,
        start_seq: int = 1,
        prev_hash: bytes = GENESIS_HASH,
        findings: Findings | None = None,
    ) -> None:
        self._mac_key = mac_key
        self.expected_seq = start_seq
        self.prev_hash = prev_hash
        self.recorded_at: int | None = None
        self.checked = 0
        self.findings = findings if findings is not None else Findings(MAX_FINDINGS)

    def feed(self, event: StoredEvent) -> bytes:
        """Check ``event``, its place in the chain and its body; returns its
        recomputed entry hash."""
        recomputed = self.link(
            event.seq, event.prev_hash, event.body, event.body_mac, event.entry_hash
        )
        self._check_columns(event)
        return recomputed

    def link(
        self, seq: int, prev_hash: bytes, body: bytes, body_mac: bytes, stored_hash: bytes
    ) -> bytes:
        """Check an event's position, MAC, link and hash (not its body's
        content); returns its recomputed entry hash."""
        if seq > self.expected_seq:
            missing = f"{self.expected_seq}" + (
                f"..{seq - 1}" if seq - 1 > self.expected_seq else ""
            )
            self.findings.add("missing", self.expected_seq, f"event(s) {missing} are missing")
        elif seq < self.expected_seq:
            self.findings.add("out_of_order", seq, f"seq {seq} repeats or goes backwards")
        if not mac_matches(self._mac_key, seq, prev_hash, body, body_mac):
            self.findings.add(
                "mac_mismatch",
                seq,
                "the MAC does not match this body at this position (modified, moved or forged)",
            )
        if prev_hash != self.prev_hash:
            self.findings.add("chain_broken", seq, "prev_hash does not link to the previous event")
        recomputed = entry_hash(prev_hash, seq, body, body_mac)
        if recomputed != stored_hash:
            self.findings.add("hash_mismatch", seq, "entry_hash does not recompute")
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
