"""The audit log writer: append events to the chain, write signed checkpoints.

Ordering under concurrency. Every append runs inside the caller's unit of
work (``repository.transaction()``) and, in that transaction, locks
the single chain-head row, reads ``(last_seq, head_hash)``, inserts the new
event(s) at ``last_seq + 1 …`` linked to ``head_hash``, and moves the head with
a compare-and-set. On SQLite the transaction is ``BEGIN IMMEDIATE``, so it
already holds the database's only write lock; on PostgreSQL the head row is
taken with ``SELECT … FOR UPDATE``. Either way exactly one transaction at a
time can be between "read the head" and "commit", so ``seq`` is gap-free and
the chain linear with any number of worker processes, and a rolled-back
request leaves no trace (its event vanishes with its changes, and the head
is not moved). The unique ``seq`` and the compare-and-set on the head make a
fork impossible even if that reasoning were broken.

The price: on PostgreSQL, audited transactions are serialised from their
append to their commit (which includes the WAL flush). Append last, just
before the transaction ends, so that the lock is held only for the insert and
the commit. On SQLite writers are serialised by the database anyway.

Fail closed: any exception out of :meth:`AuditLog.append` is a
:class:`~app.errors.ServiceUnavailableError` (503), and the caller's
transaction rolls back, taking the operation's changes with it; the caller
must return no result (no plaintext, no data key) once it has been raised.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from app.audit.auth_failures import AuthFailureSampler, SuppressedFailures
from app.audit.canonical import canonical_split
from app.audit.chain import MAC_KEY_LABEL, entry_hash, entry_mac
from app.audit.chain_walker import ChainWalker
from app.audit.checkpoints import (
    SIGNING_KEY_NAME,
    Checkpoint,
    CheckpointFileError,
    append_exported,
    append_to_sink,
    export_line,
    last_exported,
    send_to_syslog,
    signer_key_id,
)
from app.audit.events import AuditEvent
from app.audit.mac_key import audit_mac_key
from app.audit.record import clip, event_body, micros, typed_columns
from app.audit.report import AuditIntegrityError, Finding
from app.audit.repository import GENESIS_HASH, AuditRepository, StoredEvent, StoredSigningKey
from app.config import Settings
from app.crypto.root_key import RootKeyError, RootKeyProvider
from app.crypto.sealed import SealedMaterial
from app.crypto.signing import (
    SigningPrivateKey,
    generate_signing_key,
    public_key_bytes,
    seal_signing_key,
    sign,
    unseal_signing_key,
)
from app.errors import ServiceUnavailableError

log = logging.getLogger("trent.audit")

#: Default name of the checkpoint export file, in the data directory.
CHECKPOINT_FILE_NAME = "audit-checkpoints.jsonl"
#: Event name of an aggregated record of suppressed authentication failures.
AUTH_FAILURE_SUMMARY = "AuthenticationFailureSummary"

_MAX_REASON = 64
_MAX_ATTEMPTED_PRINCIPAL = 256


_RECORDED_AT = "recordedAt"


class PreparedEvent(NamedTuple):
    """An event encoded up to its place in the chain.

    The canonical body is ``head + <recordedAt> + tail``: the members sorted
    before ``recordedAt`` and the member's name, then (after the value) the
    members sorted after it. Building and checking the body, the costly part,
    happens here, before the chain head is locked and outside the group
    commit's writer thread; the writer only fills in the time and links the
    event into the chain. (A named tuple: the audit writer decodes one per
    event, and a frozen dataclass costs more to build.)
    """

    head: bytes
    tail: bytes
    #: The typed columns, ``recorded_at`` still ``None``.
    columns: dict[str, Any]

    def body(self, recorded_at: int) -> bytes:
        return self.head + str(recorded_at).encode("ascii") + self.tail


class AuditLog:
    """The tamper-evident audit log of one process.

    Every method works on the :class:`~app.audit.repository.AuditRepository`
    it is handed and expects the caller to hold a connection to its database.
    """

    def __init__(
        self,
        root_key: RootKeyProvider,
        settings: Settings,
        repository: AuditRepository,
        clock: Callable[[], float] = time.time,
        *,
        checkpoint_file: Path | None = None,
        auth_failures: AuthFailureSampler | None = None,
    ) -> None:
        self._root_key = root_key
        #: Where the log's events, head, checkpoints and signing keys are kept.
        self.repository = repository
        # Read (or made) on first use: building the log opens no connection.
        self._mac_key_lock = threading.Lock()
        self._mac_key: bytes | None = None
        self.settings = settings
        self._clock = clock
        #: Where :meth:`checkpoint` exports every new checkpoint (append-only).
        self.checkpoint_file = (
            checkpoint_file
            or settings.audit_checkpoint_file
            or settings.data_dir / CHECKPOINT_FILE_NAME
        )
        #: The operator's append-only copy (a file), written as each checkpoint is made.
        self.checkpoint_sink = settings.audit_checkpoint_sink
        self.auth_failures = auth_failures or AuthFailureSampler(clock)
        self._signer_lock = threading.Lock()
        self._signer: tuple[StoredSigningKey, SigningPrivateKey] | None = None

    def __repr__(self) -> str:
        return f"AuditLog(checkpoint_file={str(self.checkpoint_file)!r})"

    # -- appending ---------------------------------------------------------

    def append(self, event: AuditEvent) -> int:
        """Append ``event`` in the caller's open transaction; returns its ``seq``.

        Raises :class:`ServiceUnavailableError` on any failure: the caller's
        transaction must then roll back and the request answer 503.
        """
        return self.append_prepared([self.prepare(event)])[0]

    def append_batch(self, events: Sequence[AuditEvent]) -> list[int]:
        """Append several events at once (one head lock, one head update)."""
        return self.append_prepared([self.prepare(event) for event in events])

    def prepare(self, event: AuditEvent, extra: Mapping[str, Any] | None = None) -> PreparedEvent:
        """Encode ``event`` for :meth:`append_prepared` (any thread, no lock).

        Raises :class:`ServiceUnavailableError` if it cannot be encoded.
        """
        try:
            # The body's strings are cleaned once, here, so that the typed
            # columns derived from it hold exactly what the body holds.
            body, head, tail = canonical_split(event_body(event, extra=extra), _RECORDED_AT)
            body[_RECORDED_AT] = None
            return PreparedEvent(head, tail, typed_columns(body))
        except Exception as exc:
            log.error("audit event %s cannot be encoded: %s", event.event_id, exc)
            raise ServiceUnavailableError() from exc

    def append_prepared(self, prepared: Sequence[PreparedEvent]) -> list[int]:
        """Link prepared events into the chain, in the caller's open
        transaction; returns their ``seq`` (fails closed like :meth:`append`)."""
        store = self.repository
        if not store.in_transaction():
            raise RuntimeError(
                "AuditLog.append must run inside the repository's transaction(), "
                "so that an event commits together with the change it records"
            )
        try:
            mac_key = self.mac_key()
            head = store.lock_head()
            # Never earlier than the event before it, whatever this process's
            # clock says: a time range is then a seq range (see app.store.audit.search).
            recorded_at = max(micros(self._clock()), head.recorded_at)
            prev_hash = head.head_hash
            seq = head.last_seq
            rows: list[StoredEvent] = []
            for item in prepared:
                seq += 1
                encoded = item.body(recorded_at)
                mac = entry_mac(mac_key, seq, prev_hash, encoded)
                digest = entry_hash(prev_hash, seq, encoded, mac)
                columns = {**item.columns, "recorded_at": recorded_at}
                rows.append(StoredEvent(seq, columns, encoded, mac, prev_hash, digest))
                prev_hash = digest
            store.insert_events(rows)
            store.advance_head(head.last_seq, seq, prev_hash, recorded_at)
        except Exception as exc:
            log.error("audit append failed (the request fails closed): %r", exc)
            raise ServiceUnavailableError() from exc
        return [row.seq for row in rows]

    # -- authentication failures --------------------------------------------

    def append_auth_failure(
        self,
        source_ip: str | None,
        reason_code: str,
        attempted_principal: str | None,
        event: AuditEvent,
    ) -> int | None:
        """Record an authentication failure, within the bounds of
        :mod:`app.audit.auth_failures`; ``None`` when it was only counted.

        Opens its own transaction (a savepoint if the caller has one open):
        there is no change to commit with it. Summaries of suppressed failures
        that are due are written first, in the same transaction.
        """
        record, due = self.auth_failures.admit(source_ip)
        if not record:
            return None
        extra = {
            "authFailure": {
                "reason": clip(reason_code, _MAX_REASON),
                "attemptedPrincipal": clip(attempted_principal, _MAX_ATTEMPTED_PRINCIPAL),
            }
        }
        try:
            prepared = [self.prepare(self._summary_event(s), self._summary_extra(s)) for s in due]
            prepared.append(self.prepare(event, extra))
            with self.repository.transaction(invalidates=False):
                seqs = self.append_prepared(prepared)
        except BaseException:
            self.auth_failures.restore(due)
            raise
        return seqs[-1]

    def flush_auth_failure_summaries(self) -> int:
        """Write the summaries of finished windows (for the scheduler); returns how many."""
        due = self.auth_failures.due_summaries()
        if not due:
            return 0
        try:
            prepared = [self.prepare(self._summary_event(s), self._summary_extra(s)) for s in due]
            with self.repository.transaction(invalidates=False):
                self.append_prepared(prepared)
        except BaseException:
            self.auth_failures.restore(due)
            raise
        return len(due)

    def _summary_event(self, summary: SuppressedFailures) -> AuditEvent:
        return AuditEvent(
            event_id=str(uuid.uuid4()),
            event_time=self._clock(),
            request_id="",
            door="internal",
            event_name=AUTH_FAILURE_SUMMARY,
            outcome="failed",
            http_status=401,
            source_ip=summary.source_ip,
            error_code="UnauthenticatedException",
        )

    def _summary_extra(self, summary: SuppressedFailures) -> dict[str, Any]:
        return {
            "authFailureSummary": {
                "suppressedCount": summary.count,
                "windowStart": micros(summary.window_start),
                "windowEnd": micros(summary.window_start + summary.window_seconds),
                "overflow": summary.overflow,
                "perSourceLimit": self.auth_failures.per_source_limit,
                "globalLimit": self.auth_failures.global_limit,
            }
        }

    # -- checkpoints -------------------------------------------------------

    def checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint over the events appended since the last one, and
        export it; ``None`` when there is nothing new (or another process
        wrote this checkpoint first).

        The new events are verified first, as far as what is signed goes:
        their positions, MACs, links and hashes, up to the chain head. A
        tampered chain is never signed, it raises
        :class:`~app.audit.report.AuditIntegrityError` instead. The bodies are
        not parsed: a change to a typed column alone (an index of the MAC'd
        body, outside the chain) is found by ``trent audit verify``, not here.
        """
        previous_stored = self.repository.latest_checkpoint()
        previous = Checkpoint.from_stored(previous_stored) if previous_stored else None
        head = self.repository.read_head()
        if head is None:
            raise AuditIntegrityError(Finding("head_missing", None, "the chain head is missing"))
        first_seq = previous.last_seq + 1 if previous else 1
        if head.last_seq < first_seq:
            if previous is not None and head.last_seq < previous.last_seq:
                raise AuditIntegrityError(
                    Finding(
                        "truncated",
                        head.last_seq + 1,
                        f"the head ({head.last_seq}) is behind checkpoint "
                        f"{previous.checkpoint_no} ({previous.last_seq})",
                    )
                )
            return None
        # Only when there is something to sign: an idle round stays two reads.
        self._check_exported_history(previous)
        walker = ChainWalker(
            self.mac_key(),
            start_seq=first_seq,
            prev_hash=previous.head_hash if previous else GENESIS_HASH,
        )
        link = walker.link
        for seq, prev_hash, body, body_mac, stored_hash in self.repository.chain_links(
            first_seq - 1, head.last_seq, 1000
        ):
            link(seq, prev_hash, body, body_mac, stored_hash)
        problem = walker.first_finding()
        if problem is None and walker.expected_seq != head.last_seq + 1:
            problem = Finding("missing", walker.expected_seq, "events before the head are missing")
        if problem is None and walker.prev_hash != head.head_hash:
            problem = Finding("head_mismatch", head.last_seq, "the head differs from the chain")
        if problem is not None:
            log.critical("audit chain does not verify; no checkpoint signed: %s", problem)
            raise AuditIntegrityError(problem)

        key, private = self._signing_key()
        created_at = micros(self._clock())
        if previous is not None:
            created_at = max(created_at, previous.created_at)
        unsigned = Checkpoint(
            checkpoint_no=previous.checkpoint_no + 1 if previous else 1,
            first_seq=first_seq,
            last_seq=head.last_seq,
            head_hash=head.head_hash,
            prev_checkpoint_hash=previous.digest() if previous else GENESIS_HASH,
            created_at=created_at,
            signer_key_id=key.key_id,
        )
        checkpoint = unsigned.with_signature(sign(private, unsigned.signed_bytes()))
        with self.repository.transaction(invalidates=False):
            inserted = self.repository.insert_checkpoint(checkpoint.to_stored())
        if inserted:
            self._publish(checkpoint, key.public_key)
        self.export_checkpoints()
        return checkpoint if inserted else None

    def _check_exported_history(self, previous: Checkpoint | None) -> None:
        """Refuse to sign on top of a database that lost checkpoints the
        checkpoint file has (its tail was cut and its checkpoints deleted, or
        an older backup was restored): signing would give the shortened
        history a fresh signature."""
        try:
            exported = last_exported(self.checkpoint_file)
        except CheckpointFileError as exc:  # reported when the export is appended to
            log.error("audit checkpoint file: %s", exc)
            return
        if exported is None:
            return
        number = exported.checkpoint_no
        stored: Checkpoint | None = None
        if previous is not None and previous.checkpoint_no == number:
            stored = previous
        elif previous is not None and previous.checkpoint_no > number:
            row = next(iter(self.repository.checkpoints_in_order(number - 1, batch_size=1)), None)
            if row is not None and row.checkpoint_no == number:
                stored = Checkpoint.from_stored(row)
        if stored != exported:
            finding = Finding(
                "truncated",
                exported.first_seq,
                f"checkpoint {number} in {self.checkpoint_file} (events up to "
                f"{exported.last_seq}) is missing from the database or differs from it",
            )
            log.critical("audit log rolled back or cut; no checkpoint signed: %s", finding)
            raise AuditIntegrityError(finding)

    def _publish(self, checkpoint: Checkpoint, public_key: bytes) -> None:
        """Send a new checkpoint to the operator's sinks (file, syslog).

        Written before the checkpoint file, so that even a checkpoint whose
        export is refused (the file saw a history the database no longer
        holds) leaves the host. A sink that cannot be written is logged, not
        raised: the checkpoint is already signed and stored, and the next one
        covers these events too.
        """
        line = export_line(checkpoint, public_key)
        if self.checkpoint_sink is not None:
            try:
                append_to_sink(self.checkpoint_sink, [line])
            except OSError as exc:
                log.error(
                    "audit checkpoint %d not written to the sink %s: %s",
                    checkpoint.checkpoint_no,
                    self.checkpoint_sink,
                    exc,
                )
        if self.settings.audit_checkpoint_syslog:
            try:
                send_to_syslog([line])
            except OSError as exc:
                log.error(
                    "audit checkpoint %d not sent to syslog: %s", checkpoint.checkpoint_no, exc
                )

    def checkpoint_sources(self) -> list[Path]:
        """The files outside the database that hold this log's checkpoints
        (the checkpoint file, the sink) and exist; what the verifier reads."""
        found: list[Path] = []
        for path in (self.checkpoint_file, self.checkpoint_sink):
            if path is not None and path.is_file() and path not in found:
                found.append(path)
        return found

    def latest_checkpoint(self) -> Checkpoint | None:
        stored = self.repository.latest_checkpoint()
        return Checkpoint.from_stored(stored) if stored else None

    def checkpoints(self, after_no: int = 0) -> Iterator[Checkpoint]:
        for stored in self.repository.checkpoints_in_order(after_no):
            yield Checkpoint.from_stored(stored)

    def export_checkpoints(self, path: Path | None = None) -> int:
        """Append every checkpoint not yet in ``path`` (default
        :attr:`checkpoint_file`) to it; returns how many were written.

        Raises :class:`~app.audit.checkpoints.CheckpointFileError` if the
        file's last checkpoint is no longer in the database unchanged.
        """
        keys = {key.key_id: key.public_key for key in self.repository.signing_keys()}
        return append_exported(path or self.checkpoint_file, self.checkpoints, keys)

    def mac_key(self) -> bytes:
        """The audit MAC key (:mod:`app.audit.mac_key`), stored sealed on first use.

        Raises :class:`~app.crypto.root_key.RootKeyError` if it cannot be had.
        """
        with self._mac_key_lock:
            if self._mac_key is None:
                self._mac_key = audit_mac_key(
                    self._root_key, self.repository, now_us=micros(self._clock())
                )
            return self._mac_key

    def _signing_key(self) -> tuple[StoredSigningKey, SigningPrivateKey]:
        """The current checkpoint signing key, created (sealed) on first use."""
        with self._signer_lock:
            if self._signer is not None:
                return self._signer
            keys = self.repository.signing_keys()
            if not keys:
                private, public = generate_signing_key()
                sealed = seal_signing_key(self._root_key, private, name=SIGNING_KEY_NAME, version=1)
                record = StoredSigningKey(
                    version=1,
                    key_id=signer_key_id(public),
                    public_key=public,
                    sealed_private_key=sealed.blob,
                    created_at=micros(self._clock()),
                )
                with self.repository.transaction(invalidates=True):
                    self.repository.insert_signing_key(record)
                # Another process may have created version 1 first: use theirs.
                keys = self.repository.signing_keys()
            current = keys[-1]
            private = unseal_signing_key(
                self._root_key,
                SealedMaterial(current.sealed_private_key),
                name=SIGNING_KEY_NAME,
                version=current.version,
            )
            if public_key_bytes(private) != current.public_key:
                raise RootKeyError("the stored audit signing key's public key does not match it")
            self._signer = (current, private)
            return self._signer

    # -- verification --------------------------------------------------------

    def verifier_keys(self) -> tuple[bytes, dict[str, bytes], list[tuple[str, str]]]:
        """The MAC key, the trusted checkpoint public keys, and problems found
        (each a finding kind and its text).

        A stored signing key is trusted only if its sealed private key unseals
        under the root key and matches the stored public key: a key swapped in
        by someone with write access to the database is not. Verifying stores
        nothing: with no MAC key row yet, the key derived from the root key is
        used; a MAC key that cannot be had is a problem, and the events are
        then checked against the derived key (which shows whether they match it).
        """
        trusted: dict[str, bytes] = {}
        problems: list[tuple[str, str]] = []
        try:
            mac_key = self._mac_key or audit_mac_key(
                self._root_key, self.repository, now_us=micros(self._clock()), create=False
            )
        except RootKeyError as exc:
            problems.append(("mac_key_invalid", str(exc)))
            mac_key = self._root_key.derive(MAC_KEY_LABEL)
        for key in self.repository.signing_keys():
            try:
                private = unseal_signing_key(
                    self._root_key,
                    SealedMaterial(key.sealed_private_key),
                    name=SIGNING_KEY_NAME,
                    version=key.version,
                )
            except RootKeyError:
                problems.append(
                    (
                        "signing_key_invalid",
                        f"signing key {key.key_id} does not unseal under the root key",
                    )
                )
                continue
            if (
                public_key_bytes(private) != key.public_key
                or signer_key_id(key.public_key) != key.key_id
            ):
                problems.append(
                    (
                        "signing_key_invalid",
                        f"signing key {key.key_id} does not match its public key",
                    )
                )
                continue
            trusted[key.key_id] = key.public_key
        return mac_key, trusted, problems

    def public_keys(self) -> dict[str, bytes]:
        """Trusted checkpoint verification keys: key id → raw Ed25519 public key."""
        return self.verifier_keys()[1]

    def ready(self) -> None:
        """Raise :class:`ServiceUnavailableError` unless the chain head is
        readable and the MAC key usable."""
        try:
            head = self.repository.read_head()
        except Exception as exc:
            raise ServiceUnavailableError() from exc
        if head is None:
            log.error("the audit chain head row is missing: run `trent migrate`")
            raise ServiceUnavailableError()
        try:
            self.mac_key()
        except Exception as exc:
            # A MAC key that cannot be had fails every append: not ready.
            log.error("the audit MAC key cannot be used: %s", exc)
            raise ServiceUnavailableError() from exc
