"""Storage: migrations build the schema the models expect, on SQLite and
PostgreSQL; an unreachable or exhausted database is a 503, never a 400 or a hang."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from app import create_app
from app.config import Settings
from app.store.database import bind_database, connection, database_proxy, open_database
from app.store.migrate import apply_migrations, pending_migrations, schema_drift
from tests.conftest import TokenFactory, bearer


def _migrate_and_check(url: str) -> None:
    bind_database(open_database(url, pool_size=2, pool_timeout=2, busy_timeout_ms=5000))
    with connection():
        assert pending_migrations()
        applied = apply_migrations()
        assert applied == sorted(applied) and applied[0].startswith("0001")
        assert schema_drift() == ""
        assert pending_migrations() == []
        assert apply_migrations() == []  # idempotent


def test_migrations_build_the_model_schema_on_sqlite(tmp_path: Path) -> None:
    _migrate_and_check(f"sqlite:///{tmp_path / 'trent.db'}")


@pytest.mark.postgres
def test_migrations_build_the_model_schema_on_postgresql(postgres_url: str) -> None:
    _migrate_and_check(postgres_url)


def test_sqlite_is_durable_and_strict(tmp_path: Path) -> None:
    bind_database(
        open_database(
            f"sqlite:///{tmp_path / 'trent.db'}", pool_size=1, pool_timeout=1, busy_timeout_ms=1234
        )
    )
    with connection():
        pragma = {
            name: database_proxy.execute_sql(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 1234,
    }


def test_unreachable_postgresql_is_a_503(settings: Settings, token: TokenFactory) -> None:
    # Nothing listens on port 9 of the loopback: connections are refused.
    down = replace(settings, database_url="postgresql://trent@127.0.0.1:9/trent", db_pool_timeout=1)
    client = create_app(down).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["error"]["code"] == "ServiceUnavailableException"
    assert ready.headers["Retry-After"]
    call = client.get("/v1/keys", headers=bearer(token(root=True)))
    assert call.status_code == 503


def test_a_vanished_sqlite_database_is_a_503(
    tmp_path: Path, settings: Settings, token: TokenFactory
) -> None:
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    moved = replace(settings, database_url=f"sqlite:///{db_dir / 'trent.db'}")
    client = create_app(moved).test_client()
    shutil.rmtree(db_dir)
    assert client.get("/readyz").status_code == 503
    assert client.get("/v1/keys", headers=bearer(token(root=True))).status_code == 503


@pytest.mark.postgres
def test_an_exhausted_pool_is_a_503_after_a_bounded_wait(
    settings: Settings, postgres_url: str, token: TokenFactory
) -> None:
    bind_database(open_database(postgres_url, pool_size=1, pool_timeout=1, busy_timeout_ms=1))
    with connection():
        apply_migrations()
    settings = replace(settings, database_url=postgres_url, db_pool_size=1, db_pool_timeout=0.5)
    app = create_app(settings)
    client = app.test_client()
    held = threading.Event()
    release = threading.Event()

    def hold_the_only_connection() -> None:
        with connection():
            database_proxy.execute_sql("SELECT 1")
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_only_connection)
    holder.start()
    try:
        assert held.wait(5)
        started = time.monotonic()
        response = client.get("/v1/keys", headers=bearer(token(root=True)))
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "ServiceUnavailableException"
    assert waited < 5
    # Once the connection is back, the service recovers by itself.
    assert client.get("/v1/keys", headers=bearer(token(root=True))).status_code == 200
