"""``trent backup DESTINATION``: an online, consistent copy of this host's state.

What a backup holds and why the root key is not in it: :mod:`app.backup`.
The server may keep running: the database is copied with SQLite's backup
API in one read transaction, and the checkpoint files are copied *before*
it, so every checkpoint they hold was committed before the copy began and
is in it (a checkpoint is committed, then written to the files).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from importlib.metadata import version
from pathlib import Path

import click

from app.audit.log import CHECKPOINT_FILE_NAME
from app.backup import manifest as layout
from app.backup.files import PlacementError, copy_new, make_private_directory
from app.backup.manifest import BackupError, Manifest, NewestCheckpoint
from app.cli.context import settings_or_exit
from app.config import Settings
from app.crypto.issuer_keys import (
    ISSUER_FILE,
    PUBLIC_KEY_FILE,
    SIGNING_KEY_FILE,
    IssuerKeyError,
    load_issuer_info,
)
from app.errors import KmsError
from app.store.audit.repository import SqlAuditRepository
from app.store.snapshot import (
    SnapshotError,
    applied_migrations,
    copy_database,
    open_copy,
    sqlite_file,
)

POSTGRES_ADVICE = (
    "trent backup and trent restore copy SQLite databases; back up PostgreSQL with "
    "pg_dump and restore it with pg_restore (docs/operators.md, 'Backup and restore')"
)


def checkpoint_file(settings: Settings) -> Path:
    """Where the server appends its checkpoints (as :class:`~app.audit.log.AuditLog` does)."""
    return settings.audit_checkpoint_file or settings.data_dir / CHECKPOINT_FILE_NAME


@click.command("backup")
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
def backup(destination: Path) -> None:
    """Back up this host into DESTINATION, a new or empty directory.

    Copies the SQLite database (online and consistent: the server may keep
    serving), the audit checkpoint file and sink, and the local token
    issuer's public key, and writes manifest.json (versions, time, the audit
    log's head and newest checkpoint, the SHA-256 of each file). The root
    key and the issuer's signing key are not copied: keep them apart, as
    secrets (docs/operators.md).
    """
    settings = settings_or_exit()
    database = sqlite_file(settings.database)
    if database is None:
        raise click.ClickException(POSTGRES_ADVICE)
    if not database.is_file():
        raise click.ClickException(f"database: {database} does not exist")
    created = _claim(destination)
    try:
        manifest = _write_backup(settings, database, destination)
    except (BackupError, PlacementError, SnapshotError, IssuerKeyError) as exc:
        _discard(destination, created)
        raise click.ClickException(str(exc)) from None
    except KmsError as exc:
        _discard(destination, created)
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    except BaseException:
        _discard(destination, created)
        raise
    _report(destination, manifest, settings)


def _claim(destination: Path) -> bool:
    """Make sure ``destination`` is a new or empty directory; whether it was made here."""
    if destination.exists():
        if not destination.is_dir() or any(destination.iterdir()):
            raise click.ClickException(f"{destination} is not an empty directory")
        return False
    try:
        make_private_directory(destination)
    except PlacementError as exc:
        raise click.ClickException(str(exc)) from None
    return True


def _discard(destination: Path, created: bool) -> None:
    """Remove an unfinished backup: the directory if it was made here, else its contents."""
    if created:
        shutil.rmtree(destination, ignore_errors=True)
        return
    for entry in destination.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _write_backup(settings: Settings, database: Path, destination: Path) -> Manifest:
    names: list[str] = []
    # The checkpoint copies first, the database after (see the module docstring).
    for source, name in (
        (checkpoint_file(settings), layout.CHECKPOINTS),
        (settings.audit_checkpoint_sink, layout.SINK),
    ):
        if source is None or not source.is_file():
            continue
        if name == layout.SINK and not os.access(source, os.R_OK):
            # A sink may be deliberately unreadable to the service's user.
            click.echo(f"the sink {source} is not readable here; it is not in the backup", err=True)
            continue
        copy_new(source, destination / name, 0o600, complete_lines=True)
        names.append(name)
    issuer = None
    if (settings.issuer_dir / ISSUER_FILE).exists():
        info = load_issuer_info(settings.issuer_dir)
        issuer = {"issuer": info.issuer, "kid": info.kid}
        make_private_directory(destination / "issuer")
        for name, file in (
            (layout.ISSUER_INFO, ISSUER_FILE),
            (layout.ISSUER_PUBLIC_KEY, PUBLIC_KEY_FILE),
        ):
            copy_new(settings.issuer_dir / file, destination / name, 0o644)
            names.append(name)
    copy_database(database, destination / layout.DATABASE)
    names.append(layout.DATABASE)
    manifest = _describe(destination, names, issuer)
    layout.write_manifest(destination, manifest)
    return manifest


def _describe(destination: Path, names: list[str], issuer: dict[str, str] | None) -> Manifest:
    """The manifest of the files written, with the facts read from the copy itself."""
    store = open_copy(destination / layout.DATABASE)
    try:
        with store.connection():
            migrations = applied_migrations(store)
            repository = SqlAuditRepository(store)
            head = repository.read_head()
            newest = repository.latest_checkpoint()
    finally:
        store.close()
    return Manifest(
        created_at=int(time.time()),
        trent_version=version("trent"),
        sqlite_version=sqlite3.sqlite_version,
        migrations=tuple(migrations),
        audit_head_seq=head.last_seq if head is not None else 0,
        newest_checkpoint=None
        if newest is None
        else NewestCheckpoint(newest.checkpoint_no, newest.last_seq, newest.head_hash.hex()),
        issuer=issuer,
        files={name: layout.describe_file(destination / name) for name in sorted(names)},
    )


def _report(destination: Path, manifest: Manifest, settings: Settings) -> None:
    database = manifest.files[layout.DATABASE]
    checkpoint = manifest.newest_checkpoint_no
    click.echo(
        f"database      {layout.DATABASE} ({database['bytes']:,} bytes; audit log up to "
        f"event {manifest.audit_head_seq}, checkpoint {checkpoint})"
    )
    for name in (layout.CHECKPOINTS, layout.SINK):
        if name in manifest.files:
            click.echo(f"checkpoints   {name} ({manifest.files[name]['bytes']:,} bytes)")
    if manifest.issuer is not None:
        click.echo(f"token issuer  {manifest.issuer['issuer']} (public key only)")
    click.echo(f"backup written to {destination} ({layout.MANIFEST})")
    if settings.root_key_provider == "file":
        where = f"the root key ({settings.root_key_path})"
    elif settings.root_key_provider == "pkcs11":
        where = (
            f"the root key (in PKCS#11 token {settings.pkcs11_token_label!r}, label "
            f"{settings.pkcs11_key_label!r}: back the token up with its own tools)"
        )
    else:
        where = "the root key (TRENT_ROOT_KEY)"
    click.echo(
        f"not in it: {where} and the issuer's signing key "
        f"({settings.issuer_dir / SIGNING_KEY_FILE}); keep copies of them apart from backups",
        err=True,
    )
    stores = _custom_key_stores(destination / layout.DATABASE)
    if stores:
        click.echo(
            f"not in it either: the key material of {stores} custom key "
            "store(s), which never leaves their tokens (back those tokens up with their own "
            "tools)",
            err=True,
        )


def _custom_key_stores(database: Path) -> int:
    """How many custom key stores the backed-up database names (0 if none, or
    if it predates them). Read as immutable: no lock or -shm file is left in
    the backup."""
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True)
        ) as db:
            return int(db.execute("SELECT count(*) FROM custom_key_store").fetchone()[0])
    except sqlite3.Error:
        return 0


COMMANDS = (backup,)
