"""The word tokenizer: domain terms, numerals, stopwords, search-mode sub-words, thread safety."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

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
