"""Is a backup older than what the host has already signed?

The audit checkpoints kept outside the database (the checkpoint file, the
sink, copies the operator took with ``trent audit checkpoint --to``) record
how far the audit log had grown. A backup whose newest checkpoint is older
than the newest of them would bring back a log without the events after it,
which is exactly the rollback those copies exist to expose: ``trent
restore`` refuses it unless told (``--allow-older``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.audit.checkpoints import Checkpoint, read_exported
from app.backup.manifest import Manifest


@dataclass(frozen=True)
class Signed:
    """The newest checkpoint found outside the database, and where."""

    checkpoint: Checkpoint
    source: Path


def newest_signed(paths: Iterable[Path]) -> Signed | None:
    """The checkpoint with the highest number among the files that exist.

    A file that exists but cannot be read raises
    :class:`~app.audit.checkpoints.CheckpointFileError`: it may hold the
    newest checkpoint, and a check that skipped it would pass any backup.
    """
    newest: Signed | None = None
    for path in paths:
        if not path.is_file():
            continue
        found, _problems = read_exported(path)
        for item in found:
            if newest is None or item.checkpoint.checkpoint_no > newest.checkpoint.checkpoint_no:
                newest = Signed(item.checkpoint, path)
    return newest


def why_older(manifest: Manifest, newest: Signed | None) -> str | None:
    """Why the backup is older than (or not part of) the signed history; ``None`` if it is not."""
    if newest is None:
        return None
    number = newest.checkpoint.checkpoint_no
    ours = manifest.newest_checkpoint
    if number > manifest.newest_checkpoint_no:
        lost_from = manifest.audit_head_seq + 1
        lost = (
            f"events {lost_from}..{newest.checkpoint.last_seq}"
            if newest.checkpoint.last_seq >= lost_from
            else "the checkpoints after it"
        )
        return (
            f"the backup is older than checkpoint {number} in {newest.source} "
            f"(events up to {newest.checkpoint.last_seq}); its audit log ends at event "
            f"{manifest.audit_head_seq} (checkpoint {manifest.newest_checkpoint_no}): restoring "
            f"it loses {lost}"
        )
    if ours is not None and number == ours.checkpoint_no:
        if newest.checkpoint.head_hash.hex() != ours.head_hash:
            return (
                f"checkpoint {number} in {newest.source} differs from the backup's: the backup "
                "is not of this host's audit log"
            )
    return None
