"""``trent audit``: search, export, verify, follow and checkpoint the audit log.

These commands work on the database directly (the same ``TRENT_*`` settings
as the server) and see every account's events unless ``--account`` narrows
them: they are for operators and auditors on the server's host. Each exits
non-zero on failure; ``verify`` exits 1 when it finds anything at all.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from app.audit import query
from app.audit.checkpoints import CheckpointFileError
from app.audit.log import AuditLog
from app.audit.verify import AuditIntegrityError, VerifyReport, verify
from app.cli.audit_filters import audit_query, filter_options
from app.cli.context import database_or_exit, settings_or_exit
from app.cli.progress import Progress, stderr_is_terminal
from app.crypto.root_key import RootKeyError, load_root_key
from app.errors import KmsError
from app.store.audit.repository import SqlAuditRepository
from app.store.database import Store


@contextmanager
def _audit_store() -> Iterator[tuple[AuditLog, Store]]:
    """The audit log of the configured database and that database, with a connection held."""
    settings = settings_or_exit()
    try:
        root_key = load_root_key(settings)
    except RootKeyError as exc:
        raise click.ClickException(f"root key: {exc}") from None
    try:
        with database_or_exit(settings) as store:
            yield (
                AuditLog(
                    root_key,
                    settings,
                    SqlAuditRepository(store),
                    checkpoint_file=settings.audit_checkpoint_file,
                ),
                store,
            )
    except KmsError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None


@contextmanager
def _audit_log() -> Iterator[AuditLog]:
    """The audit log of the configured database, with a connection held."""
    with _audit_store() as (log, _):
        yield log


@click.group("audit")
def audit() -> None:
    """Search, export, verify, follow and checkpoint the audit log."""


@audit.command()
@filter_options
@click.option("--limit", type=click.IntRange(1, query.MAX_LIMIT), default=query.DEFAULT_LIMIT)
@click.option("--cursor", help="Continue after a previous page (its printed next cursor).")
def search(limit: int, cursor: str | None, **options: Any) -> None:
    """Print matching events, newest first, one JSON object per line.

    Times in the events are UTC ISO 8601, as ``export`` writes them.
    """
    with _audit_store() as (log, store):
        page = query.search(
            log.repository,
            audit_query(options, store, log.settings),
            account=options["account"],
            limit=limit,
            cursor=cursor,
        )
    for event in page.events:
        click.echo(json.dumps(event, sort_keys=True))
    if page.next_cursor:
        click.echo(f"next cursor: {page.next_cursor}", err=True)


@audit.command()
@filter_options
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
def export(output: Path | None, **options: Any) -> None:
    """Export matching events, oldest first, as CloudTrail-like JSON Lines.

    On a terminal, the count exported so far is shown on stderr (unless the
    events themselves go to that terminal).
    """
    shown = stderr_is_terminal() and (output is not None or not sys.stdout.isatty())
    with _audit_store() as (log, store):
        lines = query.export_records(
            log.repository,
            audit_query(options, store, log.settings),
            account=options["account"],
            region=log.settings.region,
        )
        count = 0
        with (
            click.open_file(str(output) if output else "-", "w", encoding="utf-8") as handle,
            Progress("exported", enabled=shown) as progress,
        ):
            for line in lines:
                handle.write(line)
                count += 1
                progress.update(count)
    if output:
        click.echo(f"exported {count} events to {output}", err=True)


@audit.command(name="verify")
@click.option(
    "--checkpoints",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Another copy of the exported checkpoints, read besides the server's "
    "checkpoint file and sink.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(checkpoints: Path | None, as_json: bool) -> None:
    """Verify the hash chain, MACs, columns and checkpoints; exit 1 on any finding.

    The checkpoints kept outside the database are read from the file given,
    and always from the server's checkpoint file and sink too: the table
    must reach the newest checkpoint found in any of them. On a terminal,
    the events checked so far are shown on stderr.
    """
    with _audit_log() as log, Progress("verified") as progress:
        report = verify(log, exported_checkpoints=checkpoints, progress=progress.update)
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True, indent=2))
    else:
        show_report(report)
    if not report.ok:
        sys.exit(1)


def show_report(report: VerifyReport) -> None:
    """The verifier's report as ``trent audit verify`` prints it."""
    sources = report.checkpoint_sources
    click.echo(
        f"events checked: {report.events_checked} (head {report.head_seq}); "
        f"checkpoints: {report.checkpoints_checked} stored, "
        f"{report.exported_checkpoints_checked} exported"
        + (f" (from {', '.join(sources)})" if sources else " (no checkpoint file found)")
    )
    for finding in report.findings:
        where = f"seq {finding.seq}" if finding.seq is not None else "-"
        click.echo(f"  {finding.kind:<32} {where:<14} {finding.detail}")
    if report.findings_omitted:
        click.echo(f"  … and {report.findings_omitted} more findings")
    if report.ok:
        click.echo("OK: the audit log verifies")
    else:
        click.echo(f"FAILED: first bad sequence number {report.first_bad_seq}")


@audit.command()
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many events.")
@click.option("--seconds", type=click.FloatRange(min=0), help="Stop after this long.")
@click.option("--interval", type=click.FloatRange(0.01, 60), default=0.5, show_default=True)
@click.option("--from-seq", type=click.IntRange(min=0), help="Start after this seq (default: now).")
@click.option("--account", help="Only events of this account's principals or keys.")
def tail(
    count: int | None,
    seconds: float | None,
    interval: float,
    from_seq: int | None,
    account: str | None,
) -> None:
    """Print new events as they are appended, one JSON object per line."""
    if count is None and seconds is None:
        raise click.UsageError("give --count and/or --seconds so that tail ends")
    deadline = None if seconds is None else time.monotonic() + seconds
    printed = 0
    with _audit_log() as log:
        after = query.last_seq(log.repository) if from_seq is None else from_seq
        while count is None or printed < count:
            batch = query.events_after(log.repository, after, account=account, limit=100)
            for event in batch:
                click.echo(json.dumps(event, sort_keys=True))
                printed += 1
                after = int(event["seq"])
                if count is not None and printed >= count:
                    return
            if deadline is not None and time.monotonic() >= deadline:
                return
            if not batch:
                time.sleep(interval)


@audit.command()
@click.option(
    "--to",
    "to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append every checkpoint not yet in FILE to FILE (JSON Lines).",
)
def checkpoint(to: Path | None) -> None:
    """Sign a checkpoint over the events since the last one, and export it."""
    with _audit_log() as log:
        try:
            written = log.checkpoint()
            exported = log.export_checkpoints(to) if to else 0
        except AuditIntegrityError as exc:
            raise click.ClickException(f"not signed: the chain does not verify: {exc}") from None
        except CheckpointFileError as exc:
            raise click.ClickException(str(exc)) from None
        latest = log.latest_checkpoint()
    if written is not None:
        click.echo(
            f"checkpoint {written.checkpoint_no}: events {written.first_seq}..{written.last_seq}"
            f", head {written.head_hash.hex()}"
        )
    elif latest is not None:
        click.echo(f"no new events since checkpoint {latest.checkpoint_no}")
    else:
        click.echo("no events to checkpoint")
    if to:
        click.echo(f"exported {exported} new checkpoint(s) to {to}")


COMMANDS = (audit,)
