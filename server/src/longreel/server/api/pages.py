"""Cutting list pages to a byte budget, for every List method alike.

page_size bounds the items, not the bytes: 1,000 operations that each carry a
10,000-character plot pass the 4 MiB a gRPC client accepts by default, and no
retry fixes that. A page ends early instead, with a next_page_token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from longreel.common.api_names import ORDER_BY_KEY

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


# The orders a caller may ask for in the ORDER_BY_KEY metadata (AIP-132's
# syntax): "create_time desc" lists the latest first. Unset, or "create_time"
# ("create_time asc"), is the order they were made in.
ORDERS = {"create_time": False, "create_time asc": False, "create_time desc": True}


def newest_first(metadata: Iterable[tuple[str, str | bytes]] | None) -> bool | None:
    """Whether the call's order_by asks for the latest first; None if it names
    an order this server does not know."""
    wanted = next((str(v) for k, v in metadata or () if k == ORDER_BY_KEY), "")
    if not wanted.strip():
        return False
    return ORDERS.get(" ".join(wanted.split()).lower())
