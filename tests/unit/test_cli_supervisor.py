"""The supervision of ``trent serve``'s helper processes: their own process
group, and a stop that never turns into a kill unless the helper ignores it."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from app.cli.supervisor import ChildSupervisor
from tests.e2e.conftest import wait_for


def _helper(ready: Path, *, ignore_term: bool = False) -> list[str]:
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN); " if ignore_term else ""
    touch = f"pathlib.Path({str(ready)!r}).touch()"
    code = f"import signal, time, pathlib; {ignore}{touch}; time.sleep(600)"
    return [sys.executable, "-c", code]


def _started(supervisor: ChildSupervisor, ready: Path) -> int:
    assert wait_for(lambda: ready.exists(), 60), "the helper did not start"
    process = supervisor._process
    assert process is not None
    return process.pid


def test_a_helper_runs_in_its_own_process_group(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    supervisor = ChildSupervisor("helper", argv=_helper(ready))
    supervisor.start()
    try:
        pid = _started(supervisor, ready)
        # Ctrl-C in a terminal goes to the terminal's group: not to the helper.
        assert os.getpgid(pid) == pid != os.getpgrp()
    finally:
        supervisor.stop()
    assert supervisor._process is not None
    assert supervisor._process.returncode == -signal.SIGTERM


def test_a_stop_during_a_missed_heartbeat_is_not_a_kill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ready = tmp_path / "ready"
    holder: list[ChildSupervisor] = []

    def heartbeat() -> bool | None:
        if not ready.exists():
            return None  # not listening yet
        # The server stops while this ping is out; the helper, stopping,
        # closed its socket, so the ping fails.
        holder[0].begin_stop()
        return False

    supervisor = ChildSupervisor("helper", heartbeat=heartbeat, argv=_helper(ready))
    holder.append(supervisor)
    supervisor.start()
    _started(supervisor, ready)
    supervisor.wait_stopped()
    assert supervisor._process is not None
    assert supervisor._process.returncode == -signal.SIGTERM
    err = capsys.readouterr().err
    assert "killing it" not in err and "restarting" not in err


def test_a_helper_that_ignores_sigterm_is_killed_and_that_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ready = tmp_path / "ready"
    supervisor = ChildSupervisor("helper", argv=_helper(ready, ignore_term=True))
    supervisor.start()
    _started(supervisor, ready)
    supervisor.begin_stop()
    supervisor.wait_stopped(timeout=0.5)
    assert supervisor._process is not None
    assert supervisor._process.returncode == -signal.SIGKILL
    assert (
        "helper did not stop within 0.5 s of SIGTERM; killing it (SIGKILL)"
        in capsys.readouterr().err
    )
