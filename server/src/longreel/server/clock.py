"""Wall-clock time in the unit the store keeps: integer microseconds."""

from __future__ import annotations

import time

SECOND = 1_000_000  # microseconds


def now() -> int:
    return time.time_ns() // 1_000
