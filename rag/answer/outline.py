"""List answers: the points of a matching section, or of the enumeration a sentence belongs to.

Pure. For "存在哪些问题 / 工作打算" the best-matching section's sub-headings or
enumerated points are listed, each cited; for a sentence inside "…:一是…二是…"
every point of the enumeration is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..ingest.sections import Section, split_sections
from ..retrieve.query import QueryInfo
from ..text.markers import POINT_START
from ..text.sentences import sentence_spans
from ..types import Answer, Document, Hit
from .evidence import OTHER_REPORT_SCORE, Evidence
from .quotes import citation, hit_lookup, strip_span, trim_quote
from .terms import coverage, matched

__all__ = ["section_answer", "enumeration_answer"]

_SECTION_SYNONYMS = {
    "问题": ("问题", "不足", "短板", "困难", "差距"),
    "打算": ("打算", "计划", "安排", "思路", "下一步", "重点工作", "目标"),
    "成效": ("成效", "举措", "做法", "成绩", "进展", "完成情况"),
}


def section_answer(
    question: str, info: QueryInfo, terms: Mapping[str, float], hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer | None:
    """For 'what problems / what plans': the points of the best-matching section.

    Only reports retrieved about as well as the first one qualify: a section heading
    that happens to match better must not move the answer to a report the question
    is not about (another district's 工作打算 instead of the one asked for).
    """
    best: tuple[float, Document, Section, list[Section]] | None = None
    top = hits[0].score if hits else 0.0
    for doc_id in dict.fromkeys(h.chunk.doc_id for h in hits if h.score >= OTHER_REPORT_SCORE * top):
        doc = documents[doc_id]
        sections = split_sections(doc.text)
        for section in sections:
            if section.heading is None:
                continue
            score = _heading_match(question, info, terms, section.heading.title)
            if score > 0 and (best is None or score > best[0]):
                best = (score, doc, section, sections)
    if best is None:
        return None
    _, doc, section, sections = best
    children = [
        s for s in sections
        if len(s.path) == len(section.path) + 1 and s.path[: len(section.path)] == section.path and s.heading
    ]
    if children:
        spans = [(c.heading.start, c.heading.end) for c in children if c.heading is not None]
    else:
        spans = section_points(doc.text, section)
    if not spans:
        return None
    hit_for = hit_lookup(hits, doc)
    citations = []
    for marker, (start, end) in enumerate(spans[:8], start=1):
        start, end = trim_quote(doc.text, start, end)
        citations.append(citation(marker, doc, hit_for(start), start, end))
    heading = section.path[-1]
    lines = [f"·{c.quote.rstrip('。;')}[{c.marker}]" for c in citations]
    text = f"《{doc.title}》“{heading}”部分的要点：\n" + "\n".join(lines)
    return Answer(question=question, text=text, citations=tuple(citations), hits=tuple(hits), mode="extractive")


def _heading_match(question: str, info: QueryInfo, terms: Mapping[str, float], heading: str) -> float:
    score = 0.0
    for synonyms in _SECTION_SYNONYMS.values():
        if any(s in question for s in synonyms) and any(s in heading for s in synonyms):
            score += 1.0
    score += 0.5 * coverage(terms, matched(terms, heading))
    if info.years and not any(str(y) in heading for y in info.years) and re.search(r"\d{4}年", heading):
        score -= 0.5
    return score if score >= 1.0 else 0.0


def enumeration_answer(
    question: str, best: Evidence, hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer | None:
    """When the best sentence belongs to an enumeration (…:一是…二是…三是…), answer with all its points."""
    doc = documents[best.doc_id]
    text = doc.text
    para_start = text.rfind("\n", 0, best.start) + 1
    para_end = text.find("\n", best.end)
    para_end = len(text) if para_end < 0 else para_end
    starts = [m.start() for m in POINT_START.finditer(text, para_start, para_end)]
    if len(starts) < 2 or best.start < starts[0] - 80:
        return None
    hit_for = hit_lookup(hits, doc)
    citations = []
    for marker, (s, e) in enumerate(zip(starts, [*starts[1:], para_end], strict=True), start=1):
        s, e = trim_quote(text, *strip_span(text, s, e))
        citations.append(citation(marker, doc, hit_for(s), s, e))
    lines = [f"·{c.quote.rstrip('。;')}[{c.marker}]" for c in citations]
    text_out = f"《{doc.title}》中列出以下几点：\n" + "\n".join(lines)
    return Answer(question=question, text=text_out, citations=tuple(citations), hits=tuple(hits), mode="extractive")


def section_points(text: str, section: Section) -> list[tuple[int, int]]:
    """Enumerated points (一是…/(1)…) of a section body, else its sentences after the first."""
    body_start = section.heading.end if section.heading else section.start
    sentences = sentence_spans(text, body_start, section.end)
    starts = [m.start() for m in POINT_START.finditer(text, body_start, section.end)]
    if starts:
        points = []
        for i, s in enumerate(starts):
            e = starts[i + 1] if i + 1 < len(starts) else section.end
            points.append(strip_span(text, s, e))
        return points
    return sentences[1:6] if len(sentences) > 1 else sentences
