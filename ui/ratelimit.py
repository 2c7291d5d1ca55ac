"""A per-client token bucket, in memory (one process; enough for one server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """`per_minute` requests per key per minute, with bursts up to `per_minute`.

    Each key has a bucket of `per_minute` tokens that refills continuously;
    a request takes one token or is refused. `per_minute <= 0` disables limiting.
    >>> limiter = RateLimiter(2, clock=lambda: 0.0)
    >>> [limiter.allow("a") for _ in range(3)]
    [True, True, False]
    """

    MAX_KEYS = 10_000  # forget full buckets beyond this many clients

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Take a token for `key` if one is left."""
        if self.per_minute <= 0:
            return True
        now = self._clock()
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.MAX_KEYS:
                self._forget_full(now, rate)
        return allowed

    def retry_after(self, key: str) -> int:
        """Seconds until `key` has a token again (at least 1)."""
        if self.per_minute <= 0:
            return 0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), self._clock()))
        missing = max(0.0, 1.0 - tokens - (self._clock() - last) * self.per_minute / 60.0)
        return max(1, int(missing * 60.0 / self.per_minute + 0.999))

    def _forget_full(self, now: float, rate: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * rate >= self.per_minute:
                del self._buckets[key]
