"""The backup manifest, the freshness rule and the file placement of backups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.audit.checkpoints import Checkpoint
from app.backup.files import PlacementError, copy_new
from app.backup.freshness import Signed, why_older
from app.backup.manifest import (
    BackupError,
    Manifest,
    NewestCheckpoint,
    check_files,
    describe_file,
    read_manifest,
    write_manifest,
)


def manifest(files: dict[str, Any], head: int = 10, newest: int | None = 2) -> Manifest:
    return Manifest(
        created_at=1,
        trent_version="0.1.0",
        sqlite_version="3",
        migrations=("0001_initial",),
        audit_head_seq=head,
        newest_checkpoint=None if newest is None else NewestCheckpoint(newest, 8, "ab" * 32),
        issuer=None,
        files=files,
    )


def checkpoint(number: int, last_seq: int, head_hash: bytes = b"\xab" * 32) -> Checkpoint:
    return Checkpoint(number, 1, last_seq, head_hash, b"\0" * 32, 0, "ed25519:x", b"s")


def test_a_manifest_reads_back_and_its_files_are_checked(tmp_path: Path) -> None:
    (tmp_path / "trent.db").write_bytes(b"database")
    written = manifest({"trent.db": describe_file(tmp_path / "trent.db")})
    write_manifest(tmp_path, written)
    assert read_manifest(tmp_path) == written
    check_files(tmp_path, written)
    (tmp_path / "trent.db").write_bytes(b"databasE")
    with pytest.raises(BackupError, match="differs from the manifest"):
        check_files(tmp_path, written)
    (tmp_path / "trent.db").write_bytes(b"database")
    (tmp_path / "audit-checkpoints.jsonl").write_text("{}\n")
    with pytest.raises(BackupError, match="not in the manifest"):
        check_files(tmp_path, written)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(format="other/v9"), "format"),
        (lambda d: d["files"].update({"../root.key": {"bytes": 1, "sha256": "x"}}), "unknown file"),
        (lambda d: d["files"].pop("trent.db"), "no database file"),
        (lambda d: d["files"]["trent.db"].pop("sha256"), "SHA-256"),
        (lambda d: d["audit"].update(headSeq=-1), "not a count"),
        (lambda d: d["database"].update(kind="postgresql"), "SQLite"),
        (lambda d: d.pop("issuer"), "issuer"),
    ],
)
def test_a_malformed_manifest_is_refused(tmp_path: Path, change: Any, reason: str) -> None:
    document = manifest({"trent.db": {"bytes": 1, "sha256": "00"}}).as_dict()
    change(document)
    (tmp_path / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(BackupError, match=reason):
        read_manifest(tmp_path)


def test_a_backup_is_older_when_a_newer_checkpoint_was_signed() -> None:
    backup = manifest({}, head=10, newest=2)
    assert why_older(backup, None) is None
    assert why_older(backup, Signed(checkpoint(1, 5), Path("f"))) is None
    assert why_older(backup, Signed(checkpoint(2, 8), Path("f"))) is None
    older = why_older(backup, Signed(checkpoint(3, 15), Path("f")))
    assert older is not None and "loses events 11..15" in older
    signed_after = why_older(backup, Signed(checkpoint(3, 10), Path("f")))
    assert signed_after is not None and "the checkpoints after it" in signed_after
    other = why_older(backup, Signed(checkpoint(2, 8, b"\xcd" * 32), Path("f")))
    assert other is not None and "not of this host's audit log" in other
    never_checkpointed = manifest({}, head=3, newest=None)
    assert why_older(never_checkpointed, Signed(checkpoint(1, 2), Path("f"))) is not None


def test_copy_new_never_overwrites_and_keeps_only_complete_lines(tmp_path: Path) -> None:
    source = tmp_path / "checkpoints.jsonl"
    source.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    assert copy_new(source, tmp_path / "copy.jsonl", 0o600, complete_lines=True) == 18
    assert (tmp_path / "copy.jsonl").read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert (tmp_path / "copy.jsonl").stat().st_mode & 0o777 == 0o600
    with pytest.raises(PlacementError, match="never overwritten"):
        copy_new(source, tmp_path / "copy.jsonl", 0o600)
    assert (tmp_path / "copy.jsonl").read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert copy_new(source, tmp_path / "whole", 0o644) == source.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoints.jsonl",
        "copy.jsonl",
        "whole",
    ]
