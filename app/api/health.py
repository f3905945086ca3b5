"""``/healthz`` (the process is up) and ``/readyz`` (it can serve requests)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app.api.openapi import documented
from app.api.runtime import runtime

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@documented("GET", "/healthz", "Health", "The process is up.", authenticated=False)
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@documented(
    "GET",
    "/readyz",
    "Ready",
    "A request could succeed now: the database is the one the server started with and "
    "writable, the root key is usable, the audit chain head is readable and the audit "
    "writer answers. 503 with Retry-After otherwise.",
    authenticated=False,
)
def readyz() -> Response:
    checks = runtime().services.check_ready()
    return jsonify({"status": "ready", "checks": checks})
