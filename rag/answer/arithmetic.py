"""A change the question asks for and the report states only as its two ends.

Pure. "农村居民人均纯收入增加了多少元？" is answered by "由2476元增加到4140元"; the
report never writes 1664元, so the answer computes it and shows the sum beside the
quote it comes from ("4140元 − 2476元 = 1664元"), both numbers cited. Decimal
arithmetic: 10.8年 − 10.23年 is 0.57年, not 0.5700000000000003.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ..text.numerals import COUNT_WORDS, UNITS, UNITS_OF_SIZE_AND_TIME

__all__ = ["Change", "asks_change", "stated_change"]

# 增加了多少 / 提高多少年 / 多了几项 / 减少了多少: the amount of a change, not its rate.
# (增长多少 mostly asks a growth rate; 增长了多少元 an amount.)
_CHANGE_ASK = re.compile(
    r"(?:增加|提高|提升|上升|扩大|减少|下降|降低|缩小)了?(?:多少|几)|(?:多|少)了(?:多少|几)|增长了?多少[元亿万个项家件次人年吨]"
)  # (至少几 / 最多多少 ask a bound, not a change)
_RATE_ASK = re.compile(r"百分之|百分点|比例|[^效]率|%|幅度|增速|倍")
_UNIT = "|".join(re.escape(u) for u in sorted((*UNITS, *UNITS_OF_SIZE_AND_TIME), key=len, reverse=True))
_QUANTITY = re.compile(rf"(?<![\d.,])(\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*({_UNIT}|[{COUNT_WORDS}])")
# Between the two ends: a verb of change then 到/至/为 (由2476元增加到4140元, 24项…调整增加为30项).
_BETWEEN = re.compile(r"^[^,，。;；]{0,30}?(提高|增加|增长|上升|提升|扩大|调整增加|调增|下降|减少|降低|缩小|压减)(?:到|至|为)")
_DOWN = ("下降", "减少", "降低", "缩小", "压减")


@dataclass(frozen=True, slots=True)
class Change:
    """A change read off a sentence: from `before` to `after` (offsets of the two numbers in it)."""

    before: Decimal
    after: Decimal
    unit: str
    falls: bool
    start: int  # the first number's offset in the sentence
    end: int  # the end of the second number's unit

    @property
    def amount(self) -> Decimal:
        return self.before - self.after if self.falls else self.after - self.before

    def sum_text(self) -> str:
        """4140元 − 2476元 = 1664元"""
        high, low = (self.before, self.after) if self.falls else (self.after, self.before)
        return f"{_plain(high)}{self.unit} − {_plain(low)}{self.unit} = {_plain(self.amount)}{self.unit}"


def asks_change(question: str) -> bool:
    """Whether the question asks by how much something changed (an amount, not a rate).

    >>> asks_change("农村居民人均纯收入增加了多少元？"), asks_change("地区生产总值增长多少？"), asks_change("增速提高了多少？")
    (True, False, False)
    """
    return bool(_CHANGE_ASK.search(question)) and not _RATE_ASK.search(question)


def stated_change(sentence: str) -> Change | None:
    """The change a sentence states by its two ends, in the same unit; None if it states none.

    >>> stated_change("全省生产总值从2020年的3.68万亿元增长到2025年的4.93万亿元").sum_text()
    '4.93万亿元 − 3.68万亿元 = 1.25万亿元'
    >>> stated_change("将2016年实施的24项督查激励措施调整增加为30项督查激励措施").amount
    Decimal('6')
    >>> stated_change("地区生产总值增长5.4%") is None
    True
    """
    quantities = [m for m in _QUANTITY.finditer(sentence) if not _is_year(m)]
    for first, second in zip(quantities, quantities[1:], strict=False):
        between = sentence[first.end() : second.start()]
        verb = _BETWEEN.match(between)
        if verb is None or first.group(2) != second.group(2):
            continue
        return Change(
            Decimal(first.group(1).replace(",", "")), Decimal(second.group(1).replace(",", "")), first.group(2),
            verb.group(1) in _DOWN,
            first.start(), second.end(),
        )  # fmt: skip
    return None


def _is_year(m: re.Match[str]) -> bool:
    return m.group(2) == "年" and re.fullmatch(r"(?:19|20)\d{2}", m.group(1)) is not None


def _plain(value: Decimal) -> str:
    """A decimal as written: 1664, 0.57, 1.25 (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")
