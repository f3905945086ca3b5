"""The helper processes of ``trent serve``, kept running beside gunicorn."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from app.metrics.multiprocess import process_gone

if TYPE_CHECKING:
    import subprocess


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
            process_gone(self._process.pid)
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
