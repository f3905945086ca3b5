from __future__ import annotations

import pickle
import threading

import pytest

from app.crypto.cache import MaterialCache
from app.crypto.material import KeyMaterial, generate_material
from tests.unit.crypto.leaks import assert_no_leak

ARN_A = "arn:aws:kms:us-east-1:111122223333:key/a"
ARN_B = "arn:aws:kms:us-east-1:111122223333:key/b"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_hit_and_miss(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=10, clock=clock)
    material = generate_material()
    assert cache.get(ARN_A, 1) is None
    cache.put(ARN_A, 1, material)
    assert cache.get(ARN_A, 1) is material
    assert cache.get(ARN_A, 2) is None
    assert cache.get(ARN_B, 1) is None


def test_entries_expire_and_reads_do_not_extend_them(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=10, clock=clock)
    cache.put(ARN_A, 1, generate_material())
    clock.now += 29.9
    assert cache.get(ARN_A, 1) is not None
    clock.now += 0.1
    assert cache.get(ARN_A, 1) is None
    assert len(cache) == 0


def test_zero_ttl_disables_caching(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=0, max_entries=10, clock=clock)
    cache.put(ARN_A, 1, generate_material())
    assert cache.get(ARN_A, 1) is None
    assert len(cache) == 0


def test_bounded_with_least_recently_used_evicted(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=3, clock=clock)
    for version in (1, 2, 3):
        cache.put(ARN_A, version, generate_material())
    assert cache.get(ARN_A, 1) is not None  # 1 is now the most recently used
    cache.put(ARN_A, 4, generate_material())
    assert len(cache) == 3
    assert cache.get(ARN_A, 2) is None
    assert all(cache.get(ARN_A, v) is not None for v in (1, 3, 4))


def test_expired_entries_are_dropped_before_live_ones(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=2, clock=clock)
    cache.put(ARN_A, 1, generate_material())
    clock.now += 20
    cache.put(ARN_A, 2, generate_material())
    cache.get(ARN_A, 1)
    clock.now += 15  # version 1 expired, version 2 alive
    cache.put(ARN_A, 3, generate_material())
    assert cache.get(ARN_A, 2) is not None
    assert cache.get(ARN_A, 3) is not None


def test_invalidate_forgets_every_version_of_one_key(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=10, clock=clock)
    for version in (1, 2):
        cache.put(ARN_A, version, generate_material())
        cache.put(ARN_B, version, generate_material())
    cache.invalidate(ARN_A)
    assert cache.get(ARN_A, 1) is None and cache.get(ARN_A, 2) is None
    assert cache.get(ARN_B, 1) is not None and cache.get(ARN_B, 2) is not None
    cache.clear()
    assert len(cache) == 0


def test_get_or_load(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=10, clock=clock)
    loads: list[int] = []
    material = generate_material()

    def load() -> KeyMaterial:
        loads.append(1)
        return material

    assert cache.get_or_load(ARN_A, 1, load) is material
    assert cache.get_or_load(ARN_A, 1, load) is material
    assert len(loads) == 1
    clock.now += 31
    cache.get_or_load(ARN_A, 1, load)
    assert len(loads) == 2


def test_only_key_material_is_accepted(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=10, clock=clock)
    with pytest.raises(TypeError):
        cache.put(ARN_A, 1, bytes(32))  # type: ignore[arg-type]


@pytest.mark.parametrize(("ttl", "size"), [(-1, 10), (30, 0)])
def test_invalid_configuration(ttl: float, size: int) -> None:
    with pytest.raises(ValueError):
        MaterialCache(ttl_seconds=ttl, max_entries=size)


def test_values_never_appear_in_repr(clock: FakeClock) -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=10, clock=clock)
    material = generate_material()
    cache.put(ARN_A, 1, material)
    assert_no_leak(repr(cache) + str(cache), material.expose_secret_bytes())
    assert "entries=1" in repr(cache)
    with pytest.raises(TypeError):
        pickle.dumps(cache)


def test_concurrent_use_keeps_the_bound() -> None:
    cache = MaterialCache(ttl_seconds=30, max_entries=8)
    material = generate_material()

    def worker(offset: int) -> None:
        for version in range(200):
            cache.put(ARN_A, offset * 1000 + version, material)
            cache.get(ARN_A, offset * 1000 + version - 1)
            if version % 50 == 0:
                cache.invalidate(ARN_A)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) <= 8
