"""Sharing metric values between ``trent serve``'s processes.

Each gunicorn worker and the audit writer is a process of its own, and a
scrape reaches one worker, which must answer for all of them. prometheus_client's
multiprocess mode does that: every process writes its values to a small
memory-mapped file of its own in one directory, and a scrape adds up the
files. The directory (``$TRENT_DATA_DIR/metrics``) is emptied when the server
starts, so a restart begins from zero as Prometheus expects of a new process;
the gauges of a process that exits are dropped when its parent sees it go
(counters and histograms stay: they still count what it did).

A process writes its requests and audit batches into its file once a second,
before it answers a scrape, and as it exits, not as they happen
(:mod:`app.metrics.instruments`): a scrape sees another process's counts as
they were at its last write, at most about a second ago.

prometheus_client reads the directory from its own environment variable,
``PROMETHEUS_MULTIPROC_DIR``, and chooses how values are stored when it is
imported. :func:`enable` sets both in the master before any worker or helper
is started; they inherit the variable. It is not a Trent setting.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import multiprocess, values

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def enable(directory: Path) -> None:
    """Share the values of this process and of every process it starts
    from now on in ``directory``, emptied first (``trent serve``, once)."""
    directory.mkdir(mode=0o700, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[ENVIRONMENT_VARIABLE] = str(directory)
    # prometheus_client picked its storage when it was imported (perhaps
    # before this call): pick again, before any instrument exists.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def directory() -> Path | None:
    """The shared directory when this process is one of a server's, else None."""
    found = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(found) if found else None


def process_gone(pid: int) -> None:
    """Drop the gauges of the server's process ``pid``, which exited."""
    if directory() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
