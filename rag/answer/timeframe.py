"""When a passage speaks of: the years a sentence, its section and its report are about.

Pure. A government work report delivered in N reviews N−1 ("一、2024年工作回顾",
"过去一年") and plans N ("今年", "二、2025年工作安排"); a sentence may say its year
outright ("2024年", "到2025年"), relatively ("今年", "去年", 以上一年为准) or by a
five-year plan ("十四五"时期 = 2021–2025). The most specific wins: the
sentence's own years, else its section's, else the report's. Whether a passage
reviews (an actual figure) or plans (a target) comes from its section heading
and its own wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..types import DocumentMeta

__all__ = ["Timeframe", "timeframe", "plan_period"]

Stance = Literal["review", "plan", "unknown"]

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=\s*年)")
_RELATIVE = (("今年", 0), ("本年", 0), ("去年", -1), ("上年", -1), ("过去一年", -1), ("一年来", -1), ("明年", 1))
_FIVE_YEAR_PLAN = re.compile(r"[“\"]?(十[一二三四五六七八九]|[一二三四五六七八九])五[”\"]?(?:时期|期间|规划|以来)?")
_REVIEW_HEADING = re.compile(r"回顾|过去|成绩|成效|一年来|五年来|进展|情况")
_PLAN_HEADING = re.compile(r"目标|任务|安排|要求|计划|打算|部署|建议|思路|重点工作|政策取向|主要预期")
_TARGET_WORDS = re.compile(r"目标|预期|左右|以上|以内|力争|确保|拟|计划|将|要|力求|争取|控制在|保持在")
_ACTUAL_WORDS = re.compile(r"达到|完成|实现|增长了|提高了|下降了|突破|比上年|同比|累计|较上年")
_CN = {c: i for i, c in enumerate("一二三四五六七八九", start=1)}


@dataclass(frozen=True, slots=True)
class Timeframe:
    """The years a passage speaks of and whether it reviews or plans (from the most specific source)."""

    years: frozenset[int]
    explicit: bool  # the sentence or its section says the years (not only the report's default)
    stance: Stance


def plan_period(numeral: str) -> range | None:
    """The years of the N-th five-year plan, from the 6th (1981–1985) on.

    >>> plan_period("十四"), plan_period("十三")
    (range(2021, 2026), range(2016, 2021))
    """
    n = (10 + _CN.get(numeral[1:], 0)) if numeral.startswith("十") else _CN.get(numeral, 0)
    if n < 6:
        return None
    start = 1981 + 5 * (n - 6)
    return range(start, start + 5)


def _years_in(text: str, base: int | None) -> set[int]:
    found = {int(y) for y in _YEAR.findall(text)}
    if base is not None:
        for word, offset in _RELATIVE:
            if word in text:
                found.add(base + offset)
    for m in _FIVE_YEAR_PLAN.finditer(text):
        period = plan_period(m.group(1))
        if period:
            found |= set(period)
    return found


def timeframe(sentence: str, section: tuple[str, ...], meta: DocumentMeta) -> Timeframe:
    """When `sentence` (under the headings `section`, in a report with `meta`) speaks of.

    >>> from rag.types import DocumentMeta
    >>> meta = DocumentMeta(genre="政府工作报告", year=2025, reports_on=2024, issued=2025)
    >>> t = timeframe("经济总量达到64697亿元", ("一、2024年工作回顾",), meta)
    >>> sorted(t.years), t.explicit, t.stance
    ([2024], True, 'review')
    >>> t = timeframe("今年粮食产量616亿斤左右", ("二、2025年工作安排",), meta)
    >>> sorted(t.years), t.stance
    ([2025], 'plan')
    """
    base = meta.issued or meta.year
    headings = " ".join(section)
    stance: Stance = "unknown"
    for heading in reversed(section):  # the nearest heading that says decides
        if _PLAN_HEADING.search(heading):
            stance = "plan"
            break
        if _REVIEW_HEADING.search(heading):
            stance = "review"
            break
    if stance == "unknown":
        if _TARGET_WORDS.search(sentence) and not _ACTUAL_WORDS.search(sentence):
            stance = "plan"
        elif _ACTUAL_WORDS.search(sentence):
            stance = "review"
    own = _years_in(sentence, base)
    if own:
        return Timeframe(frozenset(own), True, stance)
    heading_years = _years_in(headings, base)
    if stance == "review" and meta.reports_on and not heading_years:
        heading_years = {meta.reports_on}
    if heading_years:
        return Timeframe(frozenset(heading_years), True, stance)
    default = {y for y in (meta.reports_on, meta.issued, meta.year) if y}
    if stance == "plan" and meta.issued:
        default = {meta.issued}
    return Timeframe(frozenset(default), False, stance)
