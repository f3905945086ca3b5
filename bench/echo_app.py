"""The framework floor: a bare Flask JSON echo under gunicorn, set up as ``trent serve``.

``python -m bench.echo_app --bind 127.0.0.1:PORT --workers N`` serves one route,
``POST /echo``, that parses the JSON body and sends it back as JSON. No
authentication, no cryptography, no database: whatever Trent spends above this
floor is Trent's own work.

The gunicorn options are those of ``_run_gunicorn`` in ``app/cli.py`` (sync
workers, the same timeouts, keep-alive and request limits), copied rather than
imported because that function builds them inside ``trent serve``. The harness
checks both servers' logs for the worker class they report, so a change to
Trent's worker model shows up as a mismatch instead of an unfair floor.
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, Response, jsonify, request

#: ``Settings.jwt_max_token_bytes`` (8 KiB) plus 1 KiB, as ``trent serve`` sets it.
LIMIT_REQUEST_FIELD_SIZE = 8192 + 1024


def create_app() -> Flask:
    app = Flask("trent-echo")

    @app.post("/echo")
    def echo() -> Response:
        return jsonify(request.get_json())

    return app


def gunicorn_options(bind: str, workers: int) -> dict[str, Any]:
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "trent-echo",
    }


def serve(bind: str, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class EchoServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(bind, workers).items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return create_app()

    EchoServer().run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bind", required=True, help="HOST:PORT")
    parser.add_argument("--workers", type=int, required=True)
    arguments = parser.parse_args(argv)
    serve(arguments.bind, arguments.workers)


if __name__ == "__main__":
    main()
