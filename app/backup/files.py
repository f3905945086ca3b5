"""Writing the files of a backup and of a restore: never over an existing
file, never half a file at a path, and durable before anyone is told.

Each file is written under a temporary name beside its target, fsynced, and
then hard-linked to the target, which fails if a file is there already
(``os.replace`` would silently overwrite one), and the directory is fsynced.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from pathlib import Path

_CHUNK = 1 << 20


class PlacementError(Exception):
    """A file cannot be read or written where it must go; the message names it."""


def make_private_directory(path: Path) -> None:
    """``path`` and its missing parents, ``path`` itself with mode 0700."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise PlacementError(f"cannot create {path}: {exc.strerror}") from None


def copy_new(source: Path, target: Path, mode: int, *, complete_lines: bool = False) -> int:
    """Copy ``source`` to the new file ``target``; returns the bytes written.

    ``complete_lines``: the source is a JSON Lines file another process may
    be appending to. It is read under a shared ``flock`` (the checkpoint
    file's writers hold an exclusive one) and a last line without its
    newline, a write still under way, is left out.
    """
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    try:
        reader = source.open("rb")
    except OSError as exc:
        raise PlacementError(f"cannot read {source}: {exc.strerror}") from None
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        descriptor = os.open(temporary, flags, mode)
    except OSError as exc:
        reader.close()
        raise PlacementError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with reader, os.fdopen(descriptor, "wb") as writer:
            if complete_lines:
                fcntl.flock(reader.fileno(), fcntl.LOCK_SH)
            written = kept = 0
            while chunk := reader.read(_CHUNK):
                writer.write(chunk)
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    kept = written + newline + 1
                written += len(chunk)
            if complete_lines and kept != written:
                writer.truncate(kept)
                written = kept
            writer.flush()
            os.fchmod(writer.fileno(), mode)
            os.fsync(writer.fileno())
        link_new(temporary, target)
        return written
    except OSError as exc:
        raise PlacementError(f"cannot copy {source} to {target}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def link_new(source: Path, target: Path) -> None:
    """Give the file ``source`` the name ``target`` too (same directory), unless
    ``target`` exists, and make the new name durable."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise PlacementError(f"{target} exists already; it is never overwritten") from None
    fsync_directory(target.parent)


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
