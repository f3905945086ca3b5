"""One benchmark run: start the servers, load every cell, check memory, report.

The order is fixed so that runs are comparable: all servers start first
(Trent, moto, the echo floor) and each gets its key; every (door, operation)
is probed once and warmed up; then the runs go round the whole matrix, run 1
of every cell, then run 2 of every cell, and so on, so that a slow minute on a
shared machine spreads over all doors instead of landing on one. The servers
stop before the micro-benchmarks run, so those see a quiet machine.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import hotspots, memory, micro, report, servers, wrk
from bench.doors import (
    ACCOUNT,
    LABELS,
    SIGNATURE_LIFETIME_SECONDS,
    Door,
    EchoDoor,
    MotoDoor,
    MotoFixture,
    TrentAwsDoor,
    TrentFixture,
    TrentRestDoor,
    probe,
)
from bench.errors import BenchError

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPOSITORY / "bench" / "results"
DOOR_NAMES = ("trent-rest", "trent-aws", "moto", "echo")
#: Longest lifetime of a token minted by the local issuer (Settings.jwt_max_lifetime_seconds).
MAX_TOKEN_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Options:
    quick: bool
    duration: int
    warmup: int
    runs: int
    connections: tuple[int, ...]
    workers: int
    doors: tuple[str, ...]
    operations: tuple[str, ...]
    soak: int
    micro: bool
    json_path: Path | None
    #: Seconds of py-spy sampling per Trent door and operation; 0 runs the benchmark.
    profile: int = 0
    #: ``TRENT_*`` settings given to the Trent server (for A/B runs), as given.
    trent_settings: tuple[tuple[str, str], ...] = ()

    def validate(self) -> None:
        if "trent-aws" in self.doors and self.duration > SIGNATURE_LIFETIME_SECONDS:
            raise BenchError(
                f"--duration {self.duration} is longer than a pre-signed SigV4 pool stays valid "
                f"({SIGNATURE_LIFETIME_SECONDS} s); shorten it or leave out the trent-aws door"
            )
        unknown = set(self.doors) - set(DOOR_NAMES)
        if unknown:
            raise BenchError(f"unknown door {sorted(unknown)[0]!r}: choose from {DOOR_NAMES}")

    def estimated_seconds(self) -> int:
        cells = len(self.doors) * len(self.operations) * len(self.connections)
        return cells * (self.runs * (self.duration + 1) + self.warmup) + self.soak


def _require_module(module: str, package: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise BenchError(
            f"{module} is not installed: install the bench extra, "
            f"`{sys.executable} -m pip install -e '.[bench]'` (or `pip install '{package}'`)"
        )


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _trent_environment(
    data_dir: Path, home: Path, bind: str, settings: tuple[tuple[str, str], ...] = ()
) -> dict[str, str]:
    # HOME is the run's own directory so that gunicorn's control socket
    # (~/.gunicorn/gunicorn.ctl) never replaces that of a Trent already running here.
    return servers.clean_environment(
        {**dict(settings), "TRENT_DATA_DIR": str(data_dir), "TRENT_BIND": bind, "HOME": str(home)}
    )


@contextmanager
def start_servers(
    workdir: Path, options: Options, *, trent_extra: Mapping[str, str] | None = None
) -> Iterator[dict[str, servers.ServerProcess]]:
    """Trent, moto and the echo floor, started together and stopped together.

    ``trent_extra`` adds environment variables for Trent's processes only
    (:mod:`bench.audit_cost` loads its audit variants with it)."""
    trent_bin = servers.bin_path("trent")
    trent_port, moto_port, echo_port = (servers.free_port() for _ in range(3))
    trent_env = _trent_environment(
        workdir / "trent-data", workdir, f"{servers.HOST}:{trent_port}", options.trent_settings
    )
    trent_env.update(trent_extra or {})
    initialised = subprocess.run(
        [trent_bin, "init"], env=trent_env, capture_output=True, text=True, timeout=120
    )
    if initialised.returncode != 0:
        raise BenchError(f"trent init failed: {initialised.stderr.strip()}")
    wanted = {
        "trent": "trent-rest" in options.doors or "trent-aws" in options.doors,
        "moto": "moto" in options.doors,
        "echo": "echo" in options.doors,
    }
    commands: dict[str, tuple[list[str], int, dict[str, str], str]] = {
        "trent": (
            [trent_bin, "serve", "--workers", str(options.workers)],
            trent_port,
            trent_env,
            "/healthz",
        ),
        "moto": (
            [sys.executable, "-m", "moto.server", "-H", servers.HOST, "-p", str(moto_port)],
            moto_port,
            servers.clean_environment({}),
            "/",
        ),
        "echo": (
            [
                sys.executable,
                "-m",
                "bench.echo_app",
                "--bind",
                f"{servers.HOST}:{echo_port}",
                "--workers",
                str(options.workers),
            ],
            echo_port,
            servers.clean_environment({"HOME": str(workdir / "echo-home")}),
            "/",
        ),
    }
    with ExitStack() as stack:
        started: dict[str, servers.ServerProcess] = {}
        for name, (command, port, environment, ready_path) in commands.items():
            if wanted[name]:
                server = servers.ServerProcess(
                    name,
                    command,
                    port=port,
                    environment=environment,
                    log_path=workdir / f"{name}.log",
                    ready_path=ready_path,
                )
                started[name] = stack.enter_context(server)
        try:
            for server in started.values():
                server.wait_ready()
            yield started
        except BenchError:
            for server in started.values():
                _log(f"--- the last lines of {server.name}'s log:\n{server.log_tail(20)}")
            raise


def _mint_token(trent: servers.ServerProcess, seconds: int) -> str:
    """A root token of the run's Trent, valid for the whole run (at most 24 h)."""
    environment = trent.environment
    completed = subprocess.run(
        [servers.bin_path("trent"), "token", "issue", "--account", ACCOUNT, "--root"]
        + ["--ttl", f"{min(seconds, MAX_TOKEN_SECONDS)}s"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if completed.returncode != 0:
        raise BenchError(f"trent token issue failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def make_doors(
    started: dict[str, servers.ServerProcess], workdir: Path, options: Options
) -> tuple[list[Door], TrentFixture | None]:
    doors: list[Door] = []
    fixture = None
    if "trent" in started:
        token = _mint_token(started["trent"], options.estimated_seconds() * 2 + 600)
        fixture = TrentFixture.create(started["trent"].base_url, token)
        if "trent-rest" in options.doors:
            doors.append(TrentRestDoor(fixture))
        if "trent-aws" in options.doors:
            doors.append(TrentAwsDoor(fixture))
    if "moto" in started:
        doors.append(MotoDoor(MotoFixture.create(started["moto"].base_url)))
    if "echo" in started:
        doors.append(EchoDoor(started["echo"].base_url))
    return doors, fixture


def _operations(door: Door, options: Options) -> tuple[str, ...]:
    if door.name == "echo":
        return door.operations()
    return tuple(op for op in door.operations() if op in options.operations)


#: Which server process group serves each door.
SERVER_OF_DOOR = {"trent-rest": "trent", "trent-aws": "trent", "moto": "moto", "echo": "echo"}


def _load_matrix(
    wrk_path: str,
    doors: list[Door],
    workdir: Path,
    options: Options,
    started: dict[str, servers.ServerProcess],
) -> list[report.Cell]:
    cells = [
        report.Cell(door.name, operation, connections)
        for door in doors
        for operation in _operations(door, options)
        for connections in options.connections
    ]
    by_name = {door.name: door for door in doors}
    for door in doors:
        for index, operation in enumerate(_operations(door, options)):
            spec = door.load_spec(operation, workdir)
            probe(spec, door.name, operation)
            # A quick run warms each server up once; a full run each operation.
            if options.warmup and (index == 0 or not options.quick):
                _log(f"warm-up: {door.name} {LABELS[operation]} ({options.warmup} s)")
                wrk.run(wrk_path, spec, max(options.connections), options.warmup)
    total = len(cells) * options.runs
    done = 0
    for run in range(1, options.runs + 1):
        for cell in cells:
            # A SigV4 pool is signed here, right before its run, and so is valid throughout.
            spec = by_name[cell.door].load_spec(cell.operation, workdir)
            # The server's own CPU per answer (its whole process group, helpers
            # included): steadier than req/s on a machine shared with wrk.
            group = started[SERVER_OF_DOOR[cell.door]].pid
            cpu_before = servers.group_cpu_by_role(group)
            result = wrk.run(wrk_path, spec, cell.connections, options.duration)
            cpu_after = servers.group_cpu_by_role(group)
            cell.runs.append(result)
            answered = result.requests - result.non_2xx
            if answered > 0:
                by_role = {
                    role: (seconds - cpu_before.get(role, 0.0)) * 1000 / answered
                    for role, seconds in cpu_after.items()
                }
                cell.cpu_ms_by_role.append(by_role)
            done += 1
            _log(
                f"[{done:>3}/{total}] run {run}/{options.runs} {cell.door:<10} "
                f"{LABELS[cell.operation]:<15} c{cell.connections:<3} "
                f"{result.ok_per_second:>8.1f} req/s  p50 {result.p50_ms:6.1f} ms  "
                f"p99 {result.p99_ms:6.1f} ms  non-2xx {result.non_2xx}  "
                f"sock {result.socket_errors}"
            )
    return cells


def _server_notes(started: dict[str, servers.ServerProcess]) -> dict[str, Any]:
    notes: dict[str, Any] = {}
    for name, server in started.items():
        text = server.log_path.read_text(encoding="utf-8", errors="replace")
        notes[name] = {
            "worker_class": server.worker_class(),
            "error_lines": sum(
                1 for line in text.splitlines() if "[ERROR]" in line or "Traceback" in line
            ),
        }
    trent, echo = notes.get("trent"), notes.get("echo")
    if trent and echo and trent["worker_class"] != echo["worker_class"]:
        _log(
            f"warning: Trent runs {trent['worker_class']} workers but the echo floor runs "
            f"{echo['worker_class']}: update bench/echo_app.py to match `trent serve`"
        )
    return notes


def run_profiles(options: Options) -> int:
    """The ``--profile`` mode: only Trent, sampled by py-spy under each selected load."""
    wrk_path = wrk.require_wrk()
    hotspots.require_py_spy()
    trent_doors = tuple(d for d in options.doors if d.startswith("trent-")) or ("trent-rest",)
    options = replace(options, doors=trent_doors)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    profiles = []
    with tempfile.TemporaryDirectory(prefix="trent-bench-") as directory:
        workdir = Path(directory)
        with start_servers(workdir, options) as started:
            doors, _ = make_doors(started, workdir, options)
            for door in doors:
                for operation in _operations(door, options):
                    spec = door.load_spec(operation, workdir)
                    probe(spec, door.name, operation)
                    wrk.run(wrk_path, spec, 16, max(2, options.warmup))
                    _log(f"profiling {door.name} {operation} for {options.profile} s")
                    spec = door.load_spec(operation, workdir)
                    found = hotspots.profile(
                        wrk_path,
                        spec,
                        started["trent"].pid,
                        options.profile,
                        RESULTS_DIR,
                        door.name,
                        operation,
                        stamp,
                    )
                    profiles.append(found)
                    print(found.text() + "\n", flush=True)
    path = report.write_json(
        options.json_path or RESULTS_DIR / f"profile-{stamp}.json",
        {
            "started": stamp,
            "machine": report.machine(REPOSITORY, wrk.version(wrk_path)),
            "workers": options.workers,
            "profiles": [p.as_json() for p in profiles],
        },
    )
    print(f"written: {path}")
    return 0


def run(options: Options) -> int:
    options.validate()
    if options.profile:
        return run_profiles(options)
    wrk_path = wrk.require_wrk()
    if "moto" in options.doors:
        _require_module("moto.server", "moto[server]")
    _require_module("botocore", "boto3")
    info = report.machine(REPOSITORY, wrk.version(wrk_path))
    started_at = time.time()
    document: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
        "machine": info,
        "options": {
            "quick": options.quick,
            "duration_seconds": options.duration,
            "warmup_seconds": options.warmup,
            "runs": options.runs,
            "connections": list(options.connections),
            "wrk_threads": 2,
            "workers": options.workers,
            "soak_seconds": options.soak,
            "trent_settings": dict(options.trent_settings),
        },
    }
    soak_result: memory.SoakResult | None = None
    with tempfile.TemporaryDirectory(prefix="trent-bench-") as directory:
        workdir = Path(directory)
        with start_servers(workdir, options) as started:
            doors, fixture = make_doors(started, workdir, options)
            document["doors"] = {door.name: door.description for door in doors}
            cells = _load_matrix(wrk_path, doors, workdir, options, started)
            if "trent" in started:
                document["trent_worker_rss_mib_after_matrix"] = {
                    str(pid): round(kib / 1024, 1)
                    for pid, kib in memory.worker_rss(started["trent"].pid).items()
                }
            if options.soak and fixture is not None:
                spec = TrentRestDoor(fixture).load_spec("Encrypt", workdir)
                _log(f"memory soak: trent-rest Encrypt 1 KB c16 for {options.soak} s")
                soak_result = memory.soak(wrk_path, spec, started["trent"].pid, options.soak)
            document["servers"] = _server_notes(started)
    micro_results = micro.run_all(REPOSITORY, options.quick) if options.micro else []
    document["elapsed_seconds"] = round(time.time() - started_at, 1)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    # The 16 writers as the service has them: 2 workers x 8 threads
    # through the audit writer process (bench.audit_append, table (c)).
    audit_rate = micro.audit_events_per_second(
        micro_results, processes=micro.AUDIT_PROCESSES, threads=micro.AUDIT_THREADS
    )
    memory_flat, memory_text = None, "not run (--soak 300)"
    if soak_result is not None:
        changes = [w["change_percent"] for w in soak_result.workers]
        memory_flat = all(w["flat"] for w in soak_result.workers) and not soak_result.replaced
        memory_text = ", ".join(f"{c:+.1f} %" for c in changes) + f" over {soak_result.seconds} s"
    found = report.targets(cells, audit_rate, memory_flat, memory_text)
    document["cells"] = report.cells_json(cells)
    document["targets"] = [t.as_json() for t in found]
    document["micro_benchmarks"] = [m.as_json() for m in micro_results]
    document["memory_soak"] = soak_result.as_json() if soak_result else None
    json_path = report.write_json(
        options.json_path or report.default_json_path(RESULTS_DIR), document
    )
    trent_server = (document.get("servers") or {}).get("trent") or {}
    worker_class = trent_server.get("worker_class") or "?"
    settings = (
        f"wrk -t2, {options.duration} s per run, median of {options.runs} run(s), "
        f"{options.warmup} s warm-up per {'server' if options.quick else 'operation'}; "
        f"gunicorn {options.workers} {worker_class} workers as `trent serve` (Trent and echo); "
        "moto: moto.server (threaded Werkzeug)"
    )
    if options.trent_settings:
        settings += "; Trent with " + ", ".join(f"{k}={v}" for k, v in options.trent_settings)
    report.print_report(
        info, settings, cells, found, micro_results, soak_result, json_path, document
    )
    return 0
