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

    A helper runs in a process group of its own, so Ctrl-C in a terminal
    reaches gunicorn alone: the master stops the helpers (SIGTERM) once its
    workers are done. A helper in the terminal's group got the SIGINT too,
    and one still starting (a restart), with Python's KeyboardInterrupt not
    yet replaced, died of it and was restarted, or was taken for unresponsive.
    """

    #: Pause before a restart; doubled (up to the longest) while the writer
    #: keeps exiting within ``STABLE_SECONDS`` of its start.
    RESTART_PAUSE_SECONDS = 1.0
    LONGEST_PAUSE_SECONDS = 60.0
    STABLE_SECONDS = 10.0
    #: How long a helper may take to finish after SIGTERM (the checkpointer
    #: signs a last checkpoint) before it is killed.
    STOP_SECONDS = 30.0

    def __init__(
        self,
        command: str,
        *,
        heartbeat: Callable[[], bool | None] | None = None,
        heartbeat_seconds: float = 1.0,
        argv: list[str] | None = None,
    ) -> None:
        import subprocess
        import threading

        self._subprocess = subprocess
        self._command = command
        # The helper is `trent <command>`, run by this interpreter; ``argv``
        # runs another program under the same supervision instead.
        self._argv = argv or [sys.executable, "-c", "from app.cli import main; main()", command]
        self._heartbeat = heartbeat
        self._heartbeat_seconds = heartbeat_seconds
        self._stopping = threading.Event()
        # Held while deciding to kill a helper that missed its heartbeat, and
        # while stop() begins: a helper being stopped is never killed for the
        # silence of its own orderly exit.
        self._deciding = threading.Lock()
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

        pause = self.RESTART_PAUSE_SECONDS
        while not self._stopping.is_set():
            started = time.monotonic()
            with self._deciding:
                if self._stopping.is_set():
                    break
                self._process = self._subprocess.Popen(self._argv, process_group=0)
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
            if self._heartbeat() is not False:
                continue
            with self._deciding:
                if self._stopping.is_set() or process.poll() is not None:
                    continue  # stopping (its socket closed first), or exited: not stuck
                click.echo(
                    f"trent: {self._command} did not answer within "
                    f"{self._heartbeat_seconds:g} s; killing it",
                    err=True,
                )
                process.kill()
            return process.wait()

    def stop(self) -> None:
        """Ask the helper to stop (SIGTERM) and wait for it to finish."""
        self.begin_stop()
        self.wait_stopped()

    def begin_stop(self) -> None:
        """Send the helper SIGTERM without waiting, so that ``trent serve``
        stops all its helpers at once rather than one after the other."""
        # gunicorn forks its workers inside `serve`, so a worker that exits
        # unwinds through serve's `finally` too: only the master owns the writer.
        if os.getpid() != self._owner:
            return
        with self._deciding:
            self._stopping.set()
            process = self._process
            if process is not None and process.poll() is None:
                process.terminate()

    def wait_stopped(self, timeout: float = STOP_SECONDS) -> None:
        """Wait for the helper to exit; kill it, and say so, if it does not."""
        if os.getpid() != self._owner:
            return
        process = self._process
        if process is None:
            return
        try:
            process.wait(timeout=timeout)
        except self._subprocess.TimeoutExpired:
            click.echo(
                f"trent: {self._command} did not stop within {timeout:g} s of SIGTERM; "
                "killing it (SIGKILL)",
                err=True,
            )
            process.kill()
            process.wait()
