"""Where a Trent worker's time goes under load: ``python -m bench --profile SECONDS``.

While wrk loads one Trent door and operation, py-spy samples every gunicorn
worker (``py-spy record --subprocesses --idle --function --format raw``, 100
samples a second, pausing the process for each sample so stacks are exact).
``--idle`` keeps the samples of a worker that waits (for SQLite's write lock,
for an fsync, for the next connection), so the shares are of wall time, which
is what latency is made of.

Only the workers' request-serving stacks count (those under gunicorn's
``ThreadWorker.handle``, and the audit writer thread that commits for them); the
scheduler thread and the master are left out. Two
top lists come out of one recording: the leaf function (where the sample
landed, in any library) and the deepest frame in Trent's own code (``app/``
or ``policies/``), which says which line of Trent to look at. The collapsed
stacks are kept under ``bench/results/`` for a flame graph (speedscope, or
``flamegraph.pl``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import wrk
from bench.doors import LoadSpec
from bench.errors import BenchError

INSTALL_HINT = "py-spy is not installed: `pip install py-spy` (or the bench extra)"
RATE = 100
TOP = 10


def require_py_spy() -> str:
    candidate = Path(sys.executable).parent / "py-spy"
    path = str(candidate) if candidate.exists() else shutil.which("py-spy")
    if path is None:
        raise BenchError(INSTALL_HINT)
    return path


@dataclass(frozen=True)
class Profile:
    door: str
    operation: str
    seconds: int
    load: wrk.WrkResult
    worker_samples: int
    request_samples: int
    leaf: list[tuple[str, int]]
    trent_frame: list[tuple[str, int]]
    stacks_path: Path
    #: The second recording, ``--gil``: where the CPU (the GIL) went.
    cpu_load: wrk.WrkResult | None = None
    cpu_samples: int = 0
    cpu_leaf: tuple[tuple[str, int], ...] = ()
    cpu_trent_frame: tuple[tuple[str, int], ...] = ()
    cpu_stacks_path: Path | None = None

    def as_json(self) -> dict[str, Any]:
        def shares(rows: list[tuple[str, int]]) -> list[dict[str, Any]]:
            return [
                {"frame": frame, "percent": round(count / self.request_samples * 100, 1)}
                for frame, count in rows
            ]

        return {
            "door": self.door,
            "operation": self.operation,
            "seconds": self.seconds,
            "load": self.load.as_json(),
            "busy_percent": round(self.request_samples / max(1, self.worker_samples) * 100, 1),
            "top_leaf": shares(self.leaf),
            "top_trent_frame": shares(self.trent_frame),
            "stacks": str(self.stacks_path),
            "cpu": {
                "load": self.cpu_load.as_json() if self.cpu_load else None,
                "samples": self.cpu_samples,
                "top_leaf": [
                    {"frame": f, "percent": round(c / max(1, self.cpu_samples) * 100, 1)}
                    for f, c in self.cpu_leaf
                ],
                "top_trent_frame": [
                    {"frame": f, "percent": round(c / max(1, self.cpu_samples) * 100, 1)}
                    for f, c in self.cpu_trent_frame
                ],
                "stacks": str(self.cpu_stacks_path) if self.cpu_stacks_path else None,
            },
        }

    def text(self) -> str:
        busy = self.request_samples / max(1, self.worker_samples) * 100
        lines = [
            f"profile: {self.door} {self.operation} @16 for {self.seconds} s "
            f"({self.load.ok_per_second:.0f} req/s while sampled); workers spent {busy:.0f} % "
            f"of their wall time serving requests; shares below are of that time",
            "  top leaf functions (where samples landed):",
        ]
        lines += [f"    {c / self.request_samples:6.1%}  {f}" for f, c in self.leaf]
        lines.append("  top deepest frames in Trent's code (app/, policies/):")
        lines += [f"    {c / self.request_samples:6.1%}  {f}" for f, c in self.trent_frame]
        lines.append(f"  collapsed stacks: {self.stacks_path}")
        if self.cpu_samples and self.cpu_load is not None:
            total = self.cpu_samples
            lines.append(
                f"  CPU (py-spy --gil: only the thread holding the GIL, in the workers and the "
                f"audit writer; {self.cpu_load.ok_per_second:.0f} req/s while sampled):"
            )
            lines.append("  top leaf functions:")
            lines += [f"    {c / total:6.1%}  {f}" for f, c in self.cpu_leaf]
            lines.append("  top deepest frames in Trent's code:")
            lines += [f"    {c / total:6.1%}  {f}" for f, c in self.cpu_trent_frame]
            lines.append(f"  collapsed stacks: {self.cpu_stacks_path}")
        return "\n".join(lines)


#: A gunicorn worker's frames: ``gthread`` (until 6 December; its request
#: threads run ``handle``) or Trent's gevent worker (each connection's greenlet
#: runs ``AsyncWorker.handle``; an idle worker sits in gevent's hub).
_WORKER_FRAMES = ("gunicorn/workers/gthread.py", "gunicorn/workers/ggevent.py")
_REQUEST_FRAMES = ("ThreadWorker.handle ", "AsyncWorker.handle ")
#: The audit writers work for the requests too: a worker's group-commit
#: thread, and the host's audit writer process that ``trent serve`` starts.
_WRITER_FRAMES = ("GroupCommitter._run", "WriterServer.serve_once")


def _is_writer(frame: str) -> bool:
    return any(name in frame for name in _WRITER_FRAMES)


def summarise(stacks: str) -> tuple[int, int, Counter[str], Counter[str]]:
    """Worker samples, request samples, and the two counters, from py-spy's raw output."""
    worker = request = 0
    leaf: Counter[str] = Counter()
    trent: Counter[str] = Counter()
    for line in stacks.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not any(any(w in f for w in _WORKER_FRAMES) or _is_writer(f) for f in frames):
            continue
        count = int(count_text)
        worker += count
        if not any(any(r in f for r in _REQUEST_FRAMES) or _is_writer(f) for f in frames):
            continue
        request += count
        leaf[frames[-1]] += count
        own = [f for f in frames if "(app/" in f or "(policies/" in f]
        # The outermost Trent frame is `serve` in app/cli/serve.py: a deepest frame
        # there means the time was spent in gunicorn or Werkzeug, not Trent.
        deepest = own[-1] if own else "(outside Trent)"
        outside = "(app/cli/serve.py" in deepest or "(app/serving/" in deepest
        trent["(gunicorn/werkzeug, outside Trent)" if outside else deepest] += count
    return worker, request, leaf, trent


def record(
    wrk_path: str,
    spec: LoadSpec,
    master_pid: int,
    seconds: int,
    results_dir: Path,
    name: str,
    mode: str = "wall",
) -> tuple[wrk.WrkResult, str, Path]:
    """Sample under load: ``wall`` keeps idle stacks (``--idle``), ``cpu`` keeps
    only the thread holding the GIL (``--gil``), i.e. where Python spends CPU."""
    py_spy = require_py_spy()
    results_dir.mkdir(parents=True, exist_ok=True)
    stacks_path = results_dir / f"{name}.stacks.txt"
    load = wrk.start(wrk_path, spec, 16, seconds + 3)
    try:
        time.sleep(1)
        completed = subprocess.run(
            [py_spy, "record", "--pid", str(master_pid), "--subprocesses"]
            + (["--idle"] if mode == "wall" else ["--gil"])
            + [
                "--function",
                "--nonblocking",
                "--format",
                "raw",
                "--rate",
                str(RATE),
                "--duration",
                str(seconds),
            ]
            + ["--output", str(stacks_path)],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        stdout, _ = load.communicate(timeout=seconds + 30)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait(timeout=10)
    if completed.returncode != 0:
        raise BenchError(f"py-spy failed ({completed.returncode}): {completed.stderr[-1000:]}")
    return wrk.parse(stdout, 16), stacks_path.read_text(encoding="utf-8"), stacks_path


def profile(
    wrk_path: str,
    spec: LoadSpec,
    master_pid: int,
    seconds: int,
    results_dir: Path,
    door: str,
    operation: str,
    stamp: str,
) -> Profile:
    name = f"profile-{stamp}-{door}-{operation}"
    load, stacks, stacks_path = record(wrk_path, spec, master_pid, seconds, results_dir, name)
    worker, request, leaf, trent = summarise(stacks)
    if not request:
        raise BenchError(f"py-spy recorded no request-serving samples ({stacks_path})")
    cpu_load, cpu_stacks, cpu_path = record(
        wrk_path, spec, master_pid, seconds, results_dir, f"{name}-cpu", mode="cpu"
    )
    _, cpu_samples, cpu_leaf, cpu_trent = summarise(cpu_stacks)
    return Profile(
        door,
        operation,
        seconds,
        load,
        worker,
        request,
        leaf.most_common(TOP),
        trent.most_common(TOP),
        stacks_path,
        cpu_load,
        cpu_samples,
        tuple(cpu_leaf.most_common(TOP)),
        tuple(cpu_trent.most_common(TOP)),
        cpu_path,
    )
