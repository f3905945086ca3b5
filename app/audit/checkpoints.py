"""Signed checkpoints and their export outside the database.

A checkpoint says "events ``first_seq``…``last_seq`` were appended, and the
chain ended in ``head_hash``", commits to the previous checkpoint through
``prev_checkpoint_hash``, and is signed with Ed25519. The signed bytes are::

    "trent/audit/checkpoint/v1" 0x00 || canonical JSON of
        {checkpointNo, createdAt, firstSeq, headHash, lastSeq,
         prevCheckpointHash, signerKeyId, v}

(hashes in lowercase hex, ``createdAt`` in integer microseconds), and a
checkpoint's own hash, which the next one commits to, is
``SHA-256("trent/audit/checkpoint-digest/v1" 0x00 || signed bytes || signature)``.

The export is a JSON Lines file, one checkpoint per line, each carrying the
signer's public key. It is only ever appended to, under an exclusive
``flock``, and fsynced. Kept somewhere the database's writers cannot reach, it
is what proves that the table was not cut short or rolled back to a backup:
the verifier requires the table to reach the last exported checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.audit.canonical import canonical_json
from app.audit.repository import StoredCheckpoint

EXPORT_FORMAT = "trent-audit-checkpoint/v1"
#: Name under which the signing key is sealed (``seal_signing_key``'s AAD).
SIGNING_KEY_NAME = "trent/audit/checkpoint"

_SIGNED_TAG = b"trent/audit/checkpoint/v1\x00"
_DIGEST_TAG = b"trent/audit/checkpoint-digest/v1\x00"


def signer_key_id(public_key: bytes) -> str:
    """A stable id for an Ed25519 public key (what a checkpoint names its signer by)."""
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:32]


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_no: int
    first_seq: int
    last_seq: int
    head_hash: bytes
    prev_checkpoint_hash: bytes
    #: Microseconds since the epoch (UTC).
    created_at: int
    signer_key_id: str
    signature: bytes = b""

    def signed_bytes(self) -> bytes:
        return _SIGNED_TAG + canonical_json(
            {
                "v": 1,
                "checkpointNo": self.checkpoint_no,
                "firstSeq": self.first_seq,
                "lastSeq": self.last_seq,
                "headHash": self.head_hash.hex(),
                "prevCheckpointHash": self.prev_checkpoint_hash.hex(),
                "createdAt": self.created_at,
                "signerKeyId": self.signer_key_id,
            }
        )

    def digest(self) -> bytes:
        """What the next checkpoint's ``prev_checkpoint_hash`` must be."""
        return hashlib.sha256(_DIGEST_TAG + self.signed_bytes() + self.signature).digest()

    def with_signature(self, signature: bytes) -> Checkpoint:
        return replace(self, signature=signature)

    @classmethod
    def from_stored(cls, stored: StoredCheckpoint) -> Checkpoint:
        return cls(
            checkpoint_no=stored.checkpoint_no,
            first_seq=stored.first_seq,
            last_seq=stored.last_seq,
            head_hash=stored.head_hash,
            prev_checkpoint_hash=stored.prev_checkpoint_hash,
            created_at=stored.created_at,
            signer_key_id=stored.signer_key_id,
            signature=stored.signature,
        )

    def to_stored(self) -> StoredCheckpoint:
        return StoredCheckpoint(
            checkpoint_no=self.checkpoint_no,
            first_seq=self.first_seq,
            last_seq=self.last_seq,
            head_hash=self.head_hash,
            prev_checkpoint_hash=self.prev_checkpoint_hash,
            created_at=self.created_at,
            signer_key_id=self.signer_key_id,
            signature=self.signature,
        )

    def to_record(self, public_key: bytes | None = None) -> dict[str, Any]:
        """The exported (JSON) form."""
        record: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "checkpointNo": self.checkpoint_no,
            "firstSeq": self.first_seq,
            "lastSeq": self.last_seq,
            "headHash": self.head_hash.hex(),
            "prevCheckpointHash": self.prev_checkpoint_hash.hex(),
            "createdAt": self.created_at,
            "signerKeyId": self.signer_key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }
        if public_key is not None:
            record["publicKey"] = base64.b64encode(public_key).decode("ascii")
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> tuple[Checkpoint, bytes | None]:
        """Parse an exported record; ``ValueError`` if it is not one."""
        if record.get("format") != EXPORT_FORMAT:
            raise ValueError(f"not a {EXPORT_FORMAT} record")
        try:
            numbers = [
                record[name] for name in ("checkpointNo", "firstSeq", "lastSeq", "createdAt")
            ]
            if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
                raise ValueError("numbers must be integers")
            public = record.get("publicKey")
            checkpoint = cls(
                checkpoint_no=numbers[0],
                first_seq=numbers[1],
                last_seq=numbers[2],
                created_at=numbers[3],
                head_hash=bytes.fromhex(record["headHash"]),
                prev_checkpoint_hash=bytes.fromhex(record["prevCheckpointHash"]),
                signer_key_id=str(record["signerKeyId"]),
                signature=base64.b64decode(record["signature"], validate=True),
            )
            return checkpoint, (
                base64.b64decode(public, validate=True) if isinstance(public, str) else None
            )
        except (KeyError, TypeError, binascii.Error) as exc:
            raise ValueError(f"malformed checkpoint record: {exc}") from None


@dataclass(frozen=True)
class ExportedCheckpoint:
    checkpoint: Checkpoint
    public_key: bytes | None
    line: int
    #: Where it was read (a file path), for the verifier's report.
    source: str = "exported"


class CheckpointFileError(Exception):
    """The export file cannot be read or written, or does not match the database."""


def read_exported(path: Path) -> tuple[list[ExportedCheckpoint], list[str]]:
    """Every checkpoint in an export file, and a description of each bad line."""
    exported: list[ExportedCheckpoint] = []
    problems: list[str] = []
    try:
        handle = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise CheckpointFileError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
                checkpoint, public = Checkpoint.from_record(record)
            except ValueError as exc:
                problems.append(f"{path}:{number}: {exc}")
                continue
            exported.append(ExportedCheckpoint(checkpoint, public, number, str(path)))
    return exported, problems


def _last_exported(handle: Any) -> Checkpoint | None:
    """The last checkpoint of an open export file (read from its end)."""
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        return None
    block = 1 << 16
    offset = max(0, size - block)
    while True:
        handle.seek(offset)
        tail = handle.read(size - offset)
        lines = [line for line in tail.split(b"\n") if line.strip()]
        if len(lines) > 1 or offset == 0:
            break
        offset = max(0, offset - block)
    if not lines:
        return None
    try:
        record = json.loads(lines[-1])
        checkpoint, _ = Checkpoint.from_record(record)
    except (ValueError, TypeError) as exc:
        raise CheckpointFileError(
            f"the last line of the export file is unreadable: {exc}"
        ) from None
    return checkpoint


def last_exported(path: Path) -> Checkpoint | None:
    """The last checkpoint of an export file; ``None`` if it is missing or empty."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CheckpointFileError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        return _last_exported(handle)


def append_exported(
    path: Path,
    checkpoints_after: Callable[[int], Iterable[Checkpoint]],
    public_keys: Mapping[str, bytes],
) -> int:
    """Append to ``path`` every checkpoint it does not have yet; returns how many.

    ``checkpoints_after(n)`` yields the database's checkpoints numbered above
    ``n``, in order. The file's last checkpoint must still be in the database,
    unchanged: a file that has seen a history the database no longer holds is
    never extended with a different one (that is the rollback the file exists
    to expose).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            last = _last_exported(handle)
            source = checkpoints_after(0 if last is None else last.checkpoint_no - 1)
            lines: list[bytes] = []
            matched_last = last is None
            for checkpoint in source:
                if last is not None and checkpoint.checkpoint_no == last.checkpoint_no:
                    if checkpoint != last:
                        break
                    matched_last = True
                    continue
                if not matched_last:
                    break
                lines.append(export_line(checkpoint, public_keys.get(checkpoint.signer_key_id)))
            if not matched_last:
                assert last is not None
                raise CheckpointFileError(
                    f"checkpoint {last.checkpoint_no} in {path} is missing from the database "
                    "or differs from it: the database was rolled back or rewritten"
                )
            if lines:
                handle.write(b"".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
            return len(lines)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def export_line(checkpoint: Checkpoint, public_key: bytes | None) -> bytes:
    """One line of an export file or sink (JSON, newline-terminated)."""
    record = checkpoint.to_record(public_key)
    return json.dumps(record, sort_keys=True).encode("utf-8") + b"\n"


def append_to_sink(path: Path, lines: Iterable[bytes]) -> None:
    """Append ``lines`` to an operator's append-only sink, and fsync it.

    The file is opened ``O_WRONLY | O_APPEND`` and never read: it may be an
    append-only file (``chattr +a``), on another mount or another host's
    export, that the signer cannot read back or rewrite. Each call is one
    ``write``, so concurrent writers never interleave within a line.
    """
    data = b"".join(lines)
    if not data:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path} ({written} of {len(data)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)


def send_to_syslog(lines: Iterable[bytes]) -> None:
    """Send each checkpoint line to the local syslog (facility AUTHPRIV)."""
    import syslog

    facility = getattr(syslog, "LOG_AUTHPRIV", syslog.LOG_AUTH)
    syslog.openlog("trent-audit-checkpoint", syslog.LOG_PID, facility)
    for line in lines:
        syslog.syslog(syslog.LOG_NOTICE, line.decode("utf-8").rstrip("\n"))


class CheckpointLock:
    """Who signs checkpoints on this host: whoever holds an exclusive ``flock``
    on ``path`` (``audit-checkpoint.lock`` in the data directory).

    Verifying the events since the last checkpoint costs about 20 µs each, a
    second or two of CPU per minute under load. ``trent serve`` runs a
    checkpointer process that holds the lock for its whole life, so the
    request-serving workers never spend their GIL on it; when no such process
    is alive (another way of serving, or it is restarting), one worker's
    scheduler takes the lock for its round, and the others skip theirs rather
    than verify the same events again. The kernel drops the lock of a process
    that dies.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"CheckpointLock({str(self.path)!r})"

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; ``False`` (at once) if somebody does."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
