"""Time and identifiers for services: one place to read the clock and mint ids."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A time-ordered, collision-resistant id (48 bits of milliseconds + 80 random bits, ULID-style)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return f"{prefix}_{''.join(reversed(chars)).lower()}"
