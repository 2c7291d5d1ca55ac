"""BM25 for the folder index: search, numerals, filters, ties, persistence, derivation, bm25s parity."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexMismatchError
from rag.index.folder.bm25 import KeywordIndex, top_k
from rag.text.tokenize import tokenize
from tests.conftest import ROOT
from tests.unit.text.test_tokenize import TEXTS


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(TEXTS)


def test_search_finds_the_right_text(index: KeywordIndex) -> None:
    pos, scores = index.search("苏科创18条是什么时候发布的", k=3)
    assert pos[0] == 2
    assert scores.dtype == np.float32 and pos.dtype == np.int64
    assert list(scores) == sorted(scores, reverse=True)
    assert (scores > 0).all()


def test_numeral_query_matches_other_spelling(index: KeywordIndex) -> None:
    pos, _ = index.search("开展调研50多次", k=1)
    assert pos.tolist() == [1]
    pos, _ = index.search("苏科创十八条", k=1)
    assert pos.tolist() == [2]


def test_no_match_returns_nothing(index: KeywordIndex) -> None:
    pos, scores = index.search("GDP 增长率", k=5)
    assert pos.size == 0 and scores.size == 0
    pos, _ = index.search("", k=5)
    assert pos.size == 0


def test_allowed_mask_filters(index: KeywordIndex) -> None:
    allowed = np.zeros(len(index), dtype=bool)
    allowed[4] = True
    pos, _ = index.search("科技类校外培训机构", k=5, allowed=allowed)
    assert pos.tolist() == [4]
    with pytest.raises(ValueError, match="boolean mask"):
        index.search("机构", k=5, allowed=np.ones(len(index) + 1, dtype=bool))


def test_k_limits_and_ties_by_position() -> None:
    idx = KeywordIndex.build(["检查", "检查", "检查", "其他"])
    pos, scores = idx.search("检查", k=2)
    assert pos.tolist() == [0, 1]
    assert scores[0] == scores[1]
    assert idx.search("检查", k=0)[0].size == 0


def test_top_k_helper() -> None:
    pos, val = top_k(np.array([0.0, 1.0, 3.0, 3.0, 2.0], dtype=np.float32), 3)
    assert pos.tolist() == [2, 3, 4] and val.tolist() == [3.0, 3.0, 2.0]


def test_empty_index() -> None:
    idx = KeywordIndex.build([])
    assert len(idx) == 0
    assert idx.search("检查", k=3)[0].size == 0
    idx = KeywordIndex.build(["，。", "的"])  # texts with no tokens at all
    assert len(idx) == 2 and idx.search("检查", k=3)[0].size == 0


def test_save_load_roundtrip(tmp_path: Path, index: KeywordIndex) -> None:
    index.save(tmp_path / "kw")
    for mmap in (False, True):
        loaded = KeywordIndex.load(tmp_path / "kw", mmap=mmap)
        assert len(loaded) == len(index)
        for q in ("双随机一公开", "科技类校外培训机构", "合法性审查"):
            a, b = index.search(q, 5), loaded.search(q, 5)
            assert a[0].tolist() == b[0].tolist()
            np.testing.assert_allclose(a[1], b[1])
    empty = KeywordIndex.build([])
    empty.save(tmp_path / "empty")
    assert len(KeywordIndex.load(tmp_path / "empty")) == 0


def test_save_is_deterministic_across_processes(tmp_path: Path) -> None:
    # bm25s builds its vocabulary from a set; str hashing differs per process
    code = (
        "import sys; from pathlib import Path; from rag.index.folder.bm25 import KeywordIndex; "
        f"KeywordIndex.build({TEXTS!r}).save(Path(sys.argv[1]))"
    )
    root = ROOT
    for seed, name in (("1", "a"), ("2", "b")):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin", "POLICYQA_CACHE_DIR": str(tmp_path / "cache")}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True, cwd=root, env=env)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_derive_reuses_stored_tokens(index: KeywordIndex) -> None:
    derived = index.derive([4, "新增的双随机一公开检查文本", 0])
    fresh = KeywordIndex.build([TEXTS[4], "新增的双随机一公开检查文本", TEXTS[0]])
    assert len(derived) == 3
    assert derived.vocab == fresh.vocab
    for q in ("双随机一公开", "培训机构", "54家"):
        a, b = derived.search(q, 3), fresh.search(q, 3)
        assert a[0].tolist() == b[0].tolist()
        np.testing.assert_allclose(a[1], b[1])


def test_corrupt_files_are_reported(tmp_path: Path, index: KeywordIndex) -> None:
    d = tmp_path / "kw"
    index.save(d)
    (d / "keyword.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match=r"keyword.json.*--rebuild"):
        KeywordIndex.load(d)
    index.save(d)
    data = (d / "doc_terms.npy").read_bytes()
    (d / "doc_terms.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match="doc_terms.npy"):
        KeywordIndex.load(d)
    index.save(d)
    (d / "vocab.index.json").unlink()
    with pytest.raises(IndexCorruptError, match="vocab.index.json"):
        KeywordIndex.load(d)


def test_other_tokenizer_is_a_mismatch(tmp_path: Path, index: KeywordIndex) -> None:
    d = tmp_path / "kw"
    index.save(d)
    meta = json.loads((d / "keyword.json").read_text(encoding="utf-8"))
    meta["tokenizer_fingerprint"] = "0000000000000000"
    (d / "keyword.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="tokenizer"):
        KeywordIndex.load(d)


def test_scores_equal_bm25s_own_indexing() -> None:
    import bm25s

    corpus = [*TEXTS, "检查 检查 检查 企业", "", "双随机一公开 双随机一公开"]
    ours = KeywordIndex.build(corpus)
    reference = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    reference.index([tokenize(t) for t in corpus], show_progress=False)
    for query in ("检查企业", "双随机一公开", "科技类校外培训机构", "苏科创18条", "54家"):
        ids = [reference.vocab_dict[t] for t in dict.fromkeys(tokenize(query)) if t in reference.vocab_dict]
        expected = reference.get_scores_from_ids(ids) if ids else np.zeros(len(corpus))
        np.testing.assert_allclose(ours.scores(query), expected, rtol=1e-5, atol=1e-6)


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
