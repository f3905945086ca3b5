"""Trent: a self-hosted key management service modelled on AWS KMS.

:func:`create_app` builds everything; importing a module starts nothing. This
module is where the layers meet: it opens the application's database
(:func:`open_store`), builds the repositories on it and hands them to the
operations (:func:`build_services`). Nothing else but the CLI and the store
itself imports :mod:`app.store`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask

from app.config import Settings, load_settings

if TYPE_CHECKING:
    from app.crypto.root_key import RootKeyProvider
    from app.metrics import Metrics
    from app.operations.services import Services
    from app.store.database import Store

__version__ = "0.1.0"


def open_store(
    settings: Settings,
    *,
    create: bool = False,
    pool_size: int | None = None,
    cache: bool = True,
) -> Store:
    """The database ``settings`` name, as a :class:`~app.store.database.Store`
    (not connected yet).

    Only ``create`` (``trent init``) may create an SQLite file. ``cache``:
    serve committed rows from the read cache for
    ``TRENT_METADATA_CACHE_SECONDS``; without it (a command) nothing is
    cached, but what it commits, the servers of this host see at once.
    """
    from app.store.database import open_store as open_database_store
    from app.store.database import parse_identity

    counter = settings.change_counter_path
    return open_database_store(
        settings.database,
        pool_size=pool_size or settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout,
        busy_timeout_ms=settings.db_busy_timeout_ms,
        create=create,
        identity=parse_identity(settings.database_identity),
        counter_file=counter if cache or counter.parent.is_dir() else None,
        cache_seconds=settings.metadata_cache_seconds if cache else 0.0,
    )


def build_services(
    settings: Settings,
    store: Store,
    *,
    root_key: RootKeyProvider | None = None,
    clock: Callable[[], float] = time.time,
    metrics: Metrics | None = None,
) -> Services:
    """The operations' :class:`~app.operations.services.Services` on ``store``:
    its repositories, the root key (loaded from ``settings`` if not given;
    no root key, no service), the clock, the metrics (which watch the
    store's pool and read cache)."""
    from app.crypto.root_key import load_root_key
    from app.metrics import Metrics
    from app.operations.services import Services
    from app.store.access_keys import SqlAccessKeyRepository
    from app.store.audit.repository import SqlAuditRepository
    from app.store.grants import SqlGrantRepository
    from app.store.identity_policies import SqlIdentityPolicyRepository
    from app.store.import_tokens import SqlImportTokenRepository
    from app.store.key_stores import SqlKeyStoreRepository
    from app.store.keys import SqlKeyRepository

    metrics = metrics or Metrics()
    metrics.watch(pool_use=store.pool_use, cache_lookups=store.read_cache.lookups)
    return Services(
        settings=settings,
        root_key=root_key or load_root_key(settings),
        database=store,
        keys=SqlKeyRepository(store),
        access_keys=SqlAccessKeyRepository(store),
        identity_policies=SqlIdentityPolicyRepository(store),
        grants=SqlGrantRepository(store),
        import_tokens=SqlImportTokenRepository(store),
        key_stores=SqlKeyStoreRepository(store),
        audit_repository=SqlAuditRepository(store),
        clock=clock,
        metrics=metrics,
    )


def create_app(settings: Settings | None = None) -> Flask:
    """The WSGI application for ``settings`` (read from the environment if absent)."""
    from app.api.door import RestDoor
    from app.api.keys import KeyConverter
    from app.api.openapi import ROUTES as REST_ROUTES
    from app.auth.jwt_verifier import TokenVerifier
    from app.auth.local_issuer import LocalIssuer
    from app.awsapi.door import AwsDoor
    from app.console.door import ConsoleDoor
    from app.console.routes import ROUTES as CONSOLE_ROUTES
    from app.metrics.multiprocess import directory as shared_metrics_directory
    from app.operations.access_keys import sigv4_verifier
    from app.operations.scheduler import Scheduler
    from app.pipeline.flask_hooks import refuse_flask_hooks
    from app.pipeline.pipeline import Pipeline
    from app.pipeline.runtime import Runtime, install

    settings = settings or load_settings()
    logging.getLogger("trent").setLevel(settings.log_level)
    # peewee logs every statement with its parameters at DEBUG: sealed key
    # material, policy documents. Those never go to a log, whatever the level.
    logging.getLogger("peewee").setLevel(logging.INFO)

    store = open_store(settings)
    local_issuer = LocalIssuer.load(settings) if settings.local_issuer else None
    # No root key, no service: load_root_key raises and start-up stops here.
    services = build_services(settings, store)
    verifier = TokenVerifier(settings, local_issuer=local_issuer)

    # Flask holds the application's configuration and extensions; every
    # request is served by the pipeline (app.pipeline), never by Flask's dispatch.
    app = Flask("trent", static_folder=None)
    runtime = Runtime(services=services, verifier=verifier, sigv4=sigv4_verifier(services))
    install(app, runtime)
    rest = RestDoor(runtime, REST_ROUTES)
    pipeline = Pipeline(
        runtime,
        (rest, AwsDoor(runtime), ConsoleDoor(runtime, CONSOLE_ROUTES)),
        converters={"key": KeyConverter},
        not_found_door=rest,
        before_first_request=lambda: refuse_flask_hooks(app),
    )
    app.url_map = pipeline.url_map
    refuse_flask_hooks(app)
    app.wsgi_app = pipeline  # type: ignore[method-assign]
    if shared_metrics_directory() is not None:
        # One of `trent serve`'s workers: keep its gauges current for the
        # scrapes another worker answers.
        services.metrics.start_sampling()
    if settings.scheduler_interval_seconds > 0:
        scheduler = Scheduler(services, settings.scheduler_interval_seconds)
        scheduler.start()
        app.extensions["trent.scheduler"] = scheduler
    return app
