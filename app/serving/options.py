"""How ``trent serve`` runs gunicorn: :func:`gunicorn_options`.

The benchmark's echo floor (``bench/echo_app.py``) runs with the same options,
so that the two differ only in the application.
"""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.metrics.multiprocess import process_gone
from app.serving.logger import logger_class

#: The worker class: gevent, with Trent's deadlines and caps (app.serving.worker).
WORKER_CLASS = "app.serving.worker.TrentWorker"


def gunicorn_options(address: str, workers: int, settings: Settings) -> dict[str, Any]:
    """The gunicorn settings of ``trent serve``, every limit from ``settings``."""
    return {
        "bind": address,
        "workers": workers,
        "worker_class": WORKER_CLASS,
        # Per worker. The worker stops accepting at the cap; the kernel queues
        # what arrives meanwhile (up to the backlog).
        "worker_connections": settings.max_connections,
        # gunicorn's C parser (picohttpparser, the gunicorn[fast] extra), with
        # the same limits as its Python one; required, so that a missing
        # extension fails at start rather than costing CPU unnoticed.
        "http_parser": "fast",
        "backlog": 2048,
        "timeout": settings.worker_timeout_seconds,
        "graceful_timeout": settings.graceful_timeout_seconds,
        # With the gevent worker this bounds, together, the keep-alive idle
        # time and the reading of the next request's line and headers.
        "keepalive": settings.keepalive_seconds,
        "max_requests": settings.max_requests,
        "max_requests_jitter": settings.max_requests // 10,
        "limit_request_line": settings.limit_request_line,
        "limit_request_fields": settings.limit_request_fields,
        "limit_request_field_size": settings.request_field_size_limit,
        # One line per request is written by the pipeline itself (the request
        # log, app.pipeline.request_log), with what gunicorn's access log
        # cannot know: the operation, the caller, the key, the error code.
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "logger_class": logger_class(settings.log_format),
        "proc_name": "trent",
        # No runtime management socket: it would be one more way in, and every
        # gunicorn on the host would share its default path.
        "control_socket_disable": True,
        # Each worker listens on a socket of its own (SO_REUSEPORT; gunicorn
        # then opens no shared one), and the kernel spreads new connections over
        # them. With one shared socket, whichever worker woke first took the
        # connection: keep-alive clients were split 12/4 or worse between two
        # workers. `serve` checks first that nothing else listens on the address.
        "reuse_port": True,
        "pre_request": _close_after_a_refused_body(settings.max_body_bytes),
        "post_worker_init": _apply_limits(settings),
        "child_exit": _forget_metrics_gauges,
    }


def _forget_metrics_gauges(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook: a worker that exited no longer has
    requests waiting or connections open (app.metrics.multiprocess)."""
    process_gone(worker.pid)


def _apply_limits(settings: Settings) -> Any:
    """gunicorn's ``post_worker_init`` hook: hands the worker, once its
    application is loaded, the limits gunicorn has no setting for."""

    def post_worker_init(worker: Any) -> None:
        worker.apply_limits(
            body_timeout_seconds=settings.body_timeout_seconds,
            max_body_bytes=settings.max_body_bytes,
            max_connections_per_address=settings.max_connections_per_address,
        )

    return post_worker_init


def _close_after_a_refused_body(max_body_bytes: int) -> Any:
    """gunicorn's ``pre_request`` hook: a request whose body will be refused
    unread gets ``Connection: close``.

    A body over the limit is answered 413 without being read. Before the next
    request on the connection gunicorn discards what is left of it, but at
    most 64 KiB, and closes the connection past that, after its answer said
    ``keep-alive``: a client reusing the connection (requests, botocore) then
    fails with "remote end closed connection". The app cannot set the header
    (gunicorn drops hop-by-hop headers), so the request is marked to close
    here, before it is answered. A chunked body's size is not known in
    advance, and one over the limit leaves the same unread rest: a chunked
    request closes its connection too (KMS clients send Content-Length).
    """

    def pre_request(worker: Any, req: Any) -> None:
        for name, value in req.headers:
            if name == "CONTENT-LENGTH" and (not value.isdigit() or int(value) > max_body_bytes):
                req.force_close()
            elif name == "TRANSFER-ENCODING" and "chunked" in value.lower():
                req.force_close()

    return pre_request
