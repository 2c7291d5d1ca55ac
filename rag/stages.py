"""Where indexing time goes: wall seconds per pipeline stage, summed over a process's work.

The pipeline marks its stages (`with stage("embed"): …`); `benchmarks/indexing.py` reads
the totals. Stages do not nest, and each is timed where it runs on the calling thread, so
their sum is at most the wall time. Counting costs two clock reads per marked block.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

__all__ = ["STAGES", "stage", "stage_seconds", "reset_stages", "count", "counts"]

# In pipeline order: read files, clean them, chunk, model tokenisation, the model itself,
# BM25 tokenisation (jieba) and its arrays, the FAISS index, writing the index.
STAGES = ("load", "clean", "chunk", "tokenise", "embed", "bm25", "faiss", "write")

_seconds: defaultdict[str, float] = defaultdict(float)
_counts: defaultdict[str, int] = defaultdict(int)
_lock = threading.Lock()


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the block's wall time to stage `name`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        with _lock:
            _seconds[name] += elapsed


def count(name: str, n: int) -> None:
    """Add `n` to counter `name` (e.g. tokens embedded, tokens of padding)."""
    with _lock:
        _counts[name] += n


def stage_seconds() -> dict[str, float]:
    with _lock:
        return dict(_seconds)


def counts() -> dict[str, int]:
    with _lock:
        return dict(_counts)


def reset_stages() -> None:
    with _lock:
        _seconds.clear()
        _counts.clear()
