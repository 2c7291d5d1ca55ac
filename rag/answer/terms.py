"""The question's content words, and how much of them a text holds.

Pure. Shared by evidence selection (which sentence answers) and verification
(does any passage hold the question's key content at all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from ..text.synonyms import synonyms_of
from ..text.tokenize import word_tokenize

__all__ = ["QUESTION_WORDS", "YEAR_TOKEN", "tokenize", "token_set", "question_terms", "matched", "coverage"]

# Words that say what kind of answer is wanted but never appear in the answer.
QUESTION_WORDS = frozenset(
    ["多少", "几", "几次", "几件", "几项", "几家", "几期", "几个", "哪些", "什么", "什么时候", "何时", "哪天", "哪个", "哪位", "谁", "是", "了", "的", "有", "共", "吗", "呢", "么", "如何", "怎么", "怎样", "是否", "请问", "这份", "该", "本", "报告", "共有", "一共", "总共", "现有", "情况", "多少次", "多少家", "多少件", "多少个", "哪年", "年", "月", "日", "还", "都", "the", "a", "an", "of", "how", "many", "much", "what", "when", "who", "which", "is", "are", "was", "were", "did", "do", "does", "in", "on", "for", "to"]
)

YEAR_TOKEN = re.compile(r"(?:19|20)\d{2}")

tokenize = word_tokenize  # precise mode: a term's weight is never counted twice


@lru_cache(maxsize=4096)
def token_set(text: str) -> frozenset[str]:
    """The words of `text`, as a set (cached)."""
    # The same headings, titles and clauses are matched against for every candidate
    # sentence of a question (and again by later questions): tokenise each once.
    return frozenset(tokenize(text))


def question_terms(question: str) -> dict[str, float]:
    """Content terms of the question with weights (longer terms weigh more; years little,
    since the year mostly selects the report, not the sentence)."""
    weights: dict[str, float] = {}
    for token in tokenize(question):
        if token in QUESTION_WORDS or len(token) == 1 and not token.isdigit():
            continue
        if YEAR_TOKEN.fullmatch(token):
            weight = 0.5
        elif token.isdigit():
            weight = 2.0
        else:
            weight = min(len(token), 4) * (1.5 if token.isascii() else 1.0)
        weights[token] = max(weights.get(token, 0.0), weight)
    return weights


def matched(terms: Mapping[str, float], text: str) -> dict[str, float]:
    """Matched terms with the share of their weight earned: whole token (or a synonym) 1,
    substring ½."""
    if not terms:
        return {}
    present = token_set(text)
    lowered = text.lower()
    out = {}
    for t in terms:
        wordings = (t, *synonyms_of(t))
        if any(w in present for w in wordings):
            out[t] = 1.0
        elif any(w.lower() in lowered for w in wordings):
            out[t] = 0.5
    return out


def coverage(terms: Mapping[str, float], matched: Mapping[str, float]) -> float:
    total = sum(terms.values())
    return sum(terms[t] * share for t, share in matched.items()) / total if total else 0.0
