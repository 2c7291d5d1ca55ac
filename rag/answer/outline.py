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
from ..text.numerals import chinese_value
from ..text.sentences import sentence_spans
from ..types import Answer, Citation, Document, Hit
from .evidence import OTHER_REPORT_SCORE, Evidence
from .quotes import citation, hit_lookup, strip_span, trim_quote
from .terms import coverage, matched

__all__ = ["section_answer", "enumeration_answer", "ordinal_section_answer", "announced_points"]

# A sentence announcing the points that follow it: 要把握好五个方面。/ 必须把握好以下原则：
_ANNOUNCES = re.compile(r"(?:以下|下列|如下|[一二三四五六七八九十两\d]+\s*(?:个)?(?:方面|条|项|点|件|类|种))[^。:：\n]{0,12}[。:：]")
# A point of the list that follows: 一是…, (一)…, 1.… at a paragraph or sentence start.
_POINT = re.compile(r"(?:^|(?<=[。;；:：\n]))[ \t\u3000]*(?:([一二三四五六七八九十]+)是|[(（]([一二三四五六七八九十]+)[)）]|(\d{1,2})[.、．](?!\d))")
_HEADING_LINE = re.compile(r"\n[ \t\u3000]*(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+[章节部分])")
MAX_POINTS = 10
_ORDINAL_POINT = re.compile(r"第([一二三四五六七八九十]+|\d{1,2})(?:个)?(?:方面|点|项|条|是)")
_POINTS_WITHIN = 20000  # characters after the announcing sentence the points may run over (a top-level heading ends them first)

# "第二部分的标题是什么？", "第三章讲什么？": a part of the report named by its number.
_ORDINAL_ASK = re.compile(
    r"第\s*([一二三四五六七八九十]+|\d{1,2})\s*(部分|章|篇)的?\s*"
    r"(?:的?(?:标题|题目|名称|主题)(?:是什么|是啥)?|(?:讲|说|写)(?:的是)?(?:什么|啥)|是什么|主要内容是什么)\s*[?？]?\s*$"
)
_ORDINAL_HEADING = re.compile(r"^\s*(?:第\s*([一二三四五六七八九十]+|\d{1,2})\s*(?:部分|章|篇)|([一二三四五六七八九十]+)\s*[、.．])")

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


def ordinal_section_answer(
    question: str, hits: Sequence[Hit], documents: Mapping[str, Document], doc_ids: frozenset[str] | None
) -> Answer | None:
    """"第二部分的标题是什么？": the report's top-level heading with that number, cited. The
    report is the one the question names (a single report in scope), else the best-retrieved."""
    asked = _ORDINAL_ASK.search(question)
    if asked is None or not hits:
        return None
    number = _number(asked.group(1))
    doc_id = next(iter(doc_ids)) if doc_ids is not None and len(doc_ids) == 1 else hits[0].chunk.doc_id
    doc = documents.get(doc_id)
    if doc is None or number is None:
        return None
    for section in split_sections(doc.text):
        if section.heading is None or len(section.path) != 1:
            continue
        m = _ORDINAL_HEADING.match(section.heading.title)
        if m and _number(m.group(1) or m.group(2)) == number:
            start, end = trim_quote(doc.text, section.heading.start, section.heading.end)
            cited = citation(1, doc, hit_lookup(hits, doc)(start), start, end)
            text = f"《{doc.title}》第{asked.group(1)}{asked.group(2)}的标题是“{cited.quote}”[1]。"
            return Answer(question=question, text=text, citations=(cited,), hits=tuple(hits), mode="extractive")
    return None


def _number(numeral: str) -> int | None:
    return int(numeral) if numeral.isdigit() else chinese_value(numeral)


def announced_points(
    question: str, best: Evidence, hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer | None:
    """When the best sentence announces the points that follow it ("要着力把握好五个方面。"
    then 一是… 二是… in the next paragraphs), answer with each point's lead sentence, cited."""
    doc = documents[best.doc_id]
    text = doc.text
    sentence_start = max(text.rfind("\n", 0, best.start), text.rfind("。", 0, best.start)) + 1
    announcements = list(_ANNOUNCES.finditer(text, sentence_start, min(len(text), best.end + 1)))
    if not announcements:
        return None
    points = _following_points(text, announcements[-1].end())
    if len(points) < 2:
        return None
    intro_start, intro_end = trim_quote(text, sentence_start, announcements[-1].end())
    announced = text[intro_start:intro_end].rstrip("。:：")
    first_inline = "\n" not in text[intro_end : points[0][0]]  # 以下原则:一是扩内需、保增长 on one line
    if (which := _ORDINAL_POINT.search(question)) is not None:  # 第一方面讲什么: that point alone
        number = _number(which.group(1))
        if number is None or number > len(points):
            return None
        first_inline = first_inline and number == 1
        points = [points[number - 1]]
    hit_for = hit_lookup(hits, doc)
    cited: list[Citation] = []
    lines = []
    for i, (start, end) in enumerate(points):
        lead = text[slice(*trim_quote(text, *strip_span(text, start, end)))].rstrip("。;；")
        quote_start, quote_end = (intro_start, end) if i == 0 and first_inline else (start, _with_elaboration(text, start, end))
        if i == 0 and not first_inline:
            cited.append(citation(1, doc, hit_for(intro_start), intro_start, intro_end))
        cited.append(citation(len(cited) + 1, doc, hit_for(quote_start), *strip_span(text, quote_start, quote_end)))
        lines.append(f"·{lead}[{len(cited)}]")
    intro_marker = "" if first_inline else "[1]"
    body = f"《{doc.title}》：{announced}{intro_marker}：\n" + "\n".join(lines)
    return Answer(question=question, text=body, citations=tuple(cited), hits=tuple(hits), mode="extractive")


_SHORT_LEAD = 20  # a point's lead this short (一是坚定发展信心。) is quoted with the start of what follows
_ELABORATION = 30


def _with_elaboration(text: str, start: int, end: int) -> int:
    """The end of a point's quote: its lead sentence, and when that is a short heading-like phrase,
    the first clause of the sentence after it (the reader's context), within the paragraph."""
    if end - start >= _SHORT_LEAD:
        return end
    line_end = text.find("\n", end)
    limit = min(len(text) if line_end < 0 else line_end, end + _ELABORATION)
    stop = re.compile(r"[,，;；。]").search(text, end, limit)
    return stop.start() if stop else limit


def _following_points(text: str, after: int) -> list[tuple[int, int]]:
    """The numbered points right after `after`, in one numbering style counted up from one, each
    as its lead sentence; they end where the numbering breaks or a new top-level section starts."""
    limit = min(len(text), after + _POINTS_WITHIN)
    heading = _HEADING_LINE.search(text, after, limit)
    limit = heading.start() if heading else limit
    points: list[tuple[int, int]] = []
    style = None
    for m in _POINT.finditer(text, after, limit):
        kind = next(i for i in (1, 2, 3) if m.group(i))
        if style is not None and kind != style:
            continue  # a point of another style inside one of the list's (一是… inside (一)…)
        number = _number(m.group(kind))
        if number != len(points) + 1:
            if not points:
                return []  # the text after does not start a list
            break
        if not points and text[after:m.start()].strip(" \t\u3000\n:：。"):
            return []  # words between the announcement and the first point: no list follows it
        style = kind
        end = min(e for e in (text.find("。", m.end()), text.find("\n", m.end()), limit) if e >= 0)
        points.append((m.start(), min(end + 1, limit)))
        if len(points) >= MAX_POINTS:
            break
    return points
