"""Cutting list pages to a byte budget, for every List method alike.

page_size bounds the items, not the bytes: 1,000 operations that each carry a
10,000-character plot pass the 4 MiB a gRPC client accepts by default, and no
retry fixes that. A page ends early instead, with a next_page_token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from google.protobuf.message import Message

MAX_PAGE_BYTES = 2 << 20  # serialized items in one page: half a default client's 4 MiB
_FRAMING = 8  # bytes of tag and length around each item in the response, at most

M = TypeVar("M", bound=Message)


def fit(items: Sequence[M], budget: int = MAX_PAGE_BYTES) -> list[M]:
    """The first items whose serialized size fits budget (always at least one:
    a single item is bounded by the request limits, far under the budget)."""
    total = 0
    for count, item in enumerate(items):
        total += item.ByteSize() + _FRAMING
        if total > budget and count > 0:
            return list(items[:count])
    return list(items)
