"""The model's answer checked against the passages it was given (pure).

Nothing the model writes is trusted as is:

- markers pointing at passages it was not given are removed and reported;
- the remaining markers are renumbered in order of first appearance and each
  becomes a Citation quoting the passage sentence(s) that best support the
  claim it follows, with offsets computed from the chunk's own offsets;
- every number in the answer must occur in a cited passage (or the question,
  or the cited report's title/section/date: `rag.answer.verify`), else
  `AnswerRejected` is raised and the Assistant shows the extractive answer with
  a notice: a number the reports do not contain is the costly kind of error;
- "报告中未找到相关信息" becomes a not-found answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ...errors import AnswerRejected, LLMError
from ...text.numerals import numbers_in
from ...text.sentences import CLAUSE, sentence_spans
from ...types import Answer, Citation, Document, Hit
from ..extractive import not_found_answer
from ..quotes import citation, trim_quote
from ..verify import unsupported_numbers
from .markers import renumber, strip_think

__all__ = ["NOT_FOUND_PHRASE", "finalize_llm_answer"]

NOT_FOUND_PHRASE = "报告中未找到相关信息"


def finalize_llm_answer(
    question: str,
    raw: str,
    passages: Sequence[Hit],
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
) -> Answer:
    """Validate the model's full output against the passages it was given (pure).

    `passages` are the hits in prompt order (passage n is passages[n-1]);
    `hits` are all retrieved hits, kept on the Answer. Raises LLMError for an
    empty reply and AnswerRejected when the answer cites nothing or states a
    number no cited passage contains.
    """
    markers = renumber(strip_think(raw), len(passages))
    text = markers.text.strip()
    notice = None
    if markers.invalid:
        notice = "已删除指向不存在段落的引用 " + "".join(f"[{n}]" for n in markers.invalid)
    if not text:
        raise LLMError("大模型返回了空回答")
    if not markers.order and NOT_FOUND_PHRASE in _compact(text):
        return not_found_answer(question, hits, notice=notice)
    if not markers.order:
        raise AnswerRejected("回答没有引用任何段落")
    cited = [passages[n - 1] for n in markers.order]
    missing = unsupported_numbers(text, question, cited, documents)
    if missing:
        raise AnswerRejected(f"回答中的数字“{'、'.join(missing)}”不在所引用的段落中")
    claims = _claims(text)
    citations = tuple(
        _cite(marker, hit, [c for m, c in claims if m == marker], documents)
        for marker, hit in enumerate(cited, start=1)
    )
    return Answer(question=question, text=text, citations=citations, hits=tuple(hits), mode="llm", notice=notice)


def _compact(text: str) -> str:
    return re.sub(r"[\s。.!！,，:：\"“”]", "", text)


# Answer sentences; markers written after the full stop stay with the sentence they follow.
_ANSWER_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+(?:\s*\[\d+\])*|\n+|$)")
_CLEAN_MARKER = re.compile(r"\[(\d+)\]")
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")


def _claims(text: str) -> list[tuple[int, str]]:
    """(marker, the claim it follows): the text since the sentence start or the previous marker.

    Adjacent markers ([1][2]) share one claim; a marker with no text before it
    in its sentence takes the whole sentence.
    """
    claims: list[tuple[int, str]] = []
    for m_sentence in _ANSWER_SENTENCE.finditer(text):
        s, e = m_sentence.span()
        sentence = _CLEAN_MARKER.sub("", text[s:e])
        pos, previous = s, None
        for m in _CLEAN_MARKER.finditer(text, s, e):
            before = text[pos : m.start()]
            if _CONTENT.search(before):
                previous = _CLEAN_MARKER.sub("", before)
            elif previous is None:
                previous = sentence
            claims.append((int(m.group(1)), previous))
            pos = m.end()
    return claims


_QUOTE_HULL_MAX = 300  # chars: beyond this, one passage's supporting sentences are too far apart to quote as one
_NARROW_OVER = 80  # chars: longer sentences are cut to the clauses that carry the claim


def _cite(marker: int, hit: Hit, claims: Sequence[str], documents: Mapping[str, Document]) -> Citation:
    """Citation of one passage: the sentence(s) best supporting its claims, with exact offsets.

    Offsets are found within the chunk's own text and shifted by the chunk's
    start, never searched for in the whole document.
    """
    chunk = hit.chunk
    spans: list[tuple[float, int, int]] = []
    for claim in claims:
        spans.extend(_support(chunk.text, claim))
    if not spans:  # no claim text (cannot happen for a marker, kept for safety): quote the first sentence
        first = sentence_spans(chunk.text)[:1] or [(0, len(chunk.text))]
        spans = [(0.0, *first[0])]
    # Several claims may cite one passage; a claim it barely supports must not stretch the quote.
    top = max(score for score, _, _ in spans)
    spans = [t for t in spans if t[0] >= 0.6 * top]
    start, end = min(s for _, s, _ in spans), max(e for _, _, e in spans)
    if end - start > _QUOTE_HULL_MAX:
        _, start, end = max(spans, key=lambda t: t[0])
    return citation(marker, documents[chunk.doc_id], hit, chunk.start + start, chunk.start + end)


def _support(text: str, claim: str) -> list[tuple[float, int, int]]:
    """The passage sentence(s) that best support a claim: (score, start, end) in `text`.

    Character-bigram coverage of the claim, plus a bonus for carrying the
    claim's numbers; a second sentence is added when it covers much the first
    does not (claims that merge two sentences).
    """
    wanted = _bigrams(claim)
    if not wanted:
        return []
    claim_numbers = numbers_in(claim)
    scored = []
    for s, e in sentence_spans(text):
        s, e = _narrow(text, s, e, wanted)
        got = _bigrams(text[s:e]) & wanted
        bonus = 0.3 * len(claim_numbers & numbers_in(text[s:e])) / len(claim_numbers) if claim_numbers else 0.0
        scored.append((len(got) / len(wanted) + bonus, s, e, got))
    if not scored:
        return []
    scored.sort(key=lambda t: (-t[0], t[1]))
    best = scored[0]
    chosen = [best]
    covered = set(best[3])
    for cand in scored[1:3]:
        if len(cand[3] - covered) >= 0.25 * len(wanted):
            chosen.append(cand)
            covered |= cand[3]
    return [(score, s, e) for score, s, e, _ in chosen]


def _narrow(text: str, start: int, end: int, wanted: set[str]) -> tuple[int, int]:
    """Cut a long sentence to the shortest run of clauses holding (nearly) all its claim bigrams."""
    if end - start <= _NARROW_OVER:
        return trim_quote(text, start, end)
    clauses = [(start + m.start(), start + m.end()) for m in CLAUSE.finditer(text[start:end])]
    if len(clauses) < 2:
        return trim_quote(text, start, end)
    sets = [_bigrams(text[s:e]) & wanted for s, e in clauses]
    total = set().union(*sets)
    if not total:
        return trim_quote(text, start, end)
    best = (start, end)
    for i in range(len(clauses)):
        acc: set[str] = set()
        for j in range(i, len(clauses)):
            acc |= sets[j]
            if len(acc) >= 0.9 * len(total):
                s, e = clauses[i][0], clauses[j][1]
                if e - s < best[1] - best[0]:
                    best = (s, e)
                break
    return trim_quote(text, *best)


def _bigrams(text: str) -> set[str]:
    chars = "".join(_CONTENT.findall(text))
    return {chars[i : i + 2] for i in range(len(chars) - 1)}
