"""``python -m bench``: Trent, moto and a bare Flask echo under the same load, side by side.

Starts the three servers on loopback, loads each door with wrk (Encrypt 1 KB,
Decrypt, GenerateDataKey at 16 and 64 connections), prints one table with the
ratios Trent/moto and Trent/echo, runs the micro-benchmarks, and writes the
whole report as JSON under ``bench/results/``. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench.doors import OPERATIONS
from bench.errors import BenchError
from bench.harness import DOOR_NAMES, Options, run


def _integers(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def _names(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in text.split(",") if part.strip())
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)} (got {text!r})")
        return names

    return parse


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.startswith("TRENT_") or name in ("TRENT_DATA_DIR", "TRENT_BIND"):
        raise argparse.ArgumentTypeError(
            f"expected TRENT_NAME=VALUE (not the data directory or bind), got {text!r}"
        )
    return name, value


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 s per cell, 1 run")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 5; quick 1)")
    parser.add_argument("--runs", type=int, help="runs per cell, median reported (default 3)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per operation (default 2)")
    parser.add_argument("--connections", type=_integers, default=(16, 64), help="e.g. 16,64")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="gunicorn workers for Trent and the echo (default: CPUs)",
    )
    parser.add_argument(
        "--doors",
        type=_names(DOOR_NAMES),
        default=DOOR_NAMES,
        help=f"subset of {','.join(DOOR_NAMES)}",
    )
    parser.add_argument(
        "--operations",
        type=_names(OPERATIONS),
        default=OPERATIONS,
        help=f"subset of {','.join(OPERATIONS)}",
    )
    parser.add_argument(
        "--soak",
        type=int,
        default=0,
        metavar="SECONDS",
        help="memory check: Trent worker RSS under load (300 = 5 min)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="instead of the benchmark: py-spy top-10 of Trent's workers under each load",
    )
    parser.add_argument(
        "--trent-setting",
        type=_setting,
        action="append",
        default=[],
        metavar="TRENT_NAME=VALUE",
        help="a setting for the Trent server, e.g. TRENT_THREADS=4 (repeatable)",
    )
    parser.add_argument("--skip-micro", action="store_true", help="skip the micro-benchmarks")
    parser.add_argument(
        "--json", type=Path, help="report path (default bench/results/bench-<time>.json)"
    )
    arguments = parser.parse_args(argv)
    quick = arguments.quick
    options = Options(
        quick=quick,
        duration=arguments.duration or (1 if quick else 5),
        warmup=arguments.warmup if arguments.warmup is not None else (1 if quick else 2),
        runs=arguments.runs or (1 if quick else 3),
        connections=arguments.connections,
        workers=arguments.workers,
        doors=arguments.doors,
        operations=arguments.operations,
        soak=arguments.soak,
        micro=not arguments.skip_micro,
        json_path=arguments.json,
        profile=arguments.profile,
        trent_settings=tuple(arguments.trent_setting),
    )
    if options.duration < 1 or options.runs < 1 or options.workers < 1 or options.soak < 0:
        parser.error("--duration, --runs and --workers must be at least 1, --soak at least 0")
    return options


def _stop(signum: int, _: FrameType | None) -> None:
    # Raising here unwinds every `with` block, so every server is stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    try:
        return run(options)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
