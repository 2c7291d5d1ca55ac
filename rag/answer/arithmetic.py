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
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ..text.dates import DATE
from ..text.numerals import chinese_value
from .figures import SCALES, Quantity, base_unit, plain, quantities

__all__ = [
    "Change", "asks_change", "stated_change", "Operation", "asked_operation", "subtrahend_first", "operand_count",
    "operands", "Computation", "compute", "CALCULATION_LEAD", "shown_results", "THAN", "SUM_WORDS",
]  # fmt: skip

Operation = Literal["sum", "difference"]
CALCULATION_LEAD = "按报告数字计算："  # how an answer introduces a figure it works out

# 增加了多少 / 提高多少年 / 多了几项 / 减少了多少: the amount of a change, not its rate.
# (增长多少 mostly asks a growth rate; 增长了多少元 an amount.)
_CHANGE_ASK = re.compile(
    r"(?:增加|提高|提升|上升|扩大|减少|下降|降低|缩小)了?(?:多少|几)|(?:多|少)了(?:多少|几)|增长了?多少[元亿万个项家件次人年吨]"
)  # (至少几 / 最多多少 ask a bound, not a change)
_RATE_ASK = re.compile(r"百分之|百分点|比例|[^效]率|%|幅度|增速|倍")
# Between the two ends: a verb of change then 到/至/为 (由2476元增加到4140元, 24项…调整增加为30项).
_BETWEEN = re.compile(
    r"[^,，。;；]{0,30}?(提高|增加|增长|上升|提升|扩大|调整增加|调增|下降|减少|降低|缩小|压减)(?:到|至|为)"
    r"(?:(?:19|20)\d{2}年(?:底|末)?的?)?\s*$"
)  # (nothing but the second figure's year may stand between 到 and it: 增长到2025年的4.93万亿元)
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
        result_unit = "个百分点" if self.unit == "%" else self.unit  # 60% − 50% = 10个百分点
        return f"{_shown(high, self.unit)} − {_shown(low, self.unit)} = {plain(self.amount)}{result_unit}"


def asks_change(question: str) -> bool:
    """Whether the question asks by how much something changed (an amount, not a rate).

    >>> asks_change("农村居民人均纯收入增加了多少元？"), asks_change("地区生产总值增长多少？"), asks_change("增速提高了多少？")
    (True, False, False)
    """
    return bool(_CHANGE_ASK.search(question)) and not _RATE_ASK.search(question)


def _shown(value: Decimal, unit: str) -> str:
    return f"{plain(value)}{unit}" if value >= 0 else f"(−{plain(-value)}{unit})"


def stated_change(sentence: str) -> Change | None:
    """The change a sentence states by its two ends, in the same unit; None if it states none.

    >>> stated_change("全省生产总值从2020年的3.68万亿元增长到2025年的4.93万亿元").sum_text()
    '4.93万亿元 − 3.68万亿元 = 1.25万亿元'
    >>> stated_change("将2016年实施的24项督查激励措施调整增加为30项督查激励措施").amount
    Decimal('6')
    >>> stated_change("地区生产总值增长5.4%") is None
    True
    """
    figures = quantities(sentence, years=True)
    for first, second in zip(figures, figures[1:], strict=False):
        verb = _BETWEEN.match(sentence, first.at + len(first.written), second.at)
        if verb is None or (first.unit, first.scale) != (second.unit, second.scale):
            continue
        if first.bound or second.bound:
            return None  # 由近20家增加到超过800家: the change between bounds is not known
        scale = SCALES.get(first.scale, Decimal(1))
        change = Change(
            first.value / scale, second.value / scale, first.scale + first.unit, verb.group(1) in _DOWN,
            first.at, second.at + len(second.written),
        )  # fmt: skip
        return change if change.amount > 0 else None  # a verb against the figures' order: misread
    return None


# 一共 / 合计 / 加起来: a total of figures stated apart (总数 / 总量 ask a level the report states).
SUM_WORDS = "一共|总共|合计|共计|总计|加起来|加在一起"  # (a total of the things named before them)
_SUM_ASK = re.compile(rf"{SUM_WORDS}|之和|总和")
_DIFFERENCE_ASK = re.compile(r"相差|之差|差(?:了)?(?:多少|几)")
# A比B多多少 / A比B低多少: a difference of two figures. Not 比重/比例, and not against a baseline
# the report states the difference to itself (比上年, 比2020年, 比全国, 比目标).
_BASELINE = r"上年|去年|上一年|前一年|同期|上期|往年|(?:19|20)\d{2}|全国|全省|全市|平均|预算|目标|计划"
THAN = re.compile(
    rf"^(?P<a>.+?)比(?![重例率值])(?!{_BASELINE})(?P<b>[^,，。?？]{{1,30}}?)(?P<way>多|少|高|低)(?:出|了)?"
    r"(?P<verb>[\u4e00-\u9fff]{0,2}?)(?P<ask>(?:多少|几).*)$"
)
# 两项检查 / 三个方面 before the operation: how many figures it takes.
_OPERAND_COUNT = re.compile(r"(?<![\d.])(\d+|[两二三四五六七八九十]+)\s*(?:项|个|次|类|份|批|种|部分)")
# 共检查企业65家 / 合计 / 其中: the clause states a total itself, or a part of one.
_STATED_TOTAL = re.compile(r"共|合计|总计|累计|总数|总量|总额|其中")
# 比去年增加2700亿元: a figure relative to another, not the level asked.
_RELATIVE_FIGURE = re.compile(r"(?:比|较|同比|环比)[^,，。;；]{0,8}?(?:增加|减少|提高|下降|增长|降低|多|少)了?$")
_CLAUSE_START = re.compile(r"[,，。;；:：]")


def asked_operation(question: str) -> Operation | None:
    """Whether the question asks for a sum or a difference of figures the report states apart.

    >>> asked_operation("两项检查一共涉及多少家企业？"), asked_operation("A省比B省的增长目标高多少？")
    ('sum', 'difference')
    >>> asked_operation("比上年多了多少家？"), asked_operation("比重比上年提高多少？"), asked_operation("城乡差距是多少？")
    (None, None, None)
    """
    if _SUM_ASK.search(question):
        return "sum"
    if asks_change(question):
        return None  # 比2016年多了几项: a change, which the report states by its two ends
    return "difference" if _DIFFERENCE_ASK.search(question) or THAN.match(question) else None


def subtrahend_first(question: str) -> bool | None:
    """For a difference asked: A比B少多少 is B − A (True), A比B多多少 A − B (False); None when the
    question says no order (A和B相差多少: the larger less the smaller)."""
    than = THAN.match(question)
    return None if than is None else than["way"] in "少低"


def operand_count(question: str) -> int | None:
    """How many figures an operation names before it (两项检查一共… → 2), or None."""
    op = _SUM_ASK.search(question) or _DIFFERENCE_ASK.search(question)
    found = _OPERAND_COUNT.search(question, 0, op.start() if op else len(question))
    if found is None:
        return None
    value = int(found.group(1)) if found.group(1).isdigit() else chinese_value(found.group(1))
    return value if value is not None and value > 1 else None


def operands(asked_unit: str | None, quotes: Sequence[str]) -> list[Quantity] | None:
    """One figure of the asked unit from each quote (万元 asked: any scale of 元; none asked: the
    unit of the quote's first figure), or None when a quote has none or several, or its clause
    states a total or a part of one (共检查65家, 其中…). Figures relative to another
    (比去年增加2700亿元) are not levels and do not count."""
    asked = asked_unit if asked_unit not in SCALES else None  # 多少万 (人): the scale alone says no unit
    unit = base_unit(asked) if asked else None
    if asked and unit is None:
        return None
    found = []
    for quote in quotes:
        levels = [q for q in quantities(quote) if not _RELATIVE_FIGURE.search(quote, 0, q.at)]
        wanted = unit or (levels[0].unit if levels else None)
        figures = [q for q in levels if q.unit == wanted]
        if len(figures) != 1 or _STATED_TOTAL.search(_clause_before(quote, figures[0].at)):
            return None
        found.append(figures[0])
    return found


def _clause_before(text: str, at: int) -> str:
    starts = [m.end() for m in _CLAUSE_START.finditer(text, 0, at)]
    return text[(starts[-1] if starts else 0) : at]


@dataclass(frozen=True, slots=True)
class Computation:
    """A sum or difference of cited figures, shown as worked out ("11 + 54 = 65家")."""

    operation: Operation
    operands: tuple[Quantity, ...]
    result: str  # 65家, 约0.5个百分点, 2480亿斤以上

    def text(self) -> str:
        sign = " + " if self.operation == "sum" else " − "
        written = [f"(−{q.written})" if q.value < 0 else q.written for q in self.operands]
        tails = {w.lstrip("0123456789.,") for w in written}
        if len(tails) == 1 and not self.result.endswith("个百分点"):  # 11 + 54 = 65家: the unit said once
            written = [w[: len(w) - len(w.lstrip("0123456789.,"))] or w for w in written]
        return f"{sign.join(written)} = {self.result}"


def compute(operation: Operation, operands: Sequence[Quantity], subtrahend_first: bool | None = None) -> Computation | None:
    """The sum or difference of figures of one unit, or None: units differ, a sum of rates or of
    falling figures, a difference of bounds, a negative result. A difference is the larger less the
    smaller unless the order is given (A比B多多少: A − B; A比B少多少: B − A); of percentages it is
    in 个百分点."""
    if len(operands) < 2 or len({q.unit for q in operands}) != 1 or (operation == "difference" and len(operands) != 2):
        return None
    unit = operands[0].unit
    bounds = {q.bound for q in operands} - {""}
    if operation == "sum":
        if unit == "%" or any(q.value < 0 for q in operands) or {"lower", "upper"} <= bounds:
            return None  # rates do not add up; 880以上 + 300以内 says nothing
        value = sum((q.value for q in operands), Decimal(0))
    else:
        if bounds & {"lower", "upper"}:
            return None  # 880以上 − 300以上 can be anything
        if subtrahend_first is None:
            operands = sorted(operands, key=lambda q: q.value, reverse=True)
        elif subtrahend_first:
            operands = list(reversed(operands))
        value = operands[0].value - operands[1].value
        if value < 0:
            return None  # the question's order is not the figures' order: no "−43家"
    scale = max((q.scale for q in operands), key=lambda s: SCALES.get(s, Decimal(1)))
    shown_unit = "个百分点" if operation == "difference" and unit == "%" else unit
    result = f"{plain(value / SCALES.get(scale, Decimal(1)))}{scale}{shown_unit}"
    if "about" in bounds:
        result = "约" + result
    elif bounds == {"lower"}:
        result += "以上"  # 880亿斤以上 + 1600亿斤 = 2480亿斤以上
    elif bounds == {"upper"}:
        result += "以内"
    return Computation(operation, tuple(operands), result)


# 11 + 54 = 65家, 5.5% − 5% = 0.5个百分点, 1.2亿元 + 8000万元 = 2亿元: a computation written out.
_TERM = rf"(\d+(?:\.\d+)?)\s*((?:{'|'.join(SCALES)})?)\s*([^\d\s+−\-=＝，,。;；()（）\[\]]{{0,5}})"
_SHOWN = re.compile(rf"{_TERM}\s*((?:[+−\-]\s*\d+(?:\.\d+)?\s*(?:{'|'.join(SCALES)})?\s*[^\d\s+−\-=＝，,。;；()（）\[\]]{{0,5}}\s*)+)[=＝]\s*约?{_TERM}")
_SIGNED_TERM = re.compile(rf"([+−\-])\s*{_TERM}")


def shown_results(text: str) -> list[tuple[tuple[str, ...], str]]:
    """The computations a text writes out that are right, in one unit (scales allowed): (the
    operands' numbers as written, the result as written) each. Dates are no computation.

    >>> shown_results("共计11 + 54 = 65家；又 3 + 4 = 8；1.2亿元 + 8000万元 = 2亿元")
    [(('11', '54'), '65家'), (('1.2', '8000'), '2亿元')]
    >>> shown_results("2024-11-12=2001"), shown_results("3万人 + 5人 = 8万人")
    ([], [])
    """
    text = DATE.sub(" ", text)
    found = []
    for m in _SHOWN.finditer(text):
        terms = [("+", m.group(1), m.group(2), m.group(3))] + _SIGNED_TERM.findall(m.group(4))
        units = {unit for *_, unit in terms}
        result_unit = m.group(7)
        same_unit = units == {""} or result_unit in units or (units == {"%"} and result_unit == "个百分点")
        if len(units) != 1 or not same_unit:  # (11 + 54 = 65家: the unit said once, at the end)
            continue
        if all(not scale and not unit for _, _, scale, unit in terms):  # 21 + 45 = 66万人: said once, at the end
            terms = [(sign, number, m.group(6), unit) for sign, number, _, unit in terms]
        total = sum((_signed(sign, number, scale) for sign, number, scale, _ in terms), Decimal(0))
        if total == _signed("+", m.group(5), m.group(6)):
            found.append((tuple(number for _, number, _, _ in terms), m.group(5) + m.group(6) + result_unit))
    return found


def _signed(sign: str, number: str, scale: str) -> Decimal:
    value = Decimal(number) * SCALES.get(scale, Decimal(1))
    return value if sign == "+" else -value
