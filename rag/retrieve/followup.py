"""Follow-up questions: resolve "那54家是哪个区的？" against the previous turn.

Transparent heuristic for extractive mode (the LLM mode asks the LLM): a
question that leans on the conversation (starts with 那/这/其中…, names no
subject, or is very short) is searched together with the previous question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import Turn

__all__ = ["needs_context", "rewrite_followup"]

_LEANING = re.compile(
    r"^(?:那|那么|那些|这|这些|这个|这次|其中|它|它们|他们|该|此|上述|前面|刚才|还有|另外|and\b|what about|how about)"
    r"|(?:这些|那些|其中|它们|他们|上述|该项|该局|这项|那项|这个数|那个数)",
    re.IGNORECASE,
)
_SHORT = 8


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
    previous = _last_standalone(history)
    return f"{previous.rstrip(' ?？。')} {question}"


def _last_standalone(history: Sequence[Turn]) -> str:
    """The most recent question that did not itself lean on an earlier one."""
    for turn in reversed(history):
        if not needs_context(turn.question):
            return turn.question
    return history[-1].question
