"""What the durable audit append costs a request: ``python -m bench.audit_cost``.

Loads REST Encrypt (1 KiB, 16 connections, wrk) on four builds of Trent that
differ only in the audit path, and on the echo floor, in interleaved rounds,
each server started afresh in a temporary directory:

=========================  =====================================================
``shipped``                as shipped: build, encode, send to the audit writer,
                           wait for its durable commit
``writer-writes-nothing``  the writer answers at once and writes nothing
``built-not-sent``         the event is built and encoded, not sent
``not-encoded``            the event is neither encoded nor sent
=========================  =====================================================

The variants other than ``shipped`` break the audit guarantee on purpose; they
are made by :mod:`bench.audit_variants.sitecustomize`, which only these
benchmark servers load. For each run it prints req/s, the ratio to the echo
of the same round, the CPU per request of the workers and of the audit writer
(user + system, from ``/proc/<pid>/stat``) and the workers' voluntary context
switches per request (from ``/proc/<pid>/task/*/status``), and writes the
same as JSON under ``bench/results/``.

Options: ``--rounds N`` (2), ``--duration S`` (8), ``--connections N`` (16),
``--workers N`` (CPUs), ``--variants a,b`` (all four).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import harness, report, servers, wrk
from bench.doors import probe
from bench.errors import BenchError

REPOSITORY = Path(__file__).resolve().parent.parent
HOOKS = Path(__file__).resolve().parent / "audit_variants"
VARIANTS = ("shipped", "writer-writes-nothing", "built-not-sent", "not-encoded")
OPERATION = "Encrypt"


def _switches_by_role(pgid: int) -> dict[str, int]:
    """Voluntary context switches of every thread of process group ``pgid``, by role."""
    found: dict[str, int] = {}
    for entry, role, _ in servers.group_members(pgid):
        try:
            statuses = [(task / "status").read_text() for task in (entry / "task").iterdir()]
        except OSError:
            continue  # the process ended meanwhile
        for status in statuses:
            for line in status.splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    found[role] = found.get(role, 0) + int(line.split()[1])
    return found


def _measure(options: harness.Options, variant: str | None, seconds: int) -> dict[str, Any]:
    """One server (a Trent variant, or the echo for ``None``), one measured run."""
    door_name = "echo" if variant is None else "trent-rest"
    options = replace(options, doors=(door_name,))
    extra: dict[str, str] = {}
    if variant is not None:
        extra = {
            "BENCH_AUDIT_VARIANT": variant,
            "PYTHONPATH": os.pathsep.join(filter(None, (str(HOOKS), os.environ.get("PYTHONPATH")))),
        }
    wrk_path = wrk.require_wrk()
    with tempfile.TemporaryDirectory(prefix="trent-audit-cost-") as directory:
        workdir = Path(directory)
        with harness.start_servers(workdir, options, trent_extra=extra) as started:
            doors, _ = harness.make_doors(started, workdir, options)
            door = doors[0]
            spec = door.load_spec(OPERATION, workdir)
            probe(spec, door.name, OPERATION)
            wrk.run(wrk_path, spec, options.connections[0], options.warmup)
            spec = door.load_spec(OPERATION, workdir)
            pgid = started[harness.SERVER_OF_DOOR[door_name]].pid
            cpu_before = servers.group_cpu_by_role(pgid)
            switches_before = _switches_by_role(pgid)
            result = wrk.run(wrk_path, spec, options.connections[0], seconds)
            cpu_after = servers.group_cpu_by_role(pgid)
            switches_after = _switches_by_role(pgid)
    requests = max(1, result.requests)

    def per_request(after: dict[str, Any], before: dict[str, Any], role: str) -> float:
        return float(after.get(role, 0) - before.get(role, 0)) / requests

    return {
        "variant": variant or "echo",
        "requests_per_second": result.ok_per_second,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "non_2xx": result.non_2xx,
        "workers_cpu_ms": 1000 * per_request(cpu_after, cpu_before, "workers"),
        "writer_cpu_ms": 1000 * per_request(cpu_after, cpu_before, "audit-writer"),
        "workers_voluntary_switches": per_request(switches_after, switches_before, "workers"),
    }


def _table(runs: list[dict[str, Any]]) -> str:
    lines = [
        f"{'build':<24}{'req/s':>9}{'×echo':>8}{'p99 ms':>8}"
        f"{'workers ms':>12}{'writer ms':>11}{'switches':>10}",
        "-" * 82,
    ]
    for name in (*VARIANTS, "echo"):
        mine = [r for r in runs if r["variant"] == name]
        if not mine:
            continue
        for run in mine:
            ratio = run.get("times_echo")
            lines.append(
                f"{name:<24}{run['requests_per_second']:>9.1f}"
                f"{(f'{ratio:.2f}' if ratio is not None else '—'):>8}{run['p99_ms']:>8.1f}"
                f"{run['workers_cpu_ms']:>12.3f}{run['writer_cpu_ms']:>11.3f}"
                f"{run['workers_voluntary_switches']:>10.1f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    arguments = parser.parse_args(argv)
    variants = tuple(v for v in arguments.variants.split(",") if v)
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        print(f"unknown variant {sorted(unknown)[0]!r}: choose from {VARIANTS}", file=sys.stderr)
        return 2
    options = harness.Options(
        quick=False,
        duration=arguments.duration,
        warmup=2,
        runs=1,
        connections=(arguments.connections,),
        workers=arguments.workers,
        doors=("trent-rest",),
        operations=(OPERATION,),
        soak=0,
        micro=False,
        json_path=None,
    )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    runs: list[dict[str, Any]] = []
    try:
        for number in range(1, arguments.rounds + 1):
            echo = _measure(options, None, arguments.duration)
            echo["round"] = number
            runs.append(echo)
            for variant in variants:
                run = _measure(options, variant, arguments.duration)
                run["round"] = number
                run["times_echo"] = run["requests_per_second"] / echo["requests_per_second"]
                runs.append(run)
                print(
                    f"round {number} {variant:<22} {run['requests_per_second']:8.1f} req/s",
                    file=sys.stderr,
                    flush=True,
                )
    except BenchError as exc:
        print(f"audit_cost: {exc}", file=sys.stderr)
        return 2
    print(
        f"REST Encrypt 1 KiB at {arguments.connections} connections, {arguments.duration} s "
        f"per run, {arguments.rounds} round(s); CPU and voluntary context switches per request"
    )
    print(_table(runs))
    medians = {
        name: statistics.median(r["requests_per_second"] for r in runs if r["variant"] == name)
        for name in (*variants, "echo")
    }
    path = report.write_json(
        harness.RESULTS_DIR / f"audit-cost-{stamp}.json",
        {
            "started": stamp,
            "machine": report.machine(REPOSITORY, wrk.version(wrk.require_wrk())),
            "connections": arguments.connections,
            "duration_seconds": arguments.duration,
            "workers": arguments.workers,
            "runs": runs,
            "median_requests_per_second": medians,
        },
    )
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
