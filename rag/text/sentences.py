"""Sentences and clauses of cleaned (width-normalised) report text.

Pure. Offsets are positions in the text given, never found by searching.
"""

from __future__ import annotations

import re

__all__ = ["SENTENCE_END", "CLAUSE", "PIECE", "sentence_spans", "clause_spans"]

SENTENCE_END = re.compile(r"[。!?;]")  # sentence-ending punctuation (also what ends a heading)
# A sentence ends at 。!?; (closing quotes/brackets stay with it) or a line break.
_SENTENCE = re.compile(r"[^。!?;\n]*(?:[。!?;]+[”’\"')\]》]*|\n+|$)")
# A clause of an answer: up to a comma, semicolon or colon (not 、, which joins list items).
CLAUSE = re.compile(r"[^,;:]+[,;:]*")
# A piece of an over-long sentence for the chunker: list items (、) split too.
PIECE = re.compile(r"[^,、:]*(?:[,、:]+|$)")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets in text[start:end], whitespace trimmed.

    >>> sentence_spans("甲。乙!\\n丙")
    [(0, 2), (2, 4), (5, 6)]
    """
    end = len(text) if end is None else end
    spans = []
    for m in _SENTENCE.finditer(text, start, end):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clause (start, end) offsets of text[start:end] (see CLAUSE).

    >>> clause_spans("甲,乙;丙", 0, 5)
    [(0, 2), (2, 4), (4, 5)]
    """
    return [(start + m.start(), start + m.end()) for m in CLAUSE.finditer(text[start:end])]
