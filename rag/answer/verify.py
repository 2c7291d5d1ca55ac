"""Checks an answer must pass before it is shown: a cross-lingual question is close enough to the
passages, every stated number is in a cited passage. (That the answering sentence holds the
question's key words is checked where the sentence is chosen: `terms.key_terms`, `evidence`.)

Pure; used by both answer modes (extractive composition and the LLM's checked answer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..text.numerals import normal_number, numbers_in
from ..types import Document, Hit
from .arithmetic import shown_results

__all__ = ["CROSS_LINGUAL_MIN_SIMILARITY", "best_similarity", "unsupported_numbers"]

# Best passage similarity below which a question in another language (no shared words to
# check) is about something else. Measured with multilingual-e5-small: English questions the
# reports answer scored 0.76–0.81, unrelated ones ("How tall is Mount Everest?") 0.70–0.72.
CROSS_LINGUAL_MIN_SIMILARITY = 0.75
# "1. …" list numbering the model adds itself is not a fact.
_LIST_NUMBER = re.compile(r"(?m)^\s*(?:\d{1,2}[.、)）](?!\d)|[(（]\d{1,2}[)）])\s*")
ANSWER_MARKER = re.compile(r"\[(\d+)\]")


def best_similarity(hits: Sequence[Hit]) -> float:
    """Highest dense similarity among the hits (1.0 when none carries one: nothing to judge by)."""
    scores = [h.dense_score for h in hits if h.dense_score is not None]
    return max(scores) if scores else 1.0


def unsupported_numbers(
    text: str, question: str, cited: Sequence[Hit], documents: Mapping[str, Document]
) -> list[str]:
    """Numbers the answer `text` states that neither the question nor a cited passage
    (its text, title, section path, its report's title or date) holds, nor a computation the
    text shows of such numbers (11 + 54 = 65, when it is right), smallest first."""
    claim_text = _LIST_NUMBER.sub("", ANSWER_MARKER.sub("", text))
    sources = [question]
    for hit in cited:
        # Heading ordinals (5.…) are structure, not facts the answer may borrow.
        sources += [_LIST_NUMBER.sub("", hit.chunk.text), hit.title, *(_LIST_NUMBER.sub("", s) for s in hit.chunk.section)]
        doc = documents.get(hit.chunk.doc_id)
        if doc:
            sources.append(doc.title)
            if doc.meta.published:
                # The date shown in the passage header counts only when quoted as that date:
                # its parts (2, 12…) must not license other numbers.
                claim_text = _date_pattern(doc.meta.published).sub(" ", claim_text)
    claimed = numbers_in(claim_text)
    if not claimed:
        return []
    allowed = numbers_in("\n".join(sources))
    for terms, result in shown_results(claim_text):  # 11 + 54 = 65: a result worked out from cited numbers
        if all(normal_number(t) in allowed for t in terms):
            allowed |= numbers_in(result)
    return sorted(claimed - allowed, key=lambda v: (len(v), v))


def _date_pattern(iso: str) -> re.Pattern[str]:
    """2025-02-12 written as 2025-02-12, 2025年2月12日, 2025/2/12 or 2025.02.12."""
    year, month, day = (int(part) for part in iso.split("-"))
    return re.compile(rf"{year}\s*[-年/.]\s*0?{month}\s*[-月/.]\s*0?{day}\s*日?")
