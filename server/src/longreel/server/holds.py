"""A cap on the calls one caller may hold open on the server: WaitOperation
and ReadVideoContent, each held up to a minute (a wait costs ~21 KB; 20,000
held by one caller took 546 MB).

The caller is the principal, or under `--auth none` the peer's address (the
gate's rate-limit key). Past the cap, RESOURCE_EXHAUSTED with RetryInfo, so a
client with a retry policy comes back later on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import ApiError

HELD_METHODS = frozenset(
    {
        "/google.longrunning.Operations/WaitOperation",
        "/longreel.video.v1.VideoService/ReadVideoContent",
    }
)
RETRY_AFTER = 5.0  # seconds a refused caller is told to wait


Refuse = Callable[[str, str, float], ApiError]  # (reason, message, retry after) -> error


class Holds:
    def __init__(self, per_caller: int, refuse: Refuse) -> None:
        self.per_caller = per_caller
        self._refuse = refuse  # builds the error, and counts it
        self._counts: Counter[str] = Counter()

    @contextmanager
    def held(self, caller: str) -> Iterator[None]:
        """Count one held call of caller while inside; ApiError past the cap."""
        if self._counts[caller] >= self.per_caller:
            raise self._refuse(
                "TOO_MANY_WAITS",
                f"at most {self.per_caller} held waits and reads per caller;"
                f" retry in {RETRY_AFTER:g} s",
                RETRY_AFTER,
            )
        self._counts[caller] += 1
        try:
            yield
        finally:
            self._counts[caller] -= 1
            if self._counts[caller] <= 0:
                del self._counts[caller]  # no memory kept of callers that hold nothing
