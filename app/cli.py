"""The ``trent`` command.

Server-side commands (``init``, ``migrate``, ``serve``, ``token issue``) read
the same ``TRENT_*`` settings as the server; every command has ``--help`` and
exits non-zero on failure with a one-line reason on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli_context import database_or_exit, safe_url, settings_or_exit
from app.config import ConfigError, Settings

if TYPE_CHECKING:
    import subprocess

    from app.audit.log import AuditLog


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trent")
def main() -> None:
    """Trent: a self-hosted key management service modelled on AWS KMS."""


@main.command()
@click.option("--if-new", is_flag=True, help="Do nothing if the data directory is initialised.")
def init(if_new: bool) -> None:
    """Create the data directory, the root key, the local token issuer and the schema."""
    from app.auth.local_issuer import LocalIssuer
    from app.crypto.issuer_keys import create_issuer_key
    from app.crypto.root_key import FileRootKeyProvider
    from app.store.migrate import apply_migrations

    settings = settings_or_exit()
    data_dir = settings.data_dir
    marker = data_dir / ".initialised"
    if marker.exists():
        if if_new:
            return
        raise click.ClickException(f"{data_dir} is already initialised")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    if settings.root_key_provider == "file" and not settings.root_key_path.exists():
        FileRootKeyProvider.create(settings.root_key_path)
        click.echo(f"created root key      {settings.root_key_path} (mode 0600)")
    if not (settings.issuer_dir / "issuer.json").exists():
        settings.issuer_dir.mkdir(mode=0o700, exist_ok=True)
        create_issuer_key(settings.issuer_dir)
        issuer = LocalIssuer.load(settings)
        click.echo(f"created local issuer  {issuer.issuer}")
    with database_or_exit(settings, create=True):
        applied = apply_migrations()
    click.echo(f"database ready        {safe_url(settings)} ({len(applied)} migrations applied)")
    marker.write_text("1\n", encoding="utf-8")


@main.command()
def migrate() -> None:
    """Apply pending schema migrations."""
    from app.store.migrate import apply_migrations

    settings = settings_or_exit()
    with database_or_exit(settings):
        applied = apply_migrations()
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("schema is up to date")


@main.command()
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Worker processes.")
@click.option("--threads", type=click.IntRange(1, 64), default=None, help="Threads per worker.")
@click.option("--bind", default=None, help="HOST:PORT (default TRENT_BIND or 127.0.0.1:8080).")
@click.option("--banner", is_flag=True, help="Print how to get a token and call the server.")
def serve(workers: int | None, threads: int | None, bind: str | None, banner: bool) -> None:
    """Serve the API with gunicorn (never the Flask development server)."""
    from app.crypto.root_key import RootKeyUnavailable, load_root_key
    from app.store.migrate import pending_migrations

    settings = settings_or_exit()
    try:
        load_root_key(settings)
    except RootKeyUnavailable as exc:
        raise click.ClickException(f"root key: {exc}") from None
    with database_or_exit(settings):
        pending = pending_migrations()
        settings = _pin_database_identity(settings)
        if pending:
            raise click.ClickException(
                f"{len(pending)} migration(s) pending ({', '.join(pending)}): run `trent migrate`"
            )
        _warn_of_stale_policies(settings)
    address = bind or settings.bind
    _refuse_if_taken(address)
    # gunicorn's own "Listening at" line is empty when each worker binds for itself.
    click.echo(f"trent: serving http://{address} (each worker on its own socket)", err=True)
    if banner:
        _print_banner(address, settings)
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
        _run_gunicorn(address, workers or settings.workers, threads or settings.threads, settings)
    finally:
        for supervisor in supervisors:
            supervisor.stop()


def _pin_database_identity(settings: Settings) -> Settings:
    """Record the SQLite file this server starts with (device and inode) in
    ``TRENT_DATABASE_IDENTITY`` for every process it starts (workers, helpers,
    and their replacements): each refuses any other file at that path."""
    import dataclasses

    from app.store.database import file_identity

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


def _warn_of_stale_policies(settings: Settings) -> None:
    """Name the stored policies that a write would now refuse: a misspelt
    condition key in one of them never matches, so a Deny that uses it does
    not apply (they are enforced as stored, so that no key is locked out)."""
    from app.operations.policy_documents import stored_documents_refused_now

    stale = stored_documents_refused_now(settings.partition)
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


class ChildSupervisor:
    """Runs one of ``trent serve``'s helper processes beside gunicorn
    (``audit-writer``, ``audit-checkpointer``) and restarts it if it exits.

    Workers do the helper's work themselves while it is away (append their
    own events, sign checkpoints), so a restart costs speed, never an event.

    With a ``heartbeat`` (the audit writer's ping), a helper that does not
    answer it (``False``; ``None`` is "not listening yet") is killed with
    SIGKILL and restarted: a stopped or stuck writer would otherwise hold
    every audited request until it woke.
    """

    #: Pause before a restart; doubled (up to the longest) while the writer
    #: keeps exiting within ``STABLE_SECONDS`` of its start.
    RESTART_PAUSE_SECONDS = 1.0
    LONGEST_PAUSE_SECONDS = 60.0
    STABLE_SECONDS = 10.0

    def __init__(
        self,
        command: str,
        *,
        heartbeat: Callable[[], bool | None] | None = None,
        heartbeat_seconds: float = 1.0,
    ) -> None:
        import subprocess
        import threading

        self._subprocess = subprocess
        self._command = command
        self._heartbeat = heartbeat
        self._heartbeat_seconds = heartbeat_seconds
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()
        self._thread = threading.Thread(
            target=self._run, name=f"trent-{command}-supervisor", daemon=True
        )

    def start(self) -> None:
        self._owner = os.getpid()
        self._thread.start()

    def _run(self) -> None:
        import time

        command = [sys.executable, "-c", "from app.cli import main; main()", self._command]
        pause = self.RESTART_PAUSE_SECONDS
        while not self._stopping.is_set():
            started = time.monotonic()
            self._process = self._subprocess.Popen(command)
            code = self._watch(self._process)
            if self._stopping.is_set():
                break
            if time.monotonic() - started >= self.STABLE_SECONDS:
                pause = self.RESTART_PAUSE_SECONDS
            click.echo(
                f"trent: {self._command} exited ({code}); restarting it in {pause:.0f} s "
                "(until then the workers do its work)",
                err=True,
            )
            self._stopping.wait(pause)
            pause = min(pause * 2, self.LONGEST_PAUSE_SECONDS)

    def _watch(self, process: subprocess.Popen[bytes]) -> int:
        """Wait for ``process`` to exit; kill it first if it misses a heartbeat."""
        if self._heartbeat is None:
            return process.wait()
        while True:
            try:
                return process.wait(timeout=self._heartbeat_seconds / 2)
            except self._subprocess.TimeoutExpired:
                pass
            if self._stopping.is_set():
                return process.wait()  # stop() ends it
            if self._heartbeat() is False and process.poll() is None:
                click.echo(
                    f"trent: {self._command} did not answer within "
                    f"{self._heartbeat_seconds:g} s; killing it",
                    err=True,
                )
                process.kill()
                return process.wait()

    def stop(self) -> None:
        # gunicorn forks its workers inside `serve`, so a worker that exits
        # unwinds through serve's `finally` too: only the master owns the writer.
        if os.getpid() != self._owner:
            return
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except self._subprocess.TimeoutExpired:
                process.kill()


def _helper_audit_log(settings: Settings, *, pool_size: int) -> AuditLog:
    """What a helper process of ``trent serve`` needs: the root key and the
    database (its own small pool), as the audit log."""
    from app.audit.log import AuditLog
    from app.crypto.root_key import RootKeyUnavailable, load_root_key
    from app.store.database import bind_database, open_database, parse_identity

    try:
        root_key = load_root_key(settings)
    except RootKeyUnavailable as exc:
        raise click.ClickException(f"root key: {exc}") from None
    bind_database(
        open_database(
            settings.database,
            pool_size=pool_size,
            pool_timeout=settings.db_pool_timeout,
            busy_timeout_ms=settings.db_busy_timeout_ms,
            identity=parse_identity(settings.database_identity),
        )
    )
    return AuditLog(root_key, settings)


@main.command("audit-checkpointer", hidden=True)
def audit_checkpointer() -> None:
    """Signs the audit checkpoints of the host (``trent serve`` starts it).

    It holds the checkpoint lock while it lives, so the workers' schedulers
    leave the job to it and keep their CPU for requests. It signs whenever
    the log grew and ``TRENT_AUDIT_CHECKPOINT_INTERVAL`` passed, and once
    more on SIGTERM (which ``trent serve`` sends after its workers stopped)
    or when the server that started it is gone.
    """
    import signal
    import threading

    from app.audit.checkpointer import Checkpointer
    from app.audit.checkpoints import CheckpointLock
    from app.store.database import connection

    settings = settings_or_exit()
    audit = _helper_audit_log(settings, pool_size=1)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master stops it (see audit-writer)
    parent = os.getppid()
    lock = CheckpointLock(settings.audit_checkpoint_lock)
    while not lock.try_acquire():  # a worker is signing one right now
        if stop.wait(0.5) or os.getppid() != parent:
            return
    try:
        Checkpointer(audit, connection, settings.audit_checkpoint_interval_seconds).run(
            stop, lambda: os.getppid() == parent
        )
    finally:
        lock.release()


@main.command("audit-writer", hidden=True)
def audit_writer() -> None:
    """The host's audit writer process (``trent serve`` starts it)."""
    import signal

    from app.audit.writer_service import WriterServer
    from app.store.database import connection, transaction

    settings = settings_or_exit()
    server = WriterServer(
        _helper_audit_log(settings, pool_size=2),
        settings.audit_writer_socket,
        connection,
        lambda: transaction(invalidates=False),
    )
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    # Ctrl-C in a terminal reaches the whole process group: the master stops
    # the writer (SIGTERM) once its workers are done, not before.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server.listen()
    try:
        while not server.stopped:
            server.serve_once(timeout=0.5)
            if os.getppid() != parent:
                break  # the server that started us is gone
    finally:
        server.close()


def _print_banner(address: str, settings: Settings) -> None:
    trent = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "trent"
    trent = ".venv/bin/trent" if Path(".venv/bin/trent").exists() else trent
    click.echo(
        f"""
Trent is starting on http://{address}  (data: {settings.data_dir}, database: {safe_url(settings)})

In a second shell, from this directory:

  export TOKEN=$({trent} token issue --account 111122223333 --user alice)
  curl -s -H "Authorization: Bearer $TOKEN" http://{address}/v1/whoami

Stop the server with Ctrl-C.
"""
    )


def gunicorn_options(
    address: str, workers: int, threads: int, settings: Settings
) -> dict[str, Any]:
    """How ``trent serve`` runs gunicorn (the benchmark's echo floor uses the same)."""
    return {
        "bind": address,
        "workers": workers,
        # Threads, so that concurrent requests of one process share an audit
        # group commit (one fsync) instead of paying one fsync each.
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        # A bearer token may be up to 8 KiB on its own.
        "limit_request_field_size": settings.jwt_max_token_bytes + 1024,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "proc_name": "trent",
        # No runtime management socket: it would be one more way in, and every
        # gunicorn on the host would share its default path.
        "control_socket_disable": True,
        # Each worker listens on a socket of its own (SO_REUSEPORT; gunicorn
        # then opens no shared one), and the kernel spreads new connections over
        # them. With one shared socket, whichever worker woke first took the
        # connection: keep-alive clients were split 12/4 or worse between two
        # workers, one worker's threads queueing while the other idled.
        # `serve` checks first that nothing else listens on the address.
        "reuse_port": True,
        "pre_request": _close_after_a_refused_body(settings.max_body_bytes),
    }


def _close_after_a_refused_body(max_body_bytes: int) -> Any:
    """gunicorn's ``pre_request`` hook: a request whose body will be refused
    unread gets ``Connection: close``.

    A body over the limit is answered 413 without being read. Before the next
    request on the connection gunicorn discards what is left of it, but at
    most 64 KiB, and closes the connection past that, after its answer said
    ``keep-alive``: a client reusing the connection (requests, botocore) then
    fails with "remote end closed connection". The app cannot set the header
    (gunicorn drops hop-by-hop headers), so the request is marked to close
    here, before it is answered. A chunked body's size is not known in
    advance, and one over the limit leaves the same unread rest: a chunked
    request closes its connection too (KMS clients send Content-Length).
    """

    def pre_request(worker: Any, req: Any) -> None:
        for name, value in req.headers:
            if name == "CONTENT-LENGTH" and (not value.isdigit() or int(value) > max_body_bytes):
                req.force_close()
            elif name == "TRANSFER-ENCODING" and "chunked" in value.lower():
                req.force_close()

    return pre_request


def _run_gunicorn(address: str, workers: int, threads: int, settings: Settings) -> None:
    from gunicorn.app.base import BaseApplication

    class TrentServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(address, workers, threads, settings).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from app import create_app

            return create_app(settings)

    TrentServer().run()


@main.group()
def token() -> None:
    """Tokens of the local issuer."""


@token.command("issue")
@click.option("--account", required=True, help="12-digit account id.")
@click.option("--user", default=None, help="IAM-style user name.")
@click.option("--role", default=None, help="IAM-style role name.")
@click.option("--root", is_flag=True, help="The account root principal.")
@click.option("--tag", "tags", multiple=True, help="Principal tag KEY=VALUE (repeatable).")
@click.option("--ttl", default="1h", show_default=True, help="Lifetime: 90s, 15m, 1h, 12h …")
def token_issue(
    account: str, user: str | None, role: str | None, root: bool, tags: tuple[str, ...], ttl: str
) -> None:
    """Mint a token for the local issuer; prints the token alone on stdout."""
    from app.auth.local_issuer import LocalIssuer

    settings = settings_or_exit()
    chosen = [x for x in (user, role, root or None) if x]
    if len(chosen) != 1:
        raise click.ClickException("give exactly one of --user, --role, --root")
    tag_map: dict[str, str] = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.ClickException(f"--tag must be KEY=VALUE (got {item!r})")
        tag_map[key] = value
    try:
        issuer = LocalIssuer.load(settings)
        minted = issuer.mint(
            account, user=user, role=role, root=root, tags=tag_map, ttl_seconds=_duration(ttl)
        )
    except (ValueError, ConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(minted)


def _duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip()
    if text[-1:] in units and text[:-1].isdigit():
        return int(text[:-1]) * units[text[-1]]
    if text.isdigit():
        return int(text)
    raise click.ClickException(f"--ttl must look like 90s, 15m or 1h (got {text!r})")


@main.command(
    "policy",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def policy(args: tuple[str, ...]) -> None:
    """Validate, lint, simulate and test key policies offline (see `trent policy --help`)."""
    from policies.cli import main as policy_main

    sys.exit(policy_main(list(args)))


def _register_groups() -> None:
    from app.audit.commands import audit
    from app.auth.commands import access_key
    from app.key_commands import decrypt, encrypt, keys

    for command in (audit, access_key, keys, encrypt, decrypt):
        main.add_command(command)


_register_groups()

if __name__ == "__main__":  # pragma: no cover
    main()
