"""Shared fixtures: an initialised data directory, an app, a client, tokens.

The database is SQLite in a temporary directory by default. With
``TRENT_TEST_POSTGRES_URL`` set, fixtures marked ``postgres`` get a fresh
PostgreSQL database of their own on that server.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app, open_store
from app.auth.local_issuer import LocalIssuer
from app.config import Settings, load_settings
from app.crypto.issuer_keys import create_issuer_key
from app.crypto.root_key import FileRootKeyProvider
from app.operations.services import Services
from app.store.database import Store
from app.store.migrate import apply_migrations

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
POSTGRES_URL = os.environ.get("TRENT_TEST_POSTGRES_URL")


@contextmanager
def failing_audit_inserts(settings: Settings) -> Iterator[None]:
    """While inside, every insert into the audit table fails, as on a full disk
    (SQLite: a trigger that aborts; made and dropped on a connection of its own)."""
    db = sqlite3.connect(settings.data_dir / "trent.db")
    try:
        db.execute(
            "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'simulated audit failure'); END"
        )
        db.commit()
        yield
    finally:
        db.execute("DROP TRIGGER IF EXISTS audit_broken")
        db.commit()
        db.close()


def failures_of_concurrent_calls(call: Callable[[int], object], count: int) -> list[Exception]:
    """Call ``call(0)`` … ``call(count - 1)`` at once, one thread each; the
    :class:`~app.errors.KmsError` each raised, if any."""
    from app.errors import KmsError

    failures: list[Exception] = []

    def run(n: int) -> None:
        try:
            call(n)
        except KmsError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def init_data_dir(data_dir: Path, database_url: str | None = None) -> Settings:
    """What `trent init` does, for a test: root key, issuer, migrated schema."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {"TRENT_DATA_DIR": str(data_dir), "TRENT_SCHEDULER_INTERVAL": "0"}
    if database_url:
        env["TRENT_DATABASE_URL"] = database_url
    settings = load_settings(env)
    FileRootKeyProvider.create(settings.root_key_path)
    settings.issuer_dir.mkdir(mode=0o700)
    create_issuer_key(settings.issuer_dir)
    store = open_store(settings, create=True, pool_size=2, cache=False)
    with store.connection():
        apply_migrations(store)
    store.close()
    return settings


def services_of(app: Flask) -> Services:
    """The :class:`Services` an app was built with (its repositories, its store)."""
    services: Services = app.extensions["trent"].services
    return services


def store_of(app: Flask) -> Store:
    """The database of an app, for tests that look at rows directly."""
    store = services_of(app).database
    assert isinstance(store, Store)
    return store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return init_data_dir(tmp_path / "var")


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def issuer(settings: Settings) -> LocalIssuer:
    return LocalIssuer.load(settings)


TokenFactory = Callable[..., str]


@pytest.fixture
def token(issuer: LocalIssuer) -> TokenFactory:
    """``token(user="alice")``, ``token(role="App")``, ``token(root=True)``,
    ``token(account=OTHER_ACCOUNT, user="eve")``."""

    def make(
        *,
        account: str = ACCOUNT,
        user: str | None = None,
        role: str | None = None,
        root: bool = False,
        tags: dict[str, str] | None = None,
    ) -> str:
        return issuer.mint(account, user=user, role=role, root=root, tags=tags or {})

    return make


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the configured server."""
    if not POSTGRES_URL:
        pytest.skip("TRENT_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    import psycopg2

    name = f"trent_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
