"""Changes stated between two numbers of one sentence, and which questions ask for one. Pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rag.answer.arithmetic import asks_change, stated_change


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("城乡居民医保财政补助标准提高了多少元？", True),
        ("专利代理机构比上年多了几家？", True),
        ("至少几名合伙人才能设立？", False),  # a bound, not a change
        ("最多多少个工作日办结？", False),
    ],
)
def test_a_change_is_asked_by_a_verb_of_change(question: str, asks: bool) -> None:
    assert asks_change(question) is asks


def test_a_change_between_numbers_with_thousands_separators() -> None:
    change = stated_change("人均补助标准由1,250元提高到1,480元。")
    assert change is not None and (change.before, change.after, change.unit) == (Decimal(1250), Decimal(1480), "元")
