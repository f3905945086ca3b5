"""Request ids (random version 4 UUIDs) and audit event ids (version 7: time,
then random), in their usual text form."""

from __future__ import annotations

import uuid

from app.pipeline.call import uuid4_text, uuid7_text


def test_an_id_is_a_version_4_uuid_as_python_writes_it() -> None:
    seen = set()
    for _ in range(2000):
        text = uuid4_text()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        seen.add(text)
    assert len(seen) == 2000


def test_every_random_bit_varies() -> None:
    # 122 random bits: over many ids each of them is seen both set and clear.
    ones = 0
    zeros = 0
    for _ in range(500):
        value = uuid.UUID(uuid4_text()).int
        ones |= value
        zeros |= ~value
    fixed = (0xF << 76) | (0x3 << 62)  # the version and variant bits
    random_bits = ((1 << 128) - 1) & ~fixed
    assert ones & random_bits == random_bits
    assert zeros & random_bits == random_bits


def test_an_event_id_is_a_version_7_uuid_of_its_millisecond() -> None:
    now = 1_780_000_000.123456
    seen = set()
    for _ in range(2000):
        text = uuid7_text(now)
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == 1_780_000_000_123  # the first 48 bits
        seen.add(text)
    assert len(seen) == 2000  # the random bits keep ids of one millisecond apart


def test_event_ids_of_later_milliseconds_sort_after_earlier_ones() -> None:
    ids = [uuid7_text(1_780_000_000 + step / 1000) for step in range(0, 5000, 7)]
    assert ids == sorted(ids)
    assert uuid7_text(-5.0).startswith("00000000-0000-7")  # clamped, never an error
    assert uuid7_text(1e20).startswith("ffffffff-ffff-7")


def test_every_random_bit_of_an_event_id_varies() -> None:
    ones = 0
    zeros = 0
    for _ in range(500):
        value = uuid.UUID(uuid7_text(1_780_000_000.0)).int
        ones |= value
        zeros |= ~value
    random_bits = ((1 << 80) - 1) & ~((0xF << 76) | (0x3 << 62))
    assert ones & random_bits == random_bits
    assert zeros & random_bits == random_bits
