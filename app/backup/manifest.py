"""``manifest.json``: what a backup holds, and the check that it still does.

The manifest names every file of the backup with its size and SHA-256; a
backup whose files differ from it (damaged, cut short, edited) is refused
before anything is restored. File names are fixed (``FILES``): a manifest
cannot name a path outside the backup.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "trent-backup/v1"
MANIFEST = "manifest.json"
DATABASE = "trent.db"
CHECKPOINTS = "audit-checkpoints.jsonl"
SINK = "audit-checkpoint-sink.jsonl"
ISSUER_INFO = "issuer/issuer.json"
ISSUER_PUBLIC_KEY = "issuer/public_key.pem"
#: Every file a backup may hold besides its manifest.
FILES = (DATABASE, CHECKPOINTS, SINK, ISSUER_INFO, ISSUER_PUBLIC_KEY)
ROOT_KEY_NOTE = (
    "not in the backup: it unseals every key's material, so it is kept apart "
    "from the database and its copies (see docs/operators.md)"
)
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup cannot be written, read or trusted; the message says which file and why."""


@dataclass(frozen=True)
class NewestCheckpoint:
    checkpoint_no: int
    last_seq: int
    head_hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpointNo": self.checkpoint_no,
            "lastSeq": self.last_seq,
            "headHash": self.head_hash,
        }


@dataclass(frozen=True)
class Manifest:
    created_at: int
    trent_version: str
    sqlite_version: str
    migrations: tuple[str, ...]
    audit_head_seq: int
    newest_checkpoint: NewestCheckpoint | None
    #: ``{"issuer": …, "kid": …}`` of the local issuer, when the host has one.
    issuer: dict[str, str] | None
    #: File name → ``{"bytes": …, "sha256": …}``.
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def newest_checkpoint_no(self) -> int:
        return self.newest_checkpoint.checkpoint_no if self.newest_checkpoint else 0

    def as_dict(self) -> dict[str, Any]:
        newest = self.newest_checkpoint.as_dict() if self.newest_checkpoint else None
        return {
            "format": FORMAT,
            "createdAt": self.created_at,
            "trentVersion": self.trent_version,
            "sqliteVersion": self.sqlite_version,
            "database": {"kind": "sqlite", "file": DATABASE, "migrations": list(self.migrations)},
            "audit": {"headSeq": self.audit_head_seq, "newestCheckpoint": newest},
            "issuer": self.issuer,
            "rootKey": ROOT_KEY_NOTE,
            "files": self.files,
        }


def describe_file(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Write the manifest last, durably: a backup without one is unfinished."""
    path = directory / MANIFEST
    data = (json.dumps(manifest.as_dict(), indent=2, sort_keys=True) + "\n").encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_manifest(directory: Path) -> Manifest:
    """The manifest of the backup in ``directory``, checked for shape (not yet the files)."""
    path = directory / MANIFEST
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path} does not exist: {directory} is not a finished backup") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BackupError(f"{path} is unreadable: {exc}") from None
    try:
        return _parse(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupError(f"{path} is not a {FORMAT} manifest: {exc}") from None


def _parse(document: Any) -> Manifest:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"its format is not {FORMAT!r}")
    database, audit = document["database"], document["audit"]
    if database.get("kind") != "sqlite":
        raise ValueError("it is not a backup of an SQLite database")
    newest = audit["newestCheckpoint"]
    files = document["files"]
    if not isinstance(files, dict) or DATABASE not in files:
        raise ValueError("it lists no database file")
    for name, facts in files.items():
        if name not in FILES:
            raise ValueError(f"it names an unknown file {name!r}")
        if not isinstance(facts, dict) or not isinstance(facts.get("sha256"), str):
            raise ValueError(f"the SHA-256 of {name} is missing")
        _integer(facts.get("bytes"))
    issuer = document["issuer"]
    return Manifest(
        created_at=_integer(document["createdAt"]),
        trent_version=str(document["trentVersion"]),
        sqlite_version=str(document["sqliteVersion"]),
        migrations=tuple(str(name) for name in database["migrations"]),
        audit_head_seq=_integer(audit["headSeq"]),
        newest_checkpoint=None
        if newest is None
        else NewestCheckpoint(
            _integer(newest["checkpointNo"]), _integer(newest["lastSeq"]), str(newest["headHash"])
        ),
        issuer=None
        if issuer is None
        else {"issuer": str(issuer["issuer"]), "kid": str(issuer["kid"])},
        files=files,
    )


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def check_files(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest lists is there with its size and SHA-256, and
    the backup holds no file the manifest does not list."""
    for name, facts in manifest.files.items():
        path = directory / name
        try:
            found = describe_file(path)
        except OSError as exc:
            raise BackupError(f"{path}: {exc.strerror or exc}") from None
        if found != {"bytes": facts["bytes"], "sha256": facts["sha256"]}:
            raise BackupError(
                f"{path} differs from the manifest (size or SHA-256): the backup is damaged"
            )
    for name in FILES:
        if name not in manifest.files and (directory / name).exists():
            raise BackupError(f"{directory / name} is not in the manifest")
