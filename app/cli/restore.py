"""``trent restore BACKUP``: put a backup made by ``trent backup`` back on this host.

In order, and nothing is written before the checks pass:

1. the backup: its manifest, the size and SHA-256 of every file, a schema
   this version of Trent knows;
2. this host: no database at the configured path (a restore never
   overwrites one), the root key in place (it is not in the backup), the
   issuer's signing key, if given, the one of the backup's issuer;
3. freshness: a backup older than the newest checkpoint kept outside the
   database (the checkpoint file, the sink, ``--checkpoints`` copies) is
   refused unless ``--allow-older`` (:mod:`app.backup.freshness`);
4. the database is copied beside its target and its audit log verified
   there, under this host's root key and against the checkpoint files it
   will be checked against from now on: a wrong root key or a damaged
   backup stops here, and the copy is removed;
5. then the files are put in place (never over an existing one) and the
   report is printed.

With ``--allow-older``, a checkpoint file holding checkpoints the backup
lacks is renamed (``….superseded-<time>``, never deleted: it is the record
of what was lost) and the backup's takes its place, so that the server can
sign checkpoints again; a sink is never touched, and ``audit verify`` keeps
reporting the lost events from it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import click

from app.audit.checkpoints import CheckpointFileError
from app.audit.log import AuditLog
from app.audit.verify import VerifyReport, verify
from app.backup import manifest as layout
from app.backup.files import PlacementError, copy_new, link_new, make_private_directory
from app.backup.freshness import newest_signed, why_older
from app.backup.manifest import BackupError, Manifest, check_files, read_manifest
from app.cli.audit import show_report
from app.cli.backup import POSTGRES_ADVICE, checkpoint_file
from app.cli.context import settings_or_exit
from app.cli.progress import Progress
from app.config import Settings
from app.crypto.issuer_keys import (
    ISSUER_FILE,
    PUBLIC_KEY_FILE,
    SIGNING_KEY_FILE,
    IssuerKeyError,
    load_issuer_info,
    read_signing_key,
)
from app.crypto.root_key import RootKeyError, RootKeyProvider, load_root_key
from app.errors import KmsError
from app.store.audit.repository import SqlAuditRepository
from app.store.migrate import known_migrations
from app.store.snapshot import SnapshotError, copy_database, open_copy, sqlite_file

#: What a restore of an older backup makes the verifier report, and nothing else:
#: checkpoints outside the database that the restored table does not reach.
ROLLBACK_FINDINGS = frozenset({"truncated", "exported_checkpoint_missing"})
INITIALISED = ".initialised"


@dataclass(frozen=True)
class Plan:
    """What the checks decided: which files to put where."""

    database: Path
    checkpoints: Path
    #: The checkpoint file to rename first (it holds checkpoints the backup lacks).
    supersede: bool
    restore_checkpoints: bool
    restore_sink: bool
    restore_issuer: bool
    signing_key: Path | None


@click.command("restore")
@click.argument("backup", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--allow-older",
    is_flag=True,
    help="Restore a backup older than the newest checkpoint kept outside the database: "
    "the events after the backup are lost (a newer checkpoint file is kept beside the "
    "restored one).",
)
@click.option(
    "--checkpoints",
    "copies",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Another copy of the exported checkpoints (trent audit checkpoint --to) that the "
    "backup must not be older than (repeat).",
)
@click.option(
    "--issuer-signing-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The local issuer's signing key, kept apart from backups (mode 0600): put back "
    "with the issuer after checking it is the backup's issuer's key.",
)
def restore(
    backup: Path, allow_older: bool, copies: tuple[Path, ...], issuer_signing_key: Path | None
) -> None:
    """Restore BACKUP (made by trent backup) onto this host, then verify its audit log.

    The database must not exist (move it aside first) and the root key must
    be in place: it is not in the backup. Exit 1 if anything is refused or
    the audit log does not verify; then nothing is restored. (With
    --allow-older, the events lost since the backup are reported, and do not
    stop it.)
    """
    settings = settings_or_exit()
    if sqlite_file(settings.database) is None:
        raise click.ClickException(POSTGRES_ADVICE)
    try:
        manifest = _checked_backup(backup)
        root_key = _root_key(settings)
        plan = _plan(settings, backup, manifest, allow_older, copies, issuer_signing_key)
        report = _restore(settings, backup, root_key, plan, allow_older)
    except (BackupError, PlacementError, SnapshotError, IssuerKeyError) as exc:
        raise click.ClickException(str(exc)) from None
    except KmsError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    show_report(report)
    if not report.ok:
        click.echo(
            "the restored audit log does not reach the checkpoints above: the events after "
            "the backup are lost (--allow-older)",
            err=True,
        )


def _checked_backup(backup: Path) -> Manifest:
    manifest = read_manifest(backup)
    check_files(backup, manifest)
    unknown = sorted(set(manifest.migrations) - set(known_migrations()))
    if unknown:
        raise BackupError(
            f"the backup's database has migrations this Trent does not know ({', '.join(unknown)})"
            f": it was made by a newer version (trent {manifest.trent_version})"
        )
    return manifest


def _root_key(settings: Settings) -> RootKeyProvider:
    """This host's root key, which must be the one the backup's keys are sealed under."""
    path = settings.root_key_path
    if settings.root_key_provider == "file" and not path.exists():
        # Not `trent init`'s advice: a new root key cannot open this backup.
        raise click.ClickException(
            f"root key: {path} does not exist; put back the root key the backup's keys are "
            "sealed under (it is not in the backup) or point TRENT_ROOT_KEY_FILE at it"
        )
    try:
        return load_root_key(settings)
    except RootKeyError as exc:
        raise click.ClickException(f"root key: {exc}") from None


def _plan(
    settings: Settings,
    backup: Path,
    manifest: Manifest,
    allow_older: bool,
    copies: tuple[Path, ...],
    signing_key: Path | None,
) -> Plan:
    database = sqlite_file(settings.database)
    assert database is not None  # restore() refused any other database
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists():
            raise click.ClickException(
                f"{path} exists: a restore never overwrites a database; move it aside first"
            )
    checkpoints = checkpoint_file(settings)
    sink = settings.audit_checkpoint_sink
    try:
        newest = newest_signed([checkpoints, *([sink] if sink else []), *copies])
        older = why_older(manifest, newest)
        file_older = why_older(manifest, newest_signed([checkpoints]))
    except CheckpointFileError as exc:
        raise click.ClickException(str(exc)) from None
    if older is not None and not allow_older:
        raise click.ClickException(f"{older}; give --allow-older to restore it anyway")
    supersede = file_older is not None
    return Plan(
        database=database,
        checkpoints=checkpoints,
        supersede=supersede,
        restore_checkpoints=layout.CHECKPOINTS in manifest.files
        and (supersede or not checkpoints.exists()),
        restore_sink=sink is not None and layout.SINK in manifest.files and not sink.exists(),
        restore_issuer=_issuer_to_restore(settings, backup, manifest, signing_key),
        signing_key=signing_key,
    )


def _issuer_to_restore(
    settings: Settings, backup: Path, manifest: Manifest, signing_key: Path | None
) -> bool:
    """Whether the backup's issuer is to be put back; checks the signing key given."""
    if manifest.issuer is None:
        if signing_key is not None:
            raise click.ClickException("the backup has no local issuer to give a signing key to")
        return False
    if (settings.issuer_dir / ISSUER_FILE).exists() or (
        settings.issuer_dir / SIGNING_KEY_FILE
    ).exists():
        kept = load_issuer_info(settings.issuer_dir)
        if kept.kid != manifest.issuer["kid"]:
            raise click.ClickException(
                f"this host has another local issuer ({kept.issuer}) than the backup "
                f"({manifest.issuer['issuer']}); move {settings.issuer_dir} aside to restore "
                "the backup's"
            )
        if signing_key is not None and (settings.issuer_dir / SIGNING_KEY_FILE).exists():
            raise click.ClickException(
                f"{settings.issuer_dir / SIGNING_KEY_FILE} exists; it is never overwritten"
            )
        if signing_key is not None:
            read_signing_key(signing_key, kept)
        return False
    if signing_key is not None:
        read_signing_key(signing_key, load_issuer_info(backup / "issuer"))
    return True


def _restore(
    settings: Settings, backup: Path, root_key: RootKeyProvider, plan: Plan, allow_older: bool
) -> VerifyReport:
    make_private_directory(settings.data_dir)
    make_private_directory(plan.database.parent)
    staged = plan.database.with_name(f".{plan.database.name}.{secrets.token_hex(8)}.restoring")
    copy_database(backup / layout.DATABASE, staged, live=False)
    try:
        report = _verify(settings, backup, root_key, staged, plan)
        blocking = [
            f for f in report.findings if f.kind not in ROLLBACK_FINDINGS or not allow_older
        ]
        if blocking or report.findings_omitted:
            show_report(report)
            raise click.ClickException(
                "nothing was restored: the backup's audit log does not verify on this host "
                "(another root key than the backup's, or a damaged backup)"
            )
        placed = _place(settings, backup, plan)
        link_new(staged, plan.database)
    finally:
        staged.unlink(missing_ok=True)
    click.echo(f"database      restored to {plan.database}")
    for line in placed:
        click.echo(line)
    marker = settings.data_dir / INITIALISED
    if not marker.exists():
        marker.write_text("1\n", encoding="utf-8")
    return report


def _verify(
    settings: Settings, backup: Path, root_key: RootKeyProvider, staged: Path, plan: Plan
) -> VerifyReport:
    """Verify the staged database as ``trent audit verify`` will see it once in place."""
    checkpoints = backup / layout.CHECKPOINTS if plan.restore_checkpoints else plan.checkpoints
    store = open_copy(staged)
    try:
        with store.connection(), Progress("verified") as progress:
            log = AuditLog(
                root_key, settings, SqlAuditRepository(store), checkpoint_file=checkpoints
            )
            return verify(
                log,
                exported_checkpoints=backup / layout.SINK if plan.restore_sink else None,
                progress=progress.update,
            )
    finally:
        store.close()


def _place(settings: Settings, backup: Path, plan: Plan) -> list[str]:
    """The files besides the database, each only where none is; what was done."""
    done: list[str] = []
    if plan.supersede:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = plan.checkpoints.with_name(f"{plan.checkpoints.name}.superseded-{stamp}")
        link_new(plan.checkpoints, aside)
        plan.checkpoints.unlink()
        done.append(f"checkpoints   {plan.checkpoints} moved to {aside} (newer than the backup)")
    if plan.restore_checkpoints:
        make_private_directory(plan.checkpoints.parent)
        copy_new(backup / layout.CHECKPOINTS, plan.checkpoints, 0o644)
        done.append(f"checkpoints   restored to {plan.checkpoints}")
    if plan.restore_sink and settings.audit_checkpoint_sink is not None:
        copy_new(backup / layout.SINK, settings.audit_checkpoint_sink, 0o640)
        done.append(f"sink          restored to {settings.audit_checkpoint_sink}")
    issuer = settings.issuer_dir
    if plan.restore_issuer:
        make_private_directory(issuer)
        copy_new(backup / layout.ISSUER_PUBLIC_KEY, issuer / PUBLIC_KEY_FILE, 0o644)
        copy_new(backup / layout.ISSUER_INFO, issuer / ISSUER_FILE, 0o644)
        done.append(f"token issuer  public key restored to {issuer}")
    if plan.signing_key is not None:
        copy_new(plan.signing_key, issuer / SIGNING_KEY_FILE, 0o600)
        done.append(f"token issuer  signing key restored to {issuer / SIGNING_KEY_FILE}")
    elif plan.restore_issuer:
        click.echo(
            f"the issuer's signing key is not in the backup: put it back at "
            f"{issuer / SIGNING_KEY_FILE} (mode 0600) or give --issuer-signing-key; until "
            "then trent serve and trent token issue refuse to start with the local issuer",
            err=True,
        )
    return done


COMMANDS = (restore,)
