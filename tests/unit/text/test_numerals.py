"""Numbers in Chinese text: one definition shared by keyword search, answers and the LLM number guard."""

from __future__ import annotations

import pytest

from rag.answer.form import NUMBER_WITH_UNIT
from rag.text.numerals import COUNT_WORDS, chinese_value, numbers_in
from rag.text.tokenize import tokenize


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("五十", 50), ("两", 2), ("十", 10), ("十八", 18), ("三亿五千万", 350_000_000), ("二〇二四", 2024), ("两万", 20_000)],
)
def test_chinese_numerals(numeral: str, value: int) -> None:
    assert chinese_value(numeral) == value


@pytest.mark.parametrize("word", ["百", "千", "万", "十四五", "两两", "abc", ""])
def test_words_that_are_not_numbers(word: str) -> None:
    assert chinese_value(word) is None


def test_numbers_a_text_states() -> None:
    assert numbers_in("预计全年退税减税约2.5万亿元,增长6.5%") >= {"2.5", "6.5"}
    assert numbers_in("检查企业两万家") == {"20000"}
    assert numbers_in("开展一次检查") == set()  # 一次 says "once", not a claimed count
    assert numbers_in("1,200家") == {"1200"}


@pytest.mark.parametrize("word", list(COUNT_WORDS))
def test_every_measure_word_of_a_count_is_a_count_everywhere(word: str) -> None:
    """The three readers of a count agree on every measure word (they used three different sets)."""
    assert "5" in numbers_in(f"全年共五{word}")  # the LLM number guard
    assert "5" in tokenize(f"五{word}")  # keyword search: 五 → 5 (as jieba cuts it alone)
    assert NUMBER_WITH_UNIT.search(f"全年共5{word}")  # extractive answers: a count with its unit
