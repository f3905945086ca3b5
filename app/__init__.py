"""Trent: a self-hosted key management service modelled on AWS KMS.

:func:`create_app` builds everything; importing a module starts nothing.
"""

from __future__ import annotations

import logging

from flask import Flask

from app.config import Settings, load_settings

__version__ = "0.1.0"


def create_app(settings: Settings | None = None) -> Flask:
    """The WSGI application for ``settings`` (read from the environment if absent)."""
    from app.api.door import RestDoor
    from app.api.keys import KeyConverter
    from app.api.openapi import ROUTES as REST_ROUTES
    from app.auth.jwt_verifier import TokenVerifier
    from app.auth.local_issuer import LocalIssuer
    from app.awsapi.door import AwsDoor
    from app.crypto.root_key import load_root_key
    from app.operations.access_keys import sigv4_verifier
    from app.operations.scheduler import Scheduler
    from app.operations.services import Services
    from app.pipeline.pipeline import Pipeline, refuse_flask_hooks
    from app.pipeline.runtime import Runtime, install
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

    # Flask holds the application's configuration and extensions; every
    # request is served by the pipeline (app.pipeline), never by Flask's dispatch.
    app = Flask("trent", static_folder=None)
    runtime = Runtime(services=services, verifier=verifier, sigv4=sigv4_verifier(services))
    install(app, runtime)
    rest = RestDoor(runtime, REST_ROUTES)
    pipeline = Pipeline(
        runtime,
        (rest, AwsDoor(runtime)),
        converters={"key": KeyConverter},
        not_found_door=rest,
        before_first_request=lambda: refuse_flask_hooks(app),
    )
    app.url_map = pipeline.url_map
    refuse_flask_hooks(app)
    app.wsgi_app = pipeline  # type: ignore[method-assign]
    if settings.scheduler_interval_seconds > 0:
        scheduler = Scheduler(services, settings.scheduler_interval_seconds)
        scheduler.start()
        app.extensions["trent.scheduler"] = scheduler
    return app
