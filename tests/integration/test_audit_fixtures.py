"""Fixtures and helpers shared by the ``test_audit_*`` modules (no tests here).

``audit_env`` is a migrated database (SQLite, and PostgreSQL when
``TRENT_TEST_POSTGRES_URL`` is set) with an :class:`AuditLog` on an injected
clock, a connection held for the test, and the checkpoint export file kept
in its own directory, away from the database. :meth:`AuditEnv.reopen` opens
the database afresh (after a test replaced it) with a new log on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.audit.events import AuditEvent
from app.audit.log import AuditLog
from app.config import Settings
from app.crypto.root_key import load_root_key
from app.store.audit.repository import SqlAuditRepository
from app.store.database import Store, open_store
from tests.conftest import ACCOUNT, init_data_dir

KEY_1 = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-1111-4111-8111-111111111111"
KEY_2 = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/22222222-2222-4222-8222-222222222222"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"

#: A fixed start time (2027-01-15T08:00:00Z), so that tests do not depend on the wall clock.
T0 = 1_800_000_000.0


@dataclass
class FakeClock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class AuditEnv:
    engine: str
    settings: Settings
    store: Store
    log: AuditLog
    clock: FakeClock
    export_file: Path
    tmp_path: Path
    appended: list[int] = field(default_factory=list)
    held: ExitStack = field(default_factory=ExitStack)

    def append(self, count: int = 1, **overrides: Any) -> list[int]:
        """Append ``count`` events, each in its own transaction (as in production)."""
        seqs = []
        for _ in range(count):
            event = make_event(len(self.appended) + 1, time=self.clock.now, **overrides)
            with self.store.transaction():
                seqs.append(self.log.append(event))
            self.appended.extend(seqs[-1:])
            self.clock.now += 1
        return seqs


def make_event(number: int, *, time: float = T0, **overrides: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_time": time,
        "request_id": f"req-{number}",
        "door": "rest",
        "event_name": "Encrypt",
        "outcome": "success",
        "http_status": 200,
        "source_ip": "192.0.2.10",
        "user_agent": "pytest",
        "principal_arn": ALICE,
        "principal_account": ACCOUNT,
        "principal_type": "user",
        "auth_method": "jwt",
        "token_id": f"jti-{number}",
        "resources": (KEY_1,),
        "request_parameters": {"KeyId": KEY_1, "EncryptionContext": {"n": str(number)}},
        "encryption_context": {"n": str(number)},
        "key_version": 1,
        "latency_ms": 2.5,
    }
    values.update(overrides)
    return AuditEvent(**values)


def open_pool(settings: Settings, size: int = 24) -> Store:
    return open_store(settings.database, pool_size=size, pool_timeout=10, busy_timeout_ms=20_000)


def audit_log(settings: Settings, store: Store, clock: FakeClock, export_file: Path) -> AuditLog:
    return AuditLog(
        load_root_key(settings),
        settings,
        SqlAuditRepository(store),
        clock,
        checkpoint_file=export_file,
    )


def reopen(env: AuditEnv, between: Callable[[], object] = lambda: None) -> None:
    """Close the env's database, run ``between``, open it again with a new
    log on it (same clock and export file), and hold a connection."""
    env.held.close()
    env.store.close()
    between()
    env.store = open_pool(env.settings)
    env.log = audit_log(env.settings, env.store, env.clock, env.export_file)
    env.held.enter_context(env.store.connection())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def audit_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditEnv]:
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    settings = init_data_dir(tmp_path / "var", database_url=url)
    store = open_pool(settings)
    clock = FakeClock()
    export_file = tmp_path / "elsewhere" / "checkpoints.jsonl"
    log = audit_log(settings, store, clock, export_file)
    env = AuditEnv(request.param, settings, store, log, clock, export_file, tmp_path)
    with env.held:
        env.held.enter_context(store.connection())
        yield env
    env.store.close()
