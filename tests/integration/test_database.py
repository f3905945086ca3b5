"""Storage: migrations build the schema the models expect, on SQLite and
PostgreSQL; an unreachable or exhausted database is a 503, never a 400 or a hang."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import peewee
import pytest
from playhouse.migrations import Runner

from app import create_app
from app.config import Settings
from app.errors import ServiceUnavailableError
from app.store.database import open_store
from app.store.migrate import MIGRATIONS_DIR, apply_migrations, pending_migrations, schema_drift
from tests.conftest import TokenFactory, bearer, store_of


def _migrate_and_check(url: str) -> None:
    store = open_store(url, pool_size=2, pool_timeout=2, busy_timeout_ms=5000, create=True)
    with store.connection():
        assert pending_migrations(store)
        applied = apply_migrations(store)
        assert applied == sorted(applied) and applied[0].startswith("0001")
        assert schema_drift(store) == ""
        assert pending_migrations(store) == []
        assert apply_migrations(store) == []  # idempotent


def test_migrations_build_the_model_schema_on_sqlite(tmp_path: Path) -> None:
    _migrate_and_check(f"sqlite:///{tmp_path / 'trent.db'}")


@pytest.mark.postgres
def test_migrations_build_the_model_schema_on_postgresql(postgres_url: str) -> None:
    _migrate_and_check(postgres_url)


def _audit_indexes(store: Any) -> set[str]:
    return {index.name for index in store.database.get_indexes("audit_event")}


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_existing_audit_log_gets_the_sparse_columns_partial_indexes(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Migration 0009 on a database made before it: the error code and
    cross-account indexes are replaced by ones that hold only the events that
    have a value, and the schema is then the models' (and back again down)."""
    url = (
        f"sqlite:///{tmp_path / 'trent.db'}"
        if engine == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = open_store(url, pool_size=2, pool_timeout=2, busy_timeout_ms=5000, create=True)
    sparse = {
        "audit_event_error_code_seq",
        "audit_event_cross_account_seq",
        "audit_event_principal_account_error_code_seq",
    }
    partial = {name + "_where_set" for name in sparse}
    with store.connection():
        runner = Runner(store.database, directory=str(MIGRATIONS_DIR))
        runner.up("0008_audit_mac_key")
        assert sparse <= _audit_indexes(store) and not partial & _audit_indexes(store)
        assert runner.up() == ["0009_audit_sparse_indexes"]
        assert partial <= _audit_indexes(store) and not sparse & _audit_indexes(store)
        assert schema_drift(store) == ""
        runner.down("0009_audit_sparse_indexes")
        assert sparse <= _audit_indexes(store) and not partial & _audit_indexes(store)
    store.close()


def test_sqlite_is_durable_and_strict(tmp_path: Path) -> None:
    store = open_store(
        f"sqlite:///{tmp_path / 'trent.db'}",
        pool_size=1,
        pool_timeout=1,
        busy_timeout_ms=1234,
        create=True,
    )
    with store.connection():
        pragma = {
            name: store.execute_sql(f"PRAGMA {name}").fetchone()[0]
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
    migrating = open_store(postgres_url, pool_size=1, pool_timeout=1, busy_timeout_ms=1)
    with migrating.connection():
        apply_migrations(migrating)
    migrating.close()
    settings = replace(settings, database_url=postgres_url, db_pool_size=1, db_pool_timeout=0.5)
    app = create_app(settings)
    client = app.test_client()
    store = store_of(app)
    held = threading.Event()
    release = threading.Event()

    def hold_the_only_connection() -> None:
        with store.connection():
            store.execute_sql("SELECT 1")
            held.set()
            release.wait(300)  # set as soon as the request has been answered

    holder = threading.Thread(target=hold_the_only_connection)
    holder.start()
    try:
        assert held.wait(60)
        response = client.get("/v1/keys", headers=bearer(token(root=True)))
        # Answered while the only connection is still held: the pool's
        # timeout gave the 503 (no wall-clock bound on a loaded machine).
        still_held = holder.is_alive()
    finally:
        release.set()
        holder.join()
    assert still_held
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "ServiceUnavailableException"
    # Once the connection is back, the service recovers by itself.
    assert client.get("/v1/keys", headers=bearer(token(root=True))).status_code == 200


def test_only_init_creates_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "trent.db"
    store = open_store(f"sqlite:///{path}", pool_size=1, pool_timeout=1, busy_timeout_ms=1000)
    with pytest.raises(ServiceUnavailableError), store.connection():
        store.execute_sql("SELECT 1")
    assert not path.exists()
    store = open_store(
        f"sqlite:///{path}", pool_size=1, pool_timeout=1, busy_timeout_ms=1000, create=True
    )
    with store.connection():
        store.execute_sql("SELECT 1")
    assert path.exists()


def test_a_database_file_renamed_away_or_replaced_is_refused_until_it_is_back(
    settings: Settings,
) -> None:
    """What a server holds open stays its database: with the file gone from
    its path, or another file in its place, no connection opens and no write
    transaction starts (503); nothing creates a new database beside the
    old one's WAL. Once the file is back, everything works again."""
    path = settings.data_dir / "trent.db"
    moved = settings.data_dir / "trent.db.moved"
    store = open_store(settings.database, pool_size=4, pool_timeout=1, busy_timeout_ms=1000)
    with store.connection():
        store.execute_sql("SELECT 1")  # the file this process began with

    def write() -> None:
        with store.connection(), store.transaction():
            store.execute_sql("SELECT 1")

    def new_connection() -> None:
        store.database.close_all()  # nothing pooled: a connection of its own
        with store.connection():
            store.execute_sql("SELECT COUNT(*) FROM audit_event")

    path.rename(moved)
    for attempt in (write, new_connection):
        with pytest.raises((ServiceUnavailableError, peewee.OperationalError)):
            attempt()
    assert not path.exists(), "a new, empty database was created"
    shutil.copyfile(moved, path)  # a copy is another file: refused too
    for attempt in (write, new_connection):
        with pytest.raises((ServiceUnavailableError, peewee.OperationalError)):
            attempt()
    path.unlink()
    moved.rename(path)
    write()
    new_connection()


def _chattr(flag: str, *paths: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True).returncode == 0


def test_readyz_is_503_while_the_database_is_not_its_own_or_not_writable(
    settings: Settings,
) -> None:
    client = create_app(settings).test_client()
    assert client.get("/readyz").status_code == 200
    path = settings.data_dir / "trent.db"
    moved = settings.data_dir / "trent.db.moved"
    path.rename(moved)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    moved.rename(path)
    assert client.get("/readyz").status_code == 200
    if _chattr("+i", path):
        try:
            assert client.get("/readyz").status_code == 503
        finally:
            _chattr("-i", path)
    elif os.geteuid() != 0:
        path.chmod(0o400)
        try:
            assert client.get("/readyz").status_code == 503
        finally:
            path.chmod(0o600)
    else:
        pytest.skip("cannot make the database unwritable here (chattr +i failed as root)")
    assert client.get("/readyz").status_code == 200


def test_trent_init_creates_the_database_and_migrate_does_not(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import main

    data_dir = tmp_path / "var"
    data_dir.mkdir()
    env = {"TRENT_DATA_DIR": str(data_dir), "TRENT_SCHEDULER_INTERVAL": "0"}
    refused = CliRunner().invoke(main, ["migrate"], env=env)
    assert refused.exit_code != 0
    assert "database" in refused.output
    assert not (data_dir / "trent.db").exists()
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    assert (data_dir / "trent.db").exists()
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0
