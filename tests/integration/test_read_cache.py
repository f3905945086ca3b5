"""The read cache: committed rows served from memory, never a change made on
this host missed, never a write transaction served from it, and staleness
from elsewhere bounded by its time-to-live."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.store.read_cache import ChangeCounter, ReadCache
from tests.api.kms import Kms
from tests.conftest import TokenFactory, store_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_loaded_once_until_it_expires() -> None:
    clock = Clock()
    cache = ReadCache(ChangeCounter(None), ttl_seconds=2, clock=clock)
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert cache.get("k", load) == 1
    assert cache.get("k", load) == 1
    clock.now += 1.9
    assert cache.get("k", load) == 1
    clock.now += 0.2
    assert cache.get("k", load) == 2  # expired: read again


def test_none_is_cached_and_zero_ttl_caches_nothing() -> None:
    counter = ChangeCounter(None)
    cache = ReadCache(counter, ttl_seconds=5)
    calls: list[None] = []
    assert cache.get("missing", lambda: calls.append(None)) is None
    assert cache.get("missing", lambda: calls.append(None)) is None
    assert len(calls) == 1
    off = ReadCache(counter, ttl_seconds=0)
    assert [off.get("k", lambda n=n: n) for n in range(3)] == [0, 1, 2]  # type: ignore[misc]


def test_a_change_in_another_process_is_seen_at_once(tmp_path: Path) -> None:
    # Two processes of one host map the same counter file.
    here = ReadCache(ChangeCounter(tmp_path / "change-counter"), ttl_seconds=60)
    there = ChangeCounter(tmp_path / "change-counter")
    assert here.get("key", lambda: "enabled") == "enabled"
    assert here.get("key", lambda: "disabled") == "enabled"
    there.bump()
    assert here.get("key", lambda: "disabled") == "disabled"


def test_a_change_committed_while_loading_does_not_stick(tmp_path: Path) -> None:
    counter = ChangeCounter(tmp_path / "change-counter")
    cache = ReadCache(counter, ttl_seconds=60)

    def load_during_a_commit() -> str:
        counter.bump()  # another writer commits after we read the counter
        return "old"

    assert cache.get("key", load_during_a_commit) == "old"
    assert cache.get("key", lambda: "new") == "new"


def test_the_cache_is_bounded() -> None:
    cache = ReadCache(ChangeCounter(None), ttl_seconds=60, max_entries=3)
    for n in range(10):
        cache.get(n, lambda n=n: n)  # type: ignore[misc]
    assert len(cache) == 3


def test_commits_invalidate_but_rollbacks_and_audit_appends_do_not(app: Flask) -> None:
    store = store_of(app)
    counter = store.read_cache.counter
    before = counter.value()
    with store.connection():
        with store.transaction(invalidates=False):
            pass
        assert counter.value() == before
        with pytest.raises(RuntimeError), store.transaction():
            raise RuntimeError("rolled back")
        assert counter.value() == before
        with store.transaction():
            with store.transaction(invalidates=False):
                pass
        assert counter.value() != before


def test_the_app_serves_the_rows_of_a_warm_request_from_its_cache(
    app: Flask, client: FlaskClient, token: TokenFactory
) -> None:
    kms = Kms(client, token(root=True))
    key_id = kms.new_key()
    cache = store_of(app).read_cache
    assert len(cache) == 0  # a write transaction reads fresh and caches nothing
    assert kms.encrypt(key_id, b"x").status_code == 200
    # The key and the caller's identity policies, for the next requests.
    assert len(cache) == 2


def test_a_disabled_key_is_refused_at_once_by_a_warm_cache(
    client: FlaskClient, token: TokenFactory
) -> None:
    kms = Kms(client, token(root=True))
    key_id = kms.new_key()
    for _ in range(2):  # the key row is in the cache now
        assert kms.encrypt(key_id, b"x").status_code == 200
    assert kms.disable(key_id).status_code == 200
    refused = kms.encrypt(key_id, b"x")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "DisabledException"
    assert kms.enable(key_id).status_code == 200
    assert kms.encrypt(key_id, b"x").status_code == 200
