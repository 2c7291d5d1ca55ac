"""Dates as reports write them: 2025年1月20日, 2025-02-12, 二〇二六年一月二十七日, a bare 2025212.

Pure. Every reader of a date (cleaning, report identity, answers) uses these.
"""

from __future__ import annotations

import re
from datetime import date

from .numerals import chinese_value

__all__ = ["DATE", "CN_DATE", "parse_date", "iso_date", "dates_in"]

DATE = re.compile(r"((?:19|20)\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})\s*日?")
_CN_DIGIT = "〇零一二三四五六七八九"
CN_DATE = re.compile(rf"([{_CN_DIGIT}]{{4}})年([一二三四五六七八九十]{{1,3}})月([一二三四五六七八九十]{{1,3}})日")


def iso_date(year: int, month: int, day: int) -> str | None:
    """The ISO date, or None when it does not exist.

    >>> iso_date(2025, 2, 12), iso_date(2025, 2, 30)
    ('2025-02-12', None)
    """
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def dates_in(text: str) -> list[tuple[int, int, str]]:
    """(start, end, ISO date) of every date written out in `text`, in order.

    >>> dates_in("——二〇二六年一月二十七日在…;成文日期:2019年01月27日")
    [(2, 13, '2026-01-27'), (21, 32, '2019-01-27')]
    """
    found = []
    for m in DATE.finditer(text):
        iso = iso_date(*map(int, m.groups()))
        if iso:
            found.append((m.start(), m.end(), iso))
    for m in CN_DATE.finditer(text):
        parts = [chinese_value(g) for g in m.groups()]
        if all(p is not None for p in parts):
            iso = iso_date(*parts)  # type: ignore[arg-type]
            if iso:
                found.append((m.start(), m.end(), iso))
    return sorted(found)


def parse_date(text: str, hint: str | None = None) -> str | None:
    """An ISO date from '2025-02-12 14:34', '2025年2月12日', '二〇二六年一月二十七日' or a bare '2025212'.

    A bare 7-digit date is ambiguous (2025-2-12 or 2025-21-2); only valid
    readings count and the one equal to `hint` wins.
    >>> parse_date("2025212")
    '2025-02-12'
    """
    text = text.strip()
    found = dates_in(text)
    if found:
        return found[0][2]
    if re.fullmatch(r"\d{7,8}", text):
        year, rest = int(text[:4]), text[4:]
        splits = [(rest[:2], rest[2:])] if len(rest) == 4 else [(rest[:1], rest[1:]), (rest[:2], rest[2:])]
        readings = [d for mm, dd in splits if (d := iso_date(year, int(mm), int(dd)))]
        if hint in readings:
            return hint
        return readings[0] if readings else None
    return None
