"""``trent audit-writer`` and ``trent audit-checkpointer``: the host's audit
processes that ``trent serve`` starts (hidden commands)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from app.cli.context import settings_or_exit
from app.config import Settings

if TYPE_CHECKING:
    from app.audit.log import AuditLog
    from app.store.database import Store


def _helper_audit_log(settings: Settings, *, pool_size: int) -> tuple[AuditLog, Store]:
    """What a helper process of ``trent serve`` needs: the root key and the
    database (its own small pool), as the audit log and its store."""
    from app import open_store
    from app.audit.log import AuditLog
    from app.crypto.root_key import RootKeyUnavailable, load_root_key
    from app.logs import configure
    from app.store.audit.repository import SqlAuditRepository

    # Started by `trent serve`: its lines go where the server's go, as they go.
    configure(settings.log_format, settings.log_level)
    try:
        root_key = load_root_key(settings)
    except RootKeyUnavailable as exc:
        raise click.ClickException(f"root key: {exc}") from None
    # Its writes are audit appends only, which change nothing any process caches.
    store = open_store(settings, pool_size=pool_size, cache=False)
    return AuditLog(root_key, settings, SqlAuditRepository(store)), store


@click.command("audit-checkpointer", hidden=True)
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

    settings = settings_or_exit()
    audit, store = _helper_audit_log(settings, pool_size=1)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master stops it (see audit-writer)
    parent = os.getppid()
    lock = CheckpointLock(settings.audit_checkpoint_lock)
    while not lock.try_acquire():  # a worker is signing one right now
        if stop.wait(0.5) or os.getppid() != parent:
            return
    try:
        Checkpointer(audit, store.connection, settings.audit_checkpoint_interval_seconds).run(
            stop, lambda: os.getppid() == parent
        )
    finally:
        lock.release()


@click.command("audit-writer", hidden=True)
def audit_writer() -> None:
    """The host's audit writer process (``trent serve`` starts it)."""
    import signal

    from app.audit.writer_service import WriterServer
    from app.metrics import Metrics

    settings = settings_or_exit()
    audit, store = _helper_audit_log(settings, pool_size=2)
    # Its batches are counted with the workers' requests (app.metrics.multiprocess).
    metrics = Metrics()
    server = WriterServer(
        audit,
        settings.audit_writer_socket,
        store.connection,
        lambda: store.transaction(invalidates=False),
        on_batch=lambda events, seconds: metrics.audit_batch("process", events, seconds),
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


COMMANDS = (audit_checkpointer, audit_writer)
