"""postbot.store.rules: what a new row holds."""

from __future__ import annotations

import uuid

from postbot.store import rules


def test_delivery_keys_are_random_uuids_as_uuid4_writes_them() -> None:
    keys = rules.delivery_keys(2_000)
    assert len(keys) == 2_000 and len(set(keys)) == 2_000
    for key in keys:
        parsed = uuid.UUID(hex=key)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert parsed.hex == key  # 32 lowercase hex digits, as uuid4().hex
    # Every bit but the six fixed ones varies: none is stuck at 0 or at 1.
    fixed = (0xC000 << 48) | (0xF000 << 64)
    values = [int(key, 16) for key in keys]
    ones = zeros = 0
    for value in values:
        ones |= value
        zeros |= ~value & ((1 << 128) - 1)
    free = ~fixed & ((1 << 128) - 1)
    assert ones & free == free and zeros & free == free
    assert rules.delivery_keys(0) == []
