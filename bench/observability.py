"""``python -m bench.observability``: what counting and logging one request
costs the pipeline, in microseconds per request.

The two things ``Pipeline.serve`` does for every answer besides serving it
(app.metrics, app.pipeline.request_log), timed in-process: the metrics as
``trent serve`` records them (shared files, prometheus-client's multiprocess
mode, in a temporary directory), and a request line written in each format
to a discarded stream. Compare with a request's whole cost, the ``cpu ms``
column of ``make bench`` (about 1 ms of CPU for REST Encrypt, all processes).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tempfile
import timeit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.observability")
    parser.add_argument("--number", type=int, default=100_000, help="calls per figure")
    parser.add_argument("--repeat", type=int, default=5, help="figures taken; the best is shown")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as shared:
        # Before prometheus-client is imported: the storage trent serve uses.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
        from werkzeug.test import EnvironBuilder

        from app.logs import configure
        from app.metrics import Metrics
        from app.pipeline.call import Call
        from app.pipeline.request_log import log_request

        metrics = Metrics()
        call = Call(
            EnvironBuilder(method="POST", path="/v1/keys/k/encrypt").get_environ(),
            "rest",
            "Encrypt",
            audited=True,
        )
        cases = {
            "metrics (counter + histogram)": lambda: metrics.request(
                "rest", "Encrypt", "success", 200, 0.004
            ),
        }
        for log_format in ("text", "json"):
            stream = io.StringIO()
            handler = configure(log_format, "INFO", stream)

            def logged(handler: logging.Handler = handler, stream: io.StringIO = stream) -> None:
                log_request(call, 200, None, 4.0)
                stream.seek(0)
                stream.truncate()

            timeit.timeit(logged, number=1000)
            best = min(timeit.repeat(logged, number=options.number, repeat=options.repeat))
            print(f"request line ({log_format}): {best / options.number * 1e6:6.2f} µs")
            logging.getLogger("trent").removeHandler(handler)
        for name, case in cases.items():
            best = min(timeit.repeat(case, number=options.number, repeat=options.repeat))
            print(f"{name}: {best / options.number * 1e6:6.2f} µs")
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
