"""Numbers in Chinese text: numerals, measure words, and the values a text states.

Pure. One home for what counts as a number, so that keyword search (五十 ~ 50),
extractive answers (does this clause hold a count?) and the LLM number guard
(does the answer state a number no passage holds?) agree.
"""

from __future__ import annotations

import re

__all__ = [
    "DIGIT_CHARS",
    "MAGNITUDE_CHARS",
    "NUMERAL_CHARS",
    "COUNT_WORDS",
    "COUNT_COMPOUNDS",
    "MEASURE",
    "UNITS",
    "UNITS_OF_SIZE_AND_TIME",
    "chinese_value",
    "normal_number",
    "numbers_in",
]

DIGIT_CHARS = "零〇一二两三四五六七八九"
MAGNITUDE_CHARS = "十百千万亿"
NUMERAL_CHARS = DIGIT_CHARS + MAGNITUDE_CHARS
_DIGIT_VALUE = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}

# Measure words of a count (11家, 五次, 三起): one character each, plus two compounds.
COUNT_WORDS = "个家次件项条名人位届期场批篇份种类所倍轮章节款号部本台套户间座处门支堂课起例"
COUNT_COMPOUNDS = ("人次", "批次")
# Everything a stated quantity may be followed by: counts, money, time, shares (成: 三成).
MEASURE = (
    "(?:多|余)?(?:"
    + "|".join((*COUNT_COMPOUNDS, "万元", "亿元", "小时", "分钟"))
    + f"|[{COUNT_WORDS}元年月日天周岁成万亿%])"
)

# Units of money, size and time a stated figure may carry beyond the count words (29微克/立方米,
# 480毫米, 3.68万亿元, 12个月), longest first so that an alternation takes the whole unit.
UNITS_OF_SIZE_AND_TIME = (
    "个月", "小时", "分钟", "千瓦时", "千瓦", "微克", "毫克", "平方公里", "平方米", "立方米", "公顷", "公里",
    "千米", "毫米", "厘米", "标箱", "吨", "斤", "亩", "米", "天", "日", "周", "年", "月", "岁",
)  # fmt: skip
UNITS = ("万亿元", "亿元", "万元", "美元", "元", "万亿", "亿", "万", "个百分点", "%", *COUNT_COMPOUNDS, "方面")

_ARABIC = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?")
_SCALE = {"万": 10_000, "亿": 100_000_000}
_CHINESE_BEFORE_MEASURE = re.compile(f"([{NUMERAL_CHARS}]+)(?={MEASURE})")


def chinese_value(numeral: str) -> int | None:
    """The integer a Chinese numeral writes, or None when it is not one.

    Digit runs read digit by digit (二〇二四 → 2024); magnitude characters alone are
    words, not numbers (百姓, 千方百计, 万众); 十四五 is no number.

    >>> chinese_value("五十"), chinese_value("两"), chinese_value("五十万"), chinese_value("十四五"), chinese_value("百")
    (50, 2, 500000, None, None)
    """
    import cn2an

    if not numeral or any(ch not in NUMERAL_CHARS for ch in numeral):
        return None
    if all(ch in DIGIT_CHARS for ch in numeral):
        if len(numeral) == 1:
            return _DIGIT_VALUE[numeral]
        if "两" in numeral:  # 两两 is no number
            return None
        return int("".join(str(_DIGIT_VALUE[ch]) for ch in numeral))
    if not any(ch in DIGIT_CHARS for ch in numeral) and numeral != "十":
        return None
    try:
        value = cn2an.cn2an(numeral, "normal")
    except (ValueError, KeyError, IndexError):
        return None
    if not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
        return None
    return int(value)


def normal_number(number: str) -> str:
    """One spelling per value: 08 → 8, 3.50 → 3.5, 20000.0 → 20000.

    >>> normal_number("08"), normal_number("3.50"), normal_number("20000.0")
    ('8', '3.5', '20000')
    """
    value = float(number)
    return str(int(value)) if value.is_integer() else repr(value)


def numbers_in(text: str) -> set[str]:
    """Normalised values of the numbers a text states: digits, decimals, percentages' numbers,
    scaled values (2万 also as 20000), and Chinese numerals before a measure word (八次 → "8").

    >>> sorted(numbers_in("涉及企业11家,检查率达100%,开展两次检查"))
    ['100', '11', '2']
    """
    values = set()
    for m in _ARABIC.finditer(text):
        number = m.group(0).replace(",", "")
        values.add(normal_number(number))
        scale = _SCALE.get(text[m.end() : m.end() + 1])
        if scale:  # 2万 and 两万 must meet: keep the scaled value too
            values.add(normal_number(repr(float(number) * scale)))
    for m in _CHINESE_BEFORE_MEASURE.finditer(text):
        value = chinese_value(m.group(1))
        # A lone 一 (一项/一次/一个) is how Chinese says "a", not a claimed count.
        if value is not None and value != 1:
            values.add(str(value))
    return values
