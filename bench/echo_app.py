"""The framework floor: a bare Flask JSON echo under gunicorn, set up as ``trent serve``.

``python -m bench.echo_app --bind 127.0.0.1:PORT --workers N`` serves one route,
``POST /echo``, that parses the JSON body and sends it back as JSON. No
authentication, no cryptography, no database: whatever Trent spends above this
floor is Trent's own work.

The gunicorn options are ``trent serve``'s own (:func:`app.serving.options.gunicorn_options`:
the same worker class and threads, timeouts, keep-alive and request limits).
The harness also checks both servers' logs for the worker class they report.
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, Response, jsonify, request


def create_app() -> Flask:
    app = Flask("trent-echo")

    @app.post("/echo")
    def echo() -> Response:
        return jsonify(request.get_json())

    return app


def gunicorn_options(bind: str, workers: int) -> dict[str, Any]:
    from pathlib import Path

    from app.config import Settings
    from app.serving.options import gunicorn_options as trent_options

    settings = Settings(data_dir=Path("."))
    return {
        **trent_options(bind, workers, settings),
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
