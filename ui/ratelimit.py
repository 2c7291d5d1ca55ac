"""A per-client token bucket, in memory (one process; enough for one server)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """`per_minute` requests per key per minute, with bursts up to `per_minute`.

    Each key has a bucket of `per_minute` tokens (or its own limit, given per call) that refills
    continuously; a request takes one token or is refused. A limit <= 0 disables limiting.
    >>> limiter = RateLimiter(2, clock=lambda: 0.0)
    >>> [limiter.allow("a") for _ in range(3)], limiter.allow("portal", per_minute=600)
    ([True, True, False], True)
    """

    MAX_KEYS = 10_000  # beyond this many clients, the least recently seen are forgotten

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        # key -> (tokens, last time, its limit), least recently seen first
        self._buckets: OrderedDict[str, tuple[float, float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, per_minute: int | None = None) -> bool:
        """Take a token for `key` (whose limit is `per_minute`, else the limiter's) if one is left."""
        limit = self.per_minute if per_minute is None else per_minute
        if limit <= 0:
            return True
        now = self._clock()
        with self._lock:
            tokens, last, _ = self._buckets.get(key, (float(limit), now, limit))
            tokens = min(float(limit), tokens + (now - last) * limit / 60.0)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now, limit)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.MAX_KEYS:  # O(1) a request, however many clients rotate
                self._buckets.popitem(last=False)
        return allowed

    def retry_after(self, key: str) -> int:
        """Seconds until `key` has a token again (at least 1)."""
        with self._lock:
            tokens, last, limit = self._buckets.get(key, (float(self.per_minute), self._clock(), self.per_minute))
        if limit <= 0:
            return 0
        missing = max(0.0, 1.0 - tokens - (self._clock() - last) * limit / 60.0)
        return max(1, int(missing * 60.0 / limit + 0.999))
