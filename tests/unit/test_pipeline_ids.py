"""Request and event ids: random version 4 UUIDs in their usual text form."""

from __future__ import annotations

import uuid

from app.pipeline.call import uuid4_text


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
