"""The processes under load: Trent, moto's KMS server and the echo floor.

Each server runs in its own process group on a free loopback port, with its
output in a log file of the run's temporary directory (never a pipe, which a
busy server could fill and block on). :class:`ServerProcess` is a context
manager: leaving it, normally or through an exception, sends SIGTERM to the
whole group, and SIGKILL to whatever is left after a grace period.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from bench.errors import BenchError

HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 10.0


def free_port() -> int:
    """A port that nothing on 127.0.0.1 listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def bin_path(name: str) -> str:
    """A console script of this virtualenv (next to the running interpreter)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    raise BenchError(f"{name} not found next to {sys.executable}: run `pip install -e .` first")


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The harness's environment without any ``TRENT_*`` variable, plus ``extra``.

    A developer's own settings (a PostgreSQL URL, another data directory)
    must not leak into the servers under test.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRENT_")}
    environment.update(extra)
    return environment


class ServerProcess:
    """One server, started in its own session and stopped with its whole group."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        port: int,
        environment: Mapping[str, str],
        log_path: Path,
        ready_path: str = "/",
    ) -> None:
        self.name = name
        self.command = list(command)
        self.port = port
        self.environment = dict(environment)
        self.log_path = log_path
        self.ready_path = ready_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} is not running")
        return self.process.pid

    def __enter__(self) -> ServerProcess:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the server answers HTTP on ``ready_path`` (any status)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with status {self.process.returncode} while starting:\n"
                    f"{self.log_tail()}"
                )
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
                connection.request("GET", self.ready_path)
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def worker_class(self) -> str | None:
        """The worker class gunicorn reported in the log (``Using worker: sync``)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        found = re.search(r"Using worker: (\S+)", text)
        return found.group(1) if found else None


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``: for a gunicorn master, its workers."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listing:
                children.extend(int(child) for child in listing.read().split())
    except OSError:
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _parent_pid(int(entry)) == pid:
                children.append(int(entry))
    return sorted(set(children))


def _parent_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # The command name may contain spaces; the fields after it may not.
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB (``VmRSS`` of /proc/PID/status)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def role_of(pid: int, pgid: int) -> str:
    """``master``, ``workers`` or the name of one of Trent's helper processes."""
    if pid == pgid:
        return "master"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return "workers"
    for helper in (b"audit-writer", b"audit-checkpointer"):
        if helper in command:
            return helper.decode()
    return "workers"


def group_members(pgid: int) -> Iterator[tuple[Path, str, list[str]]]:
    """``(/proc/<pid>, role, stat fields after the command name)`` of every live
    process of the server started in process group ``pgid``: the group's
    members and their descendants. ``trent serve`` starts its helpers (the
    audit writer, the checkpointer) in process groups of their own, so that
    the terminal's Ctrl-C does not reach them; they are found as children of
    the master."""
    processes: dict[int, tuple[Path, list[str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        processes[int(entry.name)] = (entry, text[text.rfind(")") + 2 :].split())
    members = {pid for pid, (_, fields) in processes.items() if int(fields[2]) == pgid}
    grown = True
    while grown:
        children = {
            pid
            for pid, (_, fields) in processes.items()
            if pid not in members and int(fields[1]) in members
        }
        members |= children
        grown = bool(children)
    for pid in sorted(members):
        entry, fields = processes[pid]
        yield entry, role_of(pid, pgid), fields


def group_cpu_by_role(pgid: int) -> dict[str, float]:
    """User + system CPU seconds of every live process in process group ``pgid``,
    by role: ``master``, ``workers`` and each of Trent's helper processes."""
    ticks: dict[str, int] = {}
    for _, role, fields in group_members(pgid):
        ticks[role] = ticks.get(role, 0) + int(fields[11]) + int(fields[12])
    hertz = os.sysconf("SC_CLK_TCK")
    return {role: count / hertz for role, count in ticks.items()}
