"""Dense search with FAISS: choose, build, search (optionally filtered), read and write.

Vectors are L2-normalised, so inner product is cosine similarity. Position i
in a FAISS index is chunk i of the index (no id maps).

- flat (exact, IndexFlatIP) up to `FLAT_MAX_CHUNKS` chunks; memory-mappable;
- hnsw (IndexHNSWFlat, M=32) above that: sub-linear search, recall ≥ 0.95 at
  the recorded efSearch on clustered data (see tests/unit/test_dense.py);
- ivf (IndexIVFFlat) only when asked for explicitly.

Filtered search passes an `IDSelectorBitmap` to FAISS; when the allowed set is
small, or an approximate index returns fewer than k allowed results, it scores
the allowed vectors exactly instead, so a filter never silently shrinks results.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ...errors import IndexCorruptError

if TYPE_CHECKING:
    import faiss

__all__ = [
    "IndexType",
    "INDEX_TYPES",
    "FLAT_MAX_CHUNKS",
    "choose_index_type",
    "default_params",
    "build_dense",
    "search_dense",
    "write_dense",
    "read_dense",
    "dense_index_type",
    "configure_threads",
]

IndexType = Literal["flat", "hnsw", "ivf"]
INDEX_TYPES: tuple[IndexType, ...] = ("flat", "hnsw", "ivf")

# Exact search over 200k × 384 float32 (300 MB) takes ~20 ms per query on 2 cores:
# fine for an interactive assistant. Beyond that, HNSW.
FLAT_MAX_CHUNKS = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
# Below this many allowed chunks a filtered HNSW/IVF search is exact over the subset:
# cheaper than walking the graph, and always returns min(k, allowed) results.
BRUTE_FORCE_MAX = 20_000
# Below this many, exact scoring gathers the rows into numpy (faster than a FAISS scan
# with an ID selector, which still visits every position's bit).
SMALL_SUBSET = 2_000


def choose_index_type(n_chunks: int, override: str | None = None) -> IndexType:
    """flat up to FLAT_MAX_CHUNKS chunks, hnsw above; `override` forces one of INDEX_TYPES.

    >>> choose_index_type(1_000), choose_index_type(500_000), choose_index_type(10, "ivf")
    ('flat', 'hnsw', 'ivf')
    """
    if override is not None:
        if override not in INDEX_TYPES:
            raise ValueError(f"index type must be one of {INDEX_TYPES}, got {override!r}")
        return override  # type: ignore[return-value]
    return "flat" if n_chunks <= FLAT_MAX_CHUNKS else "hnsw"


def default_params(index_type: IndexType, n_vectors: int) -> dict[str, int]:
    """Build/search parameters recorded in the manifest.

    >>> default_params("ivf", 1_000_000)
    {'nlist': 4000, 'nprobe': 32}
    """
    if index_type == "flat":
        return {}
    if index_type == "hnsw":
        return {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}
    # ~4·√n lists, at least 39 training points per list (FAISS warns below that)
    nlist = int(max(1, min(4 * int(np.sqrt(max(n_vectors, 1))), max(n_vectors, 1) // 39)))
    return {"nlist": nlist, "nprobe": int(min(nlist, max(8, nlist // 125)))}


def build_dense(
    vectors: np.ndarray, index_type: IndexType, params: Mapping[str, int] | None = None
) -> faiss.Index:
    """A FAISS index over `vectors` (n, dim) float32, row i at position i."""
    import faiss

    configure_threads()
    x = _as_matrix(vectors)
    n, dim = x.shape
    p = dict(default_params(index_type, n))
    p.update(params or {})
    if index_type == "flat":
        index: Any = faiss.IndexFlatIP(dim)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, int(p["M"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(p["efConstruction"])
        index.hnsw.efSearch = int(p["efSearch"])
    elif index_type == "ivf":
        quantizer = faiss.IndexFlatIP(dim)
        nlist = int(min(p["nlist"], max(n, 1)))
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        if n:
            index.cp.seed = 1234  # k-means seed: same vectors, same lists
            index.train(x)
        index.nprobe = int(min(p["nprobe"], nlist))
    else:
        raise ValueError(f"index type must be one of {INDEX_TYPES}, got {index_type!r}")
    if n:
        index.add(x)
    if index_type == "ivf":
        index.make_direct_map()  # lets exact fallback reconstruct vectors by position
    return index


def dense_index_type(index: faiss.Index) -> IndexType:
    """Which of INDEX_TYPES a FAISS index is (for validation after loading)."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def search_dense(
    index: faiss.Index,
    query_vec: np.ndarray,
    k: int,
    allowed: np.ndarray | None = None,
    *,
    vectors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top `k` positions (int64) and cosine scores (float32), best first.

    `allowed` is a boolean mask over positions. `vectors` (row i = position i,
    e.g. the memory-mapped embeddings) speeds up the exact fallback; without it
    vectors are reconstructed from the index.
    """
    import faiss

    configure_threads()
    q = _as_matrix(np.asarray(query_vec).reshape(1, -1))
    if q.shape[1] != index.d:
        raise ValueError(f"query vector has dim {q.shape[1]}, the index has dim {index.d}")
    n = int(index.ntotal)
    if k <= 0 or n == 0:
        return _empty()
    if allowed is None:
        with _one_thread():
            return _clean(*index.search(q, min(k, n)))
    mask = np.asarray(allowed)
    if mask.shape != (n,) or mask.dtype != np.bool_:
        raise ValueError(f"allowed must be a boolean mask of shape ({n},), got {mask.dtype} {mask.shape}")
    subset = np.flatnonzero(mask)
    if subset.size == 0:
        return _empty()
    want = min(k, int(subset.size))
    kind = dense_index_type(index)
    if subset.size <= SMALL_SUBSET or (kind != "flat" and subset.size <= BRUTE_FORCE_MAX):
        return _exact(index, q, mask, subset, want, vectors)
    bits = np.packbits(mask, bitorder="little")
    selector = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
    if kind == "hnsw":
        ef = max(int(index.hnsw.efSearch), 2 * want)
        params: Any = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)
    elif kind == "ivf":
        # probe more lists when few vectors pass the filter, so about as many allowed
        # vectors are scanned as an unfiltered search would scan
        fraction = subset.size / n
        nprobe = int(min(index.nlist, np.ceil(int(index.nprobe) / fraction)))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
    else:
        params = faiss.SearchParameters(sel=selector)
    with _one_thread():
        positions, scores = _clean(*index.search(q, want, params=params))
    if positions.size < want:
        # a selective filter starves the graph/list walk: fall back to exact scoring
        return _exact(index, q, mask, subset, want, vectors)
    return positions, scores


def _exact(
    index: faiss.Index,
    q: np.ndarray,
    mask: np.ndarray,
    subset: np.ndarray,
    k: int,
    vectors: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k over the allowed positions."""
    import faiss

    flat = _flat_storage(index)
    if subset.size > SMALL_SUBSET and flat is not None:
        # FAISS's selector scan computes only the allowed rows, in place; gathering them
        # into a numpy array first costs more (100k × 384, 5% allowed: 2.3 ms vs 8 ms CPU)
        bits = np.packbits(mask, bitorder="little")
        params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)))
        with _one_thread():
            return _clean(*flat.search(q, k, params=params))
    if vectors is not None:
        rows = np.asarray(vectors[subset], dtype=np.float32)
    else:
        rows = index.reconstruct_batch(subset.astype(np.int64))
    scores = rows @ q[0]
    order = np.lexsort((subset, -scores))[:k]
    return subset[order].astype(np.int64), scores[order].astype(np.float32)


def _flat_storage(index: faiss.Index) -> faiss.Index | None:
    """The exact flat index holding the vectors: the index itself, or HNSW's storage."""
    import faiss

    kind = dense_index_type(index)
    if kind == "flat":
        return index
    if kind == "hnsw":
        return faiss.downcast_index(index.storage)
    return None


def _clean(distances: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = labels[0] >= 0  # FAISS pads with -1 when it finds fewer than k
    return labels[0][keep].astype(np.int64), distances[0][keep].astype(np.float32)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros(0, np.float32)


def _as_matrix(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def write_dense(index: faiss.Index, path: Path) -> None:
    """Write a FAISS index to `path` (the caller makes the write atomic)."""
    import faiss

    faiss.write_index(index, str(path))


def read_dense(path: Path, mmap: bool = False) -> faiss.Index:
    """Read a FAISS index; `mmap=True` maps flat vectors from disk instead of copying them.

    Raises IndexCorruptError naming the file when it is missing, truncated or not FAISS.
    """
    import faiss

    configure_threads()
    path = Path(path)
    if not path.is_file():
        raise IndexCorruptError(
            f"{path} is missing: rebuild with `policyqa index <paths> --index <dir> --rebuild`"
        )
    flags = 0
    if mmap:
        # IO_FLAG_MMAP_IFC (FAISS ≥ 1.9) maps IndexFlatCodes storage with zero copy;
        # plain IO_FLAG_MMAP only maps inverted lists.
        flags = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP) | faiss.IO_FLAG_READ_ONLY
    try:
        return faiss.read_index(str(path), flags)
    except (RuntimeError, MemoryError) as exc:  # FAISS raises RuntimeError for short or garbled files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IndexCorruptError(
            f"{path} cannot be read as a FAISS index ({first[:200]}): it is truncated or damaged; "
            "rebuild with `policyqa index <paths> --index <dir> --rebuild`"
        ) from exc


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Search one query on one OpenMP thread.

    From ~10k vectors FAISS splits a single query's flat scan across threads; on
    two busy cores the threads' spin-waits cost far more than they save
    (measured, load average 6: 10k vectors 0.35 ms on 1 thread vs 10 ms on 2;
    50k: 8 ms vs 32 ms). Concurrent requests already use the other cores. The
    setting is per thread in OpenMP, so other threads (and builds) keep theirs.
    """
    import faiss

    before = int(faiss.omp_get_max_threads())
    if before == 1:
        yield
        return
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


_threads_lock = threading.Lock()
_threads_set = False


def configure_threads(n: int | None = None) -> int:
    """Limit FAISS's OpenMP threads to the cores this process may use (once, at first use).

    Call with `n` to force a number. Returns the number in effect.
    """
    global _threads_set
    import faiss

    with _threads_lock:
        if n is None and _threads_set:
            return int(faiss.omp_get_max_threads())
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        wanted = max(1, min(cores, n if n is not None else cores))
        faiss.omp_set_num_threads(wanted)
        _threads_set = True
        return wanted
