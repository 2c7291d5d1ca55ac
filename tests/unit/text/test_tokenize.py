"""Keyword tokenizer and BM25 index."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexMismatchError
from rag.index.folder.bm25 import KeywordIndex, top_k
from rag.text.tokenize import ChineseTokenizer, tokenize
from tests.conftest import ROOT

TEXTS = [
    "2024年开展“双随机、一公开”抽查,入库登记54家科技型中小企业。",
    "赴科技型企业开展调研工作五十多次,赴科技类校外培训机构开展安全检查4次以上。",
    "在9月26日的2024苏州国际科创大会上发布“苏科创十八条”。",
    "2024年完成2件行政规范性文件的合法性审查。",
    "全市在营的科技类校外培训机构78家,已通过审批准入的35家。",
]


# -- tokenizer -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def precise() -> ChineseTokenizer:
    return ChineseTokenizer("precise")


@pytest.mark.parametrize("term", ["双随机一公开", "苏科创18条", "谁执法谁普法", "综合查一次", "互联网+监管"])
def test_userdict_terms_stay_single_tokens(term: str, precise: ChineseTokenizer) -> None:
    assert term in precise.tokenize(f"今年推进{term}工作")
    assert term in tokenize(f"今年推进{term}工作")


def test_term_spellings_meet() -> None:
    assert "双随机一公开" in tokenize("开展“双随机、一公开”检查")
    assert "双随机一公开" in tokenize("双随机,一公开")
    assert "苏科创18条" in tokenize("“苏科创十八条”")
    assert "互联网+监管" in tokenize("互联网＋监管")  # full-width plus


@pytest.mark.parametrize(
    ("chinese", "arabic"),
    [
        ("调研工作五十多次", "调研工作50多次"),
        ("第十八条", "第18条"),
        ("党的二十届三中全会", "党的20届三中全会"),
        ("两家企业", "2家企业"),
        ("一百二十家", "120家"),
        ("五十万元", "50万元"),
        ("二〇二四年", "2024年"),
    ],
)
def test_numerals_normalised(chinese: str, arabic: str) -> None:
    assert tokenize(chinese) == tokenize(arabic)


@pytest.mark.parametrize("word", ["统一", "一是", "三中全会", "十四五", "千方百计", "十分", "老百姓"])
def test_words_containing_numerals_are_left_alone(word: str) -> None:
    assert word in tokenize(f"{word}加强")


def test_stopwords_punctuation_and_case() -> None:
    toks = tokenize("这是ＡＢＣ的报告，和 Policy 与 QA！")
    assert "的" not in toks and "和" not in toks and "与" not in toks
    assert "，" not in toks and "！" not in toks and " " not in toks
    assert "abc" in toks and "policy" in toks and "qa" in toks


def test_search_mode_adds_inner_words() -> None:
    toks = tokenize("行政规范性文件")
    assert "行政规范性文件" in toks and "规范性文件" in toks and "文件" in toks
    # but a numeral token does not spawn a wrong number (十八条 must not yield 八条 → 8)
    assert "8" not in tokenize("苏科创十八条") and "8" not in tokenize("第十八条")


def test_tokenize_is_thread_safe_on_first_use() -> None:
    fresh = ChineseTokenizer("search")
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(fresh.tokenize(TEXTS[1]))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == results[0] for r in results)


def test_import_has_no_side_effects() -> None:
    code = (
        "import sys, logging; import rag.text.tokenize; "
        "assert 'jieba' not in sys.modules, 'jieba imported at import time'; "
        "assert 'bm25s' not in sys.modules; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_jieba_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    ChineseTokenizer("search").tokenize("法治政府建设")
    assert "prefix dict" not in capfd.readouterr().err


# -- index -------------------------------------------------------------------------------


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
