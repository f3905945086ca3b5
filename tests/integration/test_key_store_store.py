"""Custom key stores in a real database (SQLite, and PostgreSQL when
configured): what the repository writes it reads back, a store's keys are
found by their column, and a name is unique in its account."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import peewee
import pytest

from app import create_app
from app.keys.key_stores import ConnectionState, CustomKeyStore
from app.keys.model import Key, KeyState
from tests.conftest import ACCOUNT, init_data_dir, services_of


def _store(number: int, account: str = ACCOUNT) -> CustomKeyStore:
    return CustomKeyStore(
        store_id=f"cks-{number:017x}",
        account=account,
        name=f"store-{number}",
        cluster_id=f"cluster-{number:011d}",
        token_label=f"token-{number}",
        trust_anchor="",
        sealed_password=bytes([number]) * 40,
        state=ConnectionState.DISCONNECTED,
        created_at=1_000.0 + number,
    )


def _key(number: int, store_id: str) -> Key:
    key_id = f"00000000-0000-4000-8000-{number:012d}"
    return Key(
        key_id=key_id,
        account=ACCOUNT,
        arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}",
        description="",
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        origin="AWS_CLOUDHSM",
        state=KeyState.ENABLED,
        created_at=1_000.0,
        policy="{}",
        current_version=1,
        custom_key_store_id=store_id,
    )


def _stores_work(data_dir: Path, database_url: str | None) -> None:
    services = services_of(create_app(init_data_dir(data_dir, database_url)))
    repository = services.key_stores
    with services.connection():
        with services.unit_of_work():
            for number in (2, 1, 3):
                repository.insert(_store(number))
            repository.insert(_store(9, account="444455556666"))
        assert repository.get(_store(1).store_id) == _store(1)
        assert repository.get("cks-00000000000000000") is None
        assert [s.store_id for s in repository.list_for(ACCOUNT)] == [
            _store(n).store_id for n in (1, 2, 3)
        ]
        assert len(repository.all_stores()) == 4
        connected = replace(
            _store(2),
            name="renamed",
            state=ConnectionState.FAILED,
            error_code="INVALID_CREDENTIALS",
            sealed_password=b"\x07" * 40,
        )
        with services.unit_of_work():
            repository.update(connected)
        assert repository.get(connected.store_id) == connected
        with services.unit_of_work():
            services.keys.insert_key(_key(1, _store(3).store_id), None, None, {})
        assert repository.count_keys(_store(3).store_id) == 1
        assert repository.keys_in(_store(3).store_id) == [(_key(1, "").key_id, _key(1, "").arn)]
        assert repository.count_keys(_store(1).store_id) == 0
        with pytest.raises(peewee.IntegrityError), services.unit_of_work():
            repository.insert(replace(_store(4), name=_store(1).name))
        with services.unit_of_work():
            repository.delete(_store(1).store_id)
        assert repository.get(_store(1).store_id) is None


def test_key_stores_in_sqlite(tmp_path: Path) -> None:
    _stores_work(tmp_path / "var", None)


@pytest.mark.postgres
def test_key_stores_in_postgresql(tmp_path: Path, postgres_url: str) -> None:
    _stores_work(tmp_path / "var", postgres_url)
