"""``/healthz`` (the process is up) and ``/readyz`` (it can serve requests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.operations.services import Services
from app.pipeline.route import Route


def _healthz(services: Services) -> Mapping[str, Any]:
    return {"status": "ok"}


def _readyz(services: Services) -> Mapping[str, Any]:
    # ServiceUnavailableError (503 with Retry-After) when a check fails.
    return {"status": "ready", "checks": services.check_ready()}


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
)
