"""Trent: a self-hosted key management service modelled on AWS KMS.

:func:`create_app` builds everything; importing a module starts nothing.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g

from app.config import Settings, load_settings

__version__ = "0.1.0"


def create_app(settings: Settings | None = None) -> Flask:
    """The WSGI application for ``settings`` (read from the environment if absent)."""
    from app.api import access_keys, audit, health, identity, keys, openapi, policy
    from app.api.endpoint import begin_request
    from app.api.errors import register_error_handlers
    from app.api.runtime import Runtime, install
    from app.auth.jwt_verifier import TokenVerifier
    from app.auth.local_issuer import LocalIssuer
    from app.awsapi import door
    from app.crypto.root_key import load_root_key
    from app.operations.access_keys import sigv4_verifier
    from app.operations.scheduler import Scheduler
    from app.operations.services import Services
    from app.store.database import (
        bind_database,
        configure_read_cache,
        open_database,
        parse_identity,
    )

    settings = settings or load_settings()
    logging.getLogger("trent").setLevel(settings.log_level)
    # peewee logs every statement with its parameters at DEBUG: sealed key
    # material, policy documents. Those never go to a log, whatever the level.
    logging.getLogger("peewee").setLevel(logging.INFO)

    bind_database(
        open_database(
            settings.database,
            pool_size=settings.db_pool_size,
            pool_timeout=settings.db_pool_timeout,
            busy_timeout_ms=settings.db_busy_timeout_ms,
            identity=parse_identity(settings.database_identity),
        )
    )
    configure_read_cache(settings.change_counter_path, settings.metadata_cache_seconds)
    local_issuer = LocalIssuer.load(settings) if settings.local_issuer else None
    # No root key, no service: load_root_key raises and start-up stops here.
    services = Services(settings=settings, root_key=load_root_key(settings))
    verifier = TokenVerifier(settings, local_issuer=local_issuer)

    app = Flask("trent", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    runtime = Runtime(services=services, verifier=verifier, sigv4=sigv4_verifier(services))
    install(app, runtime)
    register_error_handlers(app)

    app.before_request(begin_request)

    @app.after_request
    def _stamp_request_id(response: Response) -> Response:
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    for blueprint in (
        health.blueprint,
        identity.blueprint,
        keys.blueprint,
        policy.blueprint,
        audit.blueprint,
        access_keys.blueprint,
        openapi.blueprint,
        door.blueprint,
    ):
        app.register_blueprint(blueprint)
    if settings.fast_lane:
        from app.api.fast_lane import FastLane

        app.wsgi_app = FastLane(app, runtime)  # type: ignore[method-assign]
    if settings.scheduler_interval_seconds > 0:
        scheduler = Scheduler(services, settings.scheduler_interval_seconds)
        scheduler.start()
        app.extensions["trent.scheduler"] = scheduler
    return app
