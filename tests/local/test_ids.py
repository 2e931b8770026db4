"""The pool's random identifiers are version-4 UUIDs, written as str(uuid.uuid4())."""

from __future__ import annotations

import uuid

from repl.local.ids import random_id


def test_random_ids_are_uuid4_text() -> None:
    seen = set()
    for _ in range(2000):
        text = random_id()
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower-case hex, 8-4-4-4-12
        seen.add(text)
    assert len(seen) == 2000
    # every bit that is not the version's or the variant's varies
    bits = [uuid.UUID(random_id()).int for _ in range(512)]
    varying = 0
    for b in bits:
        varying |= b ^ bits[0]
    assert varying == (1 << 128) - 1 & ~(0xF << 76) & ~(0x3 << 62)
