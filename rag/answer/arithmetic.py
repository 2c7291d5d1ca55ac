"""Computations over numbers the reports state: what the question asks for and the report
never writes.

Pure. Two shapes:

- a change stated by its two ends: "农村居民人均纯收入增加了多少元？" is answered by
  "由2476元增加到4140元", and the answer shows "4140元 − 2476元 = 1664元" beside the quote;
- a sum or difference of cited figures: "两项检查一共涉及多少家企业？" → "11 + 54 = 65家",
  "A省和B省的增长目标相差多少？" → "5.5% − 5% = 0.5个百分点". Computed only when every
  operand is one figure of one unit (万元 and 亿元 are one unit, 家 and 人 are not).

Decimal arithmetic: 10.8年 − 10.23年 is 0.57年, not 0.5700000000000003.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from ..text.numerals import COUNT_COMPOUNDS, COUNT_WORDS, UNITS, UNITS_OF_SIZE_AND_TIME, chinese_value

__all__ = [
    "Change", "asks_change", "stated_change", "Operation", "asked_operation", "operand_count", "Quantity",
    "quantities", "operands", "Computation", "compute", "CALCULATION_LEAD", "shown_results",
]  # fmt: skip

Operation = Literal["sum", "difference"]
CALCULATION_LEAD = "按报告数字计算："  # how an answer introduces a figure it works out

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

# 一共 / 合计 / 加起来: a total of figures stated apart.
_SUM_ASK = re.compile(r"一共|总共|合计|共计|总计|加起来|加在一起|之和|总和|总数")
# 相差多少 / 差距 / A比B多多少: a difference of two figures (比上年多 is a change the report states).
_DIFFERENCE_ASK = re.compile(
    r"相差|之差|差距|差(?:了)?(?:多少|几)"
    r"|比(?!上年|去年|上一年|前一年|同期|上期|往年)[^,，。?？]{1,30}?(?:多|少|高|低)(?:出|了)?[\u4e00-\u9fff]{0,2}?(?:多少|几)"
)
# 两项检查 / 三个方面 before the operation: how many figures it takes.
_OPERAND_COUNT = re.compile(r"([两二三四五六七八九]|\d)\s*(?:项|个|次|类|份|批|种|部分)")
_SCALES = {"万亿": Decimal(10) ** 12, "亿": Decimal(10) ** 8, "万": Decimal(10) ** 4, "千": Decimal(10) ** 3}
_BASE_UNITS = sorted(
    {*UNITS_OF_SIZE_AND_TIME, *COUNT_COMPOUNDS, "元", "美元", "个百分点", "%", *COUNT_WORDS} - {"日", "年", "月"},
    key=len,
    reverse=True,
)
_FIGURE = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+)\s*(万亿|亿|万|千)?"
    rf"(多|余)?({'|'.join(re.escape(u) for u in _BASE_UNITS)})"
)


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


def asked_operation(question: str) -> Operation | None:
    """Whether the question asks for a sum or a difference of figures the report states apart.

    >>> asked_operation("两项检查一共涉及多少家企业？"), asked_operation("A省比B省的增长目标高多少？")
    ('sum', 'difference')
    >>> asked_operation("比上年多了多少家？") is None
    True
    """
    if _SUM_ASK.search(question):
        return "sum"
    if asks_change(question):
        return None  # 比2016年多了几项: a change, which the report states by its two ends
    return "difference" if _DIFFERENCE_ASK.search(question) else None


def operand_count(question: str) -> int | None:
    """How many figures an operation names before it (两项检查一共… → 2), or None."""
    op = _SUM_ASK.search(question) or _DIFFERENCE_ASK.search(question)
    found = _OPERAND_COUNT.search(question, 0, op.start() if op else len(question))
    if found is None:
        return None
    value = int(found.group(1)) if found.group(1).isdigit() else chinese_value(found.group(1))
    return value if value is not None and value > 1 else None


@dataclass(frozen=True, slots=True)
class Quantity:
    """A figure as stated (`written`: 1.3万亿元) and its value in the unit without a scale (元)."""

    value: Decimal
    unit: str
    written: str
    scale: str = ""
    at: int = 0  # its offset in the text it was read from
    qualifier: str = ""  # 以上 / 左右 / 以内 after it: a bound or an approximation


def quantities(text: str) -> list[Quantity]:
    """The figures a text states with a unit, scaled (13500亿元 → 1.35e12 元); years excluded.

    >>> [(q.written, q.unit) for q in quantities("涉及企业11家,涉及外国人16人次,2024年")]
    [('11家', '家'), ('16人次', '人次')]
    """
    found = []
    for m in _FIGURE.finditer(text):
        number, scale, unit = m.group(1), m.group(2) or "", m.group(4)
        if m.group(3):
            continue  # 20多次: a bound, not a figure to add up
        if number.isascii():
            value = Decimal(number.replace(",", ""))
        elif (chinese := chinese_value(number)) is not None:
            value = Decimal(chinese)
        else:
            continue
        found.append(Quantity(value * _SCALES.get(scale, Decimal(1)), unit, m.group(0), scale, m.start()))
    return found


# 共检查企业65家 / 合计 / 累计: the report states the total itself, nothing to add up.
_STATED_TOTAL = re.compile(r"(?:共|合计|总计|累计|总数|总量|总额)[^,，。;；]{0,12}$")


# 比去年增加2700亿元: a figure relative to another, not the level asked.
_RELATIVE_FIGURE = re.compile(r"(?:比|较|同比|环比)[^,，。;；]{0,8}?(?:增加|减少|提高|下降|增长|降低|多|少)了?$")
_QUALIFIER = re.compile(r"^(以上|左右|以内|以下)")


def operands(asked_unit: str | None, quotes: Sequence[str]) -> list[Quantity] | None:
    """One figure of the asked unit from each quote (万元 asked: any scale of 元; none asked: the
    unit of the quote's first figure), or None when a quote has none, several, or states a total
    itself. Figures relative to another (比去年增加2700亿元) are not levels and do not count."""
    base = asked_unit.lstrip("万亿千") if asked_unit else None
    found = []
    for quote in quotes:
        levels = [q for q in quantities(quote) if not _RELATIVE_FIGURE.search(quote[: q.at])]
        unit = base or (levels[0].unit if levels else None)
        figures = [q for q in levels if q.unit == unit]
        if len(figures) != 1 or _STATED_TOTAL.search(quote[: figures[0].at]):
            return None
        qualifier = _QUALIFIER.match(quote[figures[0].at + len(figures[0].written) :])
        found.append(replace(figures[0], qualifier=qualifier.group(1) if qualifier else ""))
    return found


@dataclass(frozen=True, slots=True)
class Computation:
    """A sum or difference of cited figures, shown as worked out ("11 + 54 = 65家")."""

    operation: Operation
    operands: tuple[Quantity, ...]
    result: Quantity

    def text(self) -> str:
        sign = " + " if self.operation == "sum" else " − "
        units = {q.written.lstrip("0123456789.,") for q in self.operands}
        if len(units) == 1 and self.result.unit != "个百分点":  # 11 + 54 = 65家: the unit said once
            shown = sign.join(_number_part(q) for q in self.operands)
        else:
            shown = sign.join(q.written for q in self.operands)
        return f"{shown} = {self.result.written}"


def compute(operation: Operation, operands: Sequence[Quantity], ordered: bool = False) -> Computation | None:
    """The sum or difference of figures of one unit; None when their units differ. A difference is
    larger − smaller unless `ordered` (A比B多多少: A − B); of percentages it is in 个百分点."""
    if len(operands) < 2 or len({q.unit for q in operands}) != 1 or (operation == "difference" and len(operands) != 2):
        return None
    unit = operands[0].unit
    if operation == "sum":
        value = sum((q.value for q in operands), Decimal(0))
    else:
        first, second = operands if ordered else sorted(operands, key=lambda q: q.value, reverse=True)
        operands = (first, second)
        value = first.value - second.value
    scale = max((q.scale for q in operands), key=lambda s: _SCALES.get(s, Decimal(1)))
    shown_unit = "个百分点" if operation == "difference" and unit == "%" else unit
    written = f"{_plain(value / _SCALES.get(scale, Decimal(1)))}{scale}{shown_unit}"
    qualifiers = {q.qualifier for q in operands}
    if operation == "sum" and len(qualifiers) == 1:
        written += qualifiers.pop()  # 880亿斤以上 + 1600亿斤以上 = 2480亿斤以上
    elif qualifiers != {""}:
        written = "约" + written  # of approximations or bounds, the difference is approximate
    return Computation(operation, tuple(operands), Quantity(value, shown_unit, written, scale))


def _number_part(quantity: Quantity) -> str:
    return quantity.written[: len(quantity.written) - len(quantity.written.lstrip("0123456789.,"))] or quantity.written


# 11 + 54 = 65家, 5.5% − 5% = 0.5个百分点, 1.62万亿元 + 2.18万亿元 = 3.8万亿元: a computation written out.
_NUMBER = r"\d+(?:\.\d+)?"
_UNIT_AFTER = r"[^\d\s+−\-=＝，,。;；]{0,4}"  # 万亿元, %, 家 (any short unit, or none)
_SHOWN = re.compile(
    rf"({_NUMBER})\s*{_UNIT_AFTER}\s*((?:[+−\-]\s*{_NUMBER}\s*{_UNIT_AFTER}\s*)+)[=＝]\s*约?({_NUMBER})"
)
_SIGNED = re.compile(rf"([+−\-])\s*({_NUMBER})")


def shown_results(text: str) -> list[tuple[tuple[str, ...], str]]:
    """The computations a text writes out that are right: (operands, result) each.

    >>> shown_results("共计11 + 54 = 65家；又 3 + 4 = 8")
    [(('11', '54'), '65')]
    """
    found = []
    for m in _SHOWN.finditer(text):
        total = Decimal(m.group(1))
        terms = [m.group(1)]
        for sign, number in _SIGNED.findall(m.group(2)):
            total += Decimal(number) if sign == "+" else -Decimal(number)
            terms.append(number)
        if total == Decimal(m.group(3)):
            found.append((tuple(terms), m.group(3)))
    return found
