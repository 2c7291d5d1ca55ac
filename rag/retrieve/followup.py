"""Follow-up questions: resolve "那54家是哪个区的？" against the previous turn.

Transparent heuristic for extractive mode (the LLM mode asks the LLM): a
question that leans on the conversation (starts with 那/这/其中…, names no
subject, or is very short) is searched together with the previous question.
An elliptical one that only names another year or place ("那2025年呢？",
"浙江呢？", "What about 2025?") asks the previous question again with that
year or place in place of the old one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text.places import place_aliases, places_in
from ..types import Turn
from .scope import YEAR_MENTION

__all__ = ["needs_context", "rewrite_followup"]

_LEANING = re.compile(
    r"^(?:那|那么|那些|这|这些|这个|这次|其中|它|它们|他们|该|此|上述|前面|刚才|还有|另外|and\b|what about|how about)"
    r"|(?:这些|那些|其中|它们|他们|上述|该项|该局|这项|那项|这个数|那个数)",
    re.IGNORECASE,
)
_SHORT = 8
# "那2025年呢", "浙江省的呢", "what about 2025": a question that is only its new focus
_ELLIPTICAL = re.compile(
    r"^(?:那么|那|还有|and|what about|how about)?\s*(?P<focus>[^,，。;；]{1,16}?)\s*(?:的)?(?:呢|怎么样|如何)$"
    r"|^(?:what|how) about\s+(?P<english>.{1,30})$",
    re.IGNORECASE,
)


def needs_context(question: str) -> bool:
    """Does the question lean on an earlier turn?

    >>> needs_context("那54家是哪个区的？"), needs_context("2024年检查了多少家企业？")
    (True, False)
    """
    stripped = question.strip(" ?？!！。")
    return bool(_LEANING.search(stripped)) or len(stripped) < _SHORT


def rewrite_followup(question: str, history: Sequence[Turn]) -> str:
    """The query to search: the question itself, or prefixed by the last question it leans on.

    >>> rewrite_followup("那54家是哪个区的？", [Turn("2024年检查了多少家企业？", "…54家…")])
    '2024年检查了多少家企业 那54家是哪个区的？'
    """
    if not history or not needs_context(question):
        return question
    previous = _standalone(history)
    return _refocused(question, previous) or f"{previous.rstrip(' ?？。')} {question}"


def _standalone(history: Sequence[Turn]) -> str:
    """The conversation's question as it stands after its turns: the last standalone question,
    refocused by each elliptical turn since (江苏2026…? → 浙江呢 → 那2025年呢 asks of 浙江 2025)."""
    current: str | None = None
    for turn in history:
        if current is None or not needs_context(turn.question):
            current = turn.question
        else:
            current = _refocused(turn.question, current) or current
    return current or history[-1].question


def _refocused(question: str, previous: str) -> str | None:
    """`previous` with the year or place an elliptical `question` names instead of its own; None
    when the question asks more than that, or `previous` has not exactly one of them to replace.

    >>> _refocused("那2025年呢？", "江苏省2026年地区生产总值增长目标是多少？")
    '江苏省2025年地区生产总值增长目标是多少？'
    >>> _refocused("浙江呢？", "江苏省2026年地区生产总值增长目标是多少？")
    '浙江省2026年地区生产总值增长目标是多少？'
    >>> _refocused("What about 2025?", "What was Jiangsu's 2026 GDP growth target?")
    "What was Jiangsu's 2025 GDP growth target?"
    >>> _refocused("那54家是哪个区的？", "2024年检查了多少家企业？") is None
    True
    """
    m = _ELLIPTICAL.match(question.strip(" ?？!！。"))
    if m is None:
        return None
    focus = (m.group("focus") or m.group("english") or "").strip()
    years, places = _year_mentions(focus), places_in(focus)
    if len(years) + len(places) != 1 or _rest(focus, years, places):
        return None  # "那2025年的企业数呢" asks more than another year: searched with the previous question
    if years:
        old = _year_mentions(previous)
        if len(old) != 1:
            return None
        new = re.sub(r"\d{4}", years[0][:4], old[0])  # the old mention's form: 2026年 → 2025年, 2026 → 2025
        return previous.replace(old[0], new, 1)
    old_places = places_in(previous)
    if len(old_places) != 1:
        return None
    aliases = sorted(place_aliases(old_places[0]), key=len, reverse=True)
    named = re.compile("|".join(re.escape(a) for a in aliases))
    return named.sub(places[0], previous) if named.search(previous) else None


def _year_mentions(text: str) -> list[str]:
    """The years `text` names, as written (2026年, 2026): scope's reading of a year."""
    return [m.group(0) for m in YEAR_MENTION.finditer(text)]


def _rest(focus: str, years: list[str], places: list[str]) -> str:
    """What the focus says besides its year or place."""
    for name in (*years, *(a for p in places for a in sorted(place_aliases(p), key=len, reverse=True))):
        focus = focus.replace(name, "", 1)
    return re.sub(r"(?i)[\s的年度]|\b(?:in|the|year|province)\b", "", focus)
