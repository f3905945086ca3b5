"""``/healthz`` (the process is up), ``/readyz`` (it can serve requests) and
``/metrics`` (what it measures of itself, in the Prometheus text format)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.errors import NotFoundError, ServiceUnavailableError
from app.metrics import CONTENT_TYPE
from app.metrics.instruments import gauge
from app.operations.services import Services
from app.pipeline.route import Rendered, Route


def _healthz(services: Services) -> Mapping[str, Any]:
    return {"status": "ok"}


def _readyz(services: Services) -> Mapping[str, Any]:
    # ServiceUnavailableError (503 with Retry-After) when a check fails.
    return {"status": "ready", "checks": services.check_ready()}


def _metrics(services: Services) -> Rendered:
    # Open like /readyz unless switched off: no label names a key, a
    # principal or anything a caller chose (docs/operators.md, "Metrics").
    if services.settings.metrics == "off":
        raise NotFoundError("The requested resource does not exist.")
    computed = []
    try:
        with services.connection():
            checkpoint = services.audit.latest_checkpoint()
    except ServiceUnavailableError:
        # The database is down: the other values are what tells why.
        checkpoint = None
    if checkpoint is not None:
        age = max(0.0, services.now() - checkpoint.created_at / 1_000_000)
        computed.append(
            gauge(
                "trent_audit_checkpoint_age_seconds",
                "Time since the newest signed audit checkpoint (read from the database).",
                age,
            )
        )
    return Rendered(CONTENT_TYPE, [services.metrics.exposition(computed)])


ROUTES = (
    Route("Health", method="GET", rule="/healthz", summary="The process is up.", probe=_healthz),
    Route(
        "Ready",
        method="GET",
        rule="/readyz",
        summary="A request could succeed now: the database is the one the server started with "
        "and writable, the root key is usable, the audit chain head is readable and the audit "
        "writer answers. 503 with Retry-After otherwise.",
        probe=_readyz,
    ),
    Route(
        "Metrics",
        method="GET",
        rule="/metrics",
        summary="The server's metrics in the Prometheus text format, added up over its "
        "processes; 404 when TRENT_METRICS is off.",
        probe=_metrics,
        media_type=CONTENT_TYPE,
    ),
)
