"""Figures a report states: a number with its scale, unit, sign and bound.

Pure. 13500亿元 is 1.35e12 元 and 1.3万亿元 1.3e12 元, so the two can be added; 下降2% is −2%;
880亿斤以上 is a lower bound, 5%左右 and 近20家 approximations. Not one figure, so skipped:
20多家 (an unknown amount over 20), the ends of a range (10至20万人, 4.5-5%), 一个半月, ordinals (第二批),
years (2024年) and dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ..text.numerals import COUNT_COMPOUNDS, COUNT_WORDS, UNITS_OF_SIZE_AND_TIME, chinese_value

__all__ = ["Bound", "Quantity", "quantities", "base_unit", "SCALES", "plain", "BOUND_WORDS_AFTER"]

Bound = Literal["", "lower", "upper", "about"]
SCALES = {"万亿": Decimal(10) ** 12, "亿": Decimal(10) ** 8, "万": Decimal(10) ** 4, "千": Decimal(10) ** 3}
_BASE_UNITS = frozenset({*UNITS_OF_SIZE_AND_TIME, *COUNT_COMPOUNDS, "个工作日", "工作日", "元", "美元", "%", "个百分点", *COUNT_WORDS}) - {
    "日", "年", "月"
}  # fmt: skip (日/年/月 after a number are mostly dates)
_UNIT = "|".join(re.escape(u) for u in sorted(_BASE_UNITS, key=len, reverse=True))
_SCALE = "万亿|亿|万|千"
_NUMERAL = "零〇一二两三四五六七八九十百千"
_NUMBER = rf"(?<![\d.,第〕\]{_NUMERAL}])(\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|[{_NUMERAL}]+)\s*({_SCALE})?(多|余)?"
_FIGURE = re.compile(rf"{_NUMBER}({_UNIT})")
_FIGURE_OR_YEARS = re.compile(rf"{_NUMBER}({_UNIT}|年)")  # 10.8年 of schooling (a year like 2024年 is skipped)
_CALENDAR_YEAR = re.compile(r"(?:19|20)\d{2}")
# The other end of a range just before or after: 10至20万人, 4.5-5%, 3～5个工作日.
_RANGE_BEFORE = re.compile(rf"\d\s*(?:{_SCALE})?(?:{_UNIT})?\s*[-—–~～至到]\s*$")
_RANGE_AFTER = re.compile(r"\s*[-—–~～至到]\s*\d|半")  # (一个半月, 两个半小时: a fraction follows)
_FALLING = re.compile(r"(?:(?:下降|减少|降低|回落|下滑|缩小)了?|负|-|−)\s*$")
_BOUND_AFTER = (("以上", "lower"), ("以内", "upper"), ("以下", "upper"), ("左右", "about"), ("上下", "about"))
BOUND_WORDS_AFTER = tuple(word for word, _ in _BOUND_AFTER)  # 880亿斤以上, 5%左右: words a figure's bound follows it in
_BOUND_BEFORE = (
    ("不少于", "lower"), ("不低于", "lower"), ("超过", "lower"), ("至少", "lower"), ("逾", "lower"),
    ("不超过", "upper"), ("不到", "upper"), ("不足", "upper"), ("最多", "upper"), ("近", "about"), ("约", "about"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Quantity:
    """A figure as the text writes it (`written`: 1.3万亿元) and its value in the unit without a
    scale (1.3e12, 元), negative when the text says it falls (下降2% → −2)."""

    value: Decimal
    unit: str
    written: str
    scale: str = ""
    at: int = 0  # offset in the text it was read from
    bound: Bound = ""


def quantities(text: str, years: bool = False) -> list[Quantity]:
    """The figures a text states with a unit, in order; with `years`, also durations in years
    (平均受教育年限10.8年), never a calendar year.

    >>> [(q.written, str(q.value), q.bound) for q in quantities("涉及企业11家,下降2%,粮食产量880亿斤以上")]
    [('11家', '11', ''), ('2%', '-2', ''), ('880亿斤', '88000000000', 'lower')]
    >>> quantities("第二批20多家,新增就业10至20万人,增长4.5-5%,2024年")
    []
    """
    found = []
    for m in (_FIGURE_OR_YEARS if years else _FIGURE).finditer(text):
        number, scale, unit = m.group(1), m.group(2) or "", m.group(4)
        if m.group(3) or _RANGE_BEFORE.search(text, 0, m.start()) or _RANGE_AFTER.match(text, m.end()):
            continue
        if unit == "年" and (_CALENDAR_YEAR.fullmatch(number) or not number.isascii()):
            continue  # 2024年 is a date; 三年 mostly a span of plans (十四五, 三年行动)
        value = _value(number)
        if value is None:
            continue
        if _FALLING.search(text, max(0, m.start() - 3), m.start()):
            value = -value
        written = m.group(0)
        found.append(Quantity(value * SCALES.get(scale, Decimal(1)), unit, written, scale, m.start(), _bound(text, m)))
    return found


def base_unit(asked: str) -> str | None:
    """The unit figures are compared in for a unit a question asks (万元 → 元, 个百分点 → %), or
    None when it is no unit a figure is read in.

    >>> base_unit("万元"), base_unit("千瓦"), base_unit("个百分点"), base_unit("万人"), base_unit("倍数")
    ('元', '千瓦', '%', '人', None)
    """
    if asked == "个百分点":
        return "%"
    if asked in _BASE_UNITS:
        return asked
    for scale in sorted(SCALES, key=len, reverse=True):
        if asked.startswith(scale) and asked[len(scale) :] in _BASE_UNITS:
            return asked[len(scale) :]
    return None


def plain(value: Decimal) -> str:
    """A decimal as written: 1664, 0.57, 1.25 (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")


def _value(number: str) -> Decimal | None:
    if number.isascii():
        return Decimal(number.replace(",", ""))
    chinese = chinese_value(number)
    return Decimal(chinese) if chinese is not None else None


def _bound(text: str, m: re.Match[str]) -> Bound:
    after = text[m.end() : m.end() + 2]
    before = text[max(0, m.start() - 3) : m.start()]
    for word, bound in _BOUND_AFTER:
        if after.startswith(word):
            return bound  # type: ignore[return-value]
    for word, bound in sorted(_BOUND_BEFORE, key=lambda wb: -len(wb[0])):  # 不超过 before 超过
        if before.endswith(word):
            return bound  # type: ignore[return-value]
    return ""
