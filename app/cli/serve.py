"""``trent serve``: checks that the service can start, then runs gunicorn with
the audit writer and checkpointer processes beside it (:mod:`app.cli.supervisor`)."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli.context import database_or_exit, safe_url, settings_or_exit
from app.cli.supervisor import ChildSupervisor
from app.config import Settings

if TYPE_CHECKING:
    from app.store.database import Store


@click.command()
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Worker processes.")
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=None,
    help="No effect: each connection is a greenlet of its worker (kept for old scripts).",
)
@click.option("--bind", default=None, help="HOST:PORT (default TRENT_BIND or 127.0.0.1:8080).")
@click.option("--banner", is_flag=True, help="Print how to get a token and call the server.")
def serve(workers: int | None, threads: int | None, bind: str | None, banner: bool) -> None:
    """Serve the API with gunicorn and Trent's gevent worker (never the Flask
    development server); see app.serving."""
    from app.crypto.root_key import RootKeyUnavailable, load_root_key
    from app.store.migrate import pending_migrations

    settings = settings_or_exit()
    try:
        load_root_key(settings)
    except RootKeyUnavailable as exc:
        raise click.ClickException(f"root key: {exc}") from None
    with database_or_exit(settings) as store:
        pending = pending_migrations(store)
        settings = _pin_database_identity(settings)
        if pending:
            raise click.ClickException(
                f"{len(pending)} migration(s) pending ({', '.join(pending)}): run `trent migrate`"
            )
        _warn_of_stale_policies(settings, store)
    if threads is not None:
        click.echo("trent: --threads has no effect: each connection is a greenlet", err=True)
    address = bind or settings.bind
    _refuse_if_taken(address)
    if banner:
        _print_banner(address, settings)
    _start_logs_and_metrics(settings)
    supervisors = []
    if settings.audit_writer == "process":
        from app.audit.writer_service import socket_path_fits

        if socket_path_fits(settings.audit_writer_socket):
            supervisors.append(
                ChildSupervisor(
                    "audit-writer",
                    heartbeat=_writer_heartbeat(settings),
                    heartbeat_seconds=settings.audit_writer_heartbeat_seconds,
                )
            )
        else:
            click.echo(
                f"trent: {settings.audit_writer_socket} is too long for a Unix socket; "
                "no audit writer process: each worker group-commits its own events",
                err=True,
            )
    if settings.scheduler_interval_seconds > 0:
        supervisors.append(ChildSupervisor("audit-checkpointer"))
    for supervisor in supervisors:
        supervisor.start()
    try:
        _run_gunicorn(address, workers or settings.workers, settings)
    finally:
        for supervisor in supervisors:
            supervisor.begin_stop()
        for supervisor in supervisors:
            supervisor.wait_stopped()


def _start_logs_and_metrics(settings: Settings) -> None:
    """Before any worker or helper starts (they inherit both): the ``trent``
    loggers write to stderr (app.logs), and, unless TRENT_METRICS is off,
    every process shares its metric values (app.metrics.multiprocess)."""
    from app.logs import configure
    from app.metrics import multiprocess

    configure(settings.log_format, settings.log_level)
    if settings.metrics != "off":
        multiprocess.enable(settings.metrics_dir)


def _pin_database_identity(settings: Settings) -> Settings:
    """Record the SQLite file this server starts with (device and inode) in
    ``TRENT_DATABASE_IDENTITY`` for every process it starts (workers, helpers,
    and their replacements): each refuses any other file at that path."""
    import dataclasses

    from app.store.sqlite import file_identity

    if not settings.database.startswith("sqlite:///"):
        return settings
    device, inode = file_identity(settings.database[len("sqlite:///") :])
    identity = f"{device}:{inode}"
    if settings.database_identity and settings.database_identity != identity:
        raise click.ClickException(
            "database: the file is not the one TRENT_DATABASE_IDENTITY names"
        )
    os.environ["TRENT_DATABASE_IDENTITY"] = identity
    return dataclasses.replace(settings, database_identity=identity)


def _writer_heartbeat(settings: Settings) -> Callable[[], bool | None]:
    from app.audit.writer_service import ping

    return lambda: ping(settings.audit_writer_socket, settings.audit_writer_heartbeat_seconds)


#: How many stale policies ``serve`` names at start (the rest are counted).
STALE_POLICIES_SHOWN = 20


def _warn_of_stale_policies(settings: Settings, store: Store) -> None:
    """Name the stored policies that a write would now refuse: a misspelt
    condition key in one of them never matches, so a Deny that uses it does
    not apply (they are enforced as stored, so that no key is locked out)."""
    from app.operations.policy_documents import stored_documents_refused_now
    from app.store.identity_policies import SqlIdentityPolicyRepository
    from app.store.keys import SqlKeyRepository

    stale = stored_documents_refused_now(
        SqlKeyRepository(store), SqlIdentityPolicyRepository(store), settings.partition
    )
    for document in stale[:STALE_POLICIES_SHOWN]:
        click.echo(
            f"trent: warning: the {document.where} would be refused if written today: "
            f"{document.problem}; it is enforced as stored, where a misspelt name never "
            "matches: rewrite it",
            err=True,
        )
    if len(stale) > STALE_POLICIES_SHOWN:
        click.echo(
            f"trent: warning: and {len(stale) - STALE_POLICIES_SHOWN} more stored policies "
            "like these",
            err=True,
        )


def _refuse_if_taken(address: str) -> None:
    """Stop unless ``address`` is free. The workers bind it with SO_REUSEPORT,
    which would let a second server of the same user share the port (and its
    clients) silently; a plain bind fails if anything listens there."""
    import socket

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # gunicorn reports a malformed address itself
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {address}: {exc.strerror}") from None


def _print_banner(address: str, settings: Settings) -> None:
    trent = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "trent"
    trent = ".venv/bin/trent" if Path(".venv/bin/trent").exists() else trent
    url = f"http://{address}"
    # A second shell has neither variable: `trent token issue` finds the
    # issuer's keys through TRENT_DATA_DIR, client commands the server through TRENT_URL.
    click.echo(
        f"""
Trent is starting on {url}  (data: {settings.data_dir}, database: {safe_url(settings)})

In a second shell, from this directory (the README's tour starts the same way):

  export TRENT_DATA_DIR={shlex.quote(str(settings.data_dir))} TRENT_URL={url}
  export TRENT_TOKEN=$({trent} token issue --account 111122223333 --user alice)
  curl -s -H "Authorization: Bearer $TRENT_TOKEN" $TRENT_URL/v1/whoami

Stop the server with Ctrl-C.
"""
    )


def _run_gunicorn(address: str, workers: int, settings: Settings) -> None:
    from gunicorn.app.base import BaseApplication

    from app.serving.options import gunicorn_options

    class TrentServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(address, workers, settings).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from app import create_app

            return create_app(settings)

    TrentServer().run()


COMMANDS = (serve,)
