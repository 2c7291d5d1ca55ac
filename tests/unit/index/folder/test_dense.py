"""FAISS layer: index choice, exact/approximate search, filters, persistence."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.errors import IndexCorruptError
from rag.index.folder import dense
from rag.index.folder.dense import (
    BRUTE_FORCE_MAX,
    FLAT_MAX_CHUNKS,
    build_dense,
    choose_index_type,
    configure_threads,
    default_params,
    dense_index_type,
    read_dense,
    search_dense,
    write_dense,
)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Clustered vectors of low intrinsic dimension: closer to text embeddings than iid noise."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(np.random.default_rng(42).standard_normal((dim, 16)))[0].T
    centers = np.random.default_rng(43).standard_normal((50, 16))
    z = rng.integers(0, len(centers), n)
    x = (centers[z] + 0.7 * rng.standard_normal((n, 16))) @ basis + 0.02 * rng.standard_normal((n, dim))
    return unit(x)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return clustered(2000)


_built: dict[str, faiss.Index] = {}


@pytest.fixture
def built(vectors: np.ndarray) -> dict[str, faiss.Index]:
    """One index of each type over `vectors`, built once (HNSW building dominates test time)."""
    for kind in ("flat", "hnsw", "ivf"):
        if kind not in _built:
            _built[kind] = build_dense(vectors, kind)  # type: ignore[arg-type]
    return _built


def exact(x: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[int]:
    scores = x @ q
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    order = np.lexsort((np.arange(len(x)), -scores))
    return [int(i) for i in order[:k] if np.isfinite(scores[i])]


def test_choose_index_type() -> None:
    assert choose_index_type(0) == "flat"
    assert choose_index_type(FLAT_MAX_CHUNKS) == "flat"
    assert choose_index_type(FLAT_MAX_CHUNKS + 1) == "hnsw"
    assert choose_index_type(10, "ivf") == "ivf"
    with pytest.raises(ValueError, match="flat"):
        choose_index_type(10, "annoy")


def test_default_params_recorded() -> None:
    assert default_params("flat", 10) == {}
    hnsw = default_params("hnsw", 10**6)
    assert hnsw["M"] == 32 and hnsw["efSearch"] >= 64
    ivf = default_params("ivf", 10**6)
    assert 1 <= ivf["nprobe"] <= ivf["nlist"]


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_search_matches_exact(kind: str, vectors: np.ndarray, built: dict[str, faiss.Index]) -> None:
    index = built[kind]
    assert dense_index_type(index) == kind and index.ntotal == len(vectors)
    q = clustered(20, seed=9)
    recalls = []
    for row in q:
        pos, scores = search_dense(index, row, 10)
        assert pos.dtype == np.int64 and scores.dtype == np.float32
        assert list(scores) == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, vectors[pos] @ row, rtol=1e-5, atol=1e-5)
        recalls.append(len(set(pos.tolist()) & set(exact(vectors, row, 10))) / 10)
    if kind == "flat":
        assert min(recalls) == 1.0
    else:
        assert np.mean(recalls) >= 0.95, (kind, np.mean(recalls))


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
@pytest.mark.parametrize("fraction", [0.5, 0.05, 0.003])
def test_filtered_search_returns_k_allowed_results(
    kind: str,
    fraction: float,
    vectors: np.ndarray,
    built: dict[str, faiss.Index],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dense, "BRUTE_FORCE_MAX", 50)  # exercise FAISS's selector path on a small set
    index = built[kind]
    rng = np.random.default_rng(1)
    allowed = rng.random(len(vectors)) < fraction
    allowed[:3] = True  # never empty
    q = clustered(5, seed=11)
    for row in q:
        pos, _ = search_dense(index, row, 10, allowed)
        assert len(pos) == min(10, int(allowed.sum()))
        assert allowed[pos].all()
        truth = exact(vectors, row, 10, allowed)
        assert len(set(pos.tolist()) & set(truth)) / len(truth) >= 0.9


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_filtered_search_small_subset_is_exact(
    kind: str, vectors: np.ndarray, built: dict[str, faiss.Index]
) -> None:
    assert BRUTE_FORCE_MAX >= 1000
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[np.random.default_rng(2).choice(len(vectors), 30, replace=False)] = True
    for row in clustered(5, seed=12):
        pos, scores = search_dense(built[kind], row, 10, allowed)
        assert pos.tolist() == exact(vectors, row, 10, allowed)
        np.testing.assert_allclose(scores, vectors[pos] @ row, rtol=1e-5, atol=1e-6)


def test_filter_edge_cases(vectors: np.ndarray, built: dict[str, faiss.Index]) -> None:
    index = built["flat"]
    q = vectors[0]
    none = np.zeros(len(vectors), dtype=bool)
    assert search_dense(index, q, 5, none)[0].size == 0
    one = none.copy()
    one[42] = True
    assert search_dense(index, q, 5, one)[0].tolist() == [42]
    with pytest.raises(ValueError, match="boolean mask"):
        search_dense(index, q, 5, np.ones(len(vectors) - 1, dtype=bool))
    with pytest.raises(ValueError, match="dim"):
        search_dense(index, np.ones(8, dtype=np.float32), 5)
    assert search_dense(index, q, 0)[0].size == 0
    assert len(search_dense(index, q, len(vectors) + 10)[0]) == len(vectors)


def test_empty_index() -> None:
    for kind in ("flat", "hnsw", "ivf"):
        index = build_dense(np.zeros((0, 8), dtype=np.float32), kind)  # type: ignore[arg-type]
        assert index.ntotal == 0
        assert search_dense(index, np.ones(8, dtype=np.float32), 3)[0].size == 0


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_build_is_deterministic(kind: str, vectors: np.ndarray) -> None:
    x = vectors[:600]
    a = faiss.serialize_index(build_dense(x, kind))  # type: ignore[arg-type]
    b = faiss.serialize_index(build_dense(x, kind))  # type: ignore[arg-type]
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
@pytest.mark.parametrize("mmap", [False, True])
def test_write_read_roundtrip(
    tmp_path: Path, kind: str, mmap: bool, vectors: np.ndarray, built: dict[str, faiss.Index]
) -> None:
    index = built[kind]
    write_dense(index, tmp_path / "v.faiss")
    loaded = read_dense(tmp_path / "v.faiss", mmap=mmap)
    assert dense_index_type(loaded) == kind and loaded.ntotal == len(vectors)
    q = vectors[7]
    a, b = search_dense(index, q, 5), search_dense(loaded, q, 5)
    assert a[0].tolist() == b[0].tolist()
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[100:110] = True
    assert search_dense(loaded, q, 3, allowed)[0].tolist() == exact(vectors, q, 3, allowed)


def test_read_damaged_files(tmp_path: Path, vectors: np.ndarray) -> None:
    path = tmp_path / "vectors.faiss"
    with pytest.raises(IndexCorruptError, match=r"vectors.faiss is missing.*--rebuild"):
        read_dense(path)
    write_dense(build_dense(vectors[:100], "flat"), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for mmap in (False, True):
        with pytest.raises(IndexCorruptError, match=r"vectors.faiss.*truncated or damaged.*--rebuild"):
            read_dense(path, mmap=mmap)
    path.write_bytes(b"not a faiss index at all")
    with pytest.raises(IndexCorruptError, match="vectors.faiss"):
        read_dense(path)


def test_thread_count_is_bounded() -> None:
    n = configure_threads()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    assert 1 <= n <= cores
    assert configure_threads(10_000) <= cores
    configure_threads(cores)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_exact_subset_via_faiss_selector(
    kind: str,
    vectors: np.ndarray,
    built: dict[str, faiss.Index],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # medium subsets are scored exactly by FAISS's flat scan (HNSW: its flat storage)
    monkeypatch.setattr(dense, "SMALL_SUBSET", 10)
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[np.random.default_rng(5).choice(len(vectors), 300, replace=False)] = True
    write_dense(built[kind], tmp_path / "v.faiss")
    for index in (built[kind], read_dense(tmp_path / "v.faiss", mmap=True)):
        for row in clustered(3, seed=13):
            pos, scores = search_dense(index, row, 10, allowed, vectors=vectors)
            assert pos.tolist() == exact(vectors, row, 10, allowed)
            np.testing.assert_allclose(scores, vectors[pos] @ row, rtol=1e-5, atol=1e-6)
