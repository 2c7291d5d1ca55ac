"""KeywordIndex: query scoring (one bincount over the query terms' postings) and tuple token lists."""

from __future__ import annotations

import random

import numpy as np

from rag.index.folder.bm25 import KeywordIndex, top_k


def test_from_tokens_accepts_tuples_of_tokens() -> None:
    # a 2-tuple of tokens once looked like a (term ids, counts) pair carried over from an index
    as_tuples = KeywordIndex.from_tokens([("科技", "企业"), ("科技", "科技", "检查")])
    as_lists = KeywordIndex.from_tokens([["科技", "企业"], ["科技", "科技", "检查"]])
    assert as_tuples.vocab == as_lists.vocab == ["企业", "检查", "科技"]
    assert as_tuples.term_counts(1) == as_lists.term_counts(1)


def _corpus(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    vocab = ["科技", "企业", "检查", "法治", "政府", "建设", "培训", "机构", "年检", "信访", "投诉", "案例"]
    weights = [30, 20, 12, 25, 25, 30, 8, 8, 3, 2, 2, 1]
    return [rng.choices(vocab, weights, k=rng.randint(1, 30)) for _ in range(n)]


def test_scores_equal_bm25s_and_search_ranks_them() -> None:
    index = KeywordIndex.from_tokens(_corpus(3_000, seed=1))
    mask = np.random.default_rng(0).random(len(index)) < 0.3
    for query in ("科技企业检查", "信访投诉案例", "年检", "法治政府建设", "没有的词"):
        ids = index._query_ids(query).tolist()
        ours = index.scores(query)
        assert ours.dtype == np.float32 and ours.shape == (len(index),)
        if ids:
            reference = np.asarray(index._bm25.get_scores_from_ids(ids), dtype=np.float32)
            np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)
        else:
            assert not ours.any()
        positions, values = index.search(query, 20)
        assert np.array_equal(positions, top_k(ours, 20)[0]) and np.array_equal(values, top_k(ours, 20)[1])
        positions, _ = index.search(query, 20, allowed=mask)
        assert mask[positions].all()
        assert np.array_equal(positions, top_k(np.where(mask, ours, np.float32(0)), 20)[0])
