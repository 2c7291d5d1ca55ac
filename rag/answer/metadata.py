"""Questions about a report itself: who delivered it, when, at which meeting, its 文号, when it
takes effect, who issued it, when it was published.

Pure. The answer is read from the report's identity (`DocumentMeta`) and quotes
the header line each fact stands on, with its real offsets: "2022年3月5日在第十三届
全国人民代表大会第五次会议上[1]" is the report's own delivery line, not a restatement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..ingest.identity import GENRES
from ..ingest.sections import split_sections
from ..retrieve.scope import Scope
from ..types import Answer, Citation, Document, FactSpan, Hit

__all__ = ["asked_facts", "metadata_answer"]

# What a question asks of the report itself, by the identity field that answers it.
_ASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("speaker", re.compile(r"谁作|由谁|哪位[^,，。?？]{0,6}作|作报告的是|谁[^,，。?？]{0,3}作的|who (?:delivered|gave|presented)", re.I)),
    ("speaker_role", re.compile(r"职务|什么职位|担任什么|what (?:post|position|title)", re.I)),
    ("meeting", re.compile(r"哪次会议|什么会议|哪个会议|哪一次会议|which (?:session|meeting)", re.I)),
    ("delivered", re.compile(r"(?:哪天|哪一天|何时|什么时候|日期|when)[^,，。?？]{0,8}(?:作|召开|会议|发表)|成文日期|印发日期|签发日期|发文日期|when was it (?:delivered|signed)", re.I)),
    ("doc_number", re.compile(r"发文字号|文号|document number", re.I)),
    ("effective", re.compile(r"施行|生效|起实施|起执行|开始(?:执行|实施)|(?:执行|实施)(?:时间|日期)|take effect|in force", re.I)),
    ("issuer", re.compile(r"发文机关|哪个(?:部门|机关|单位)(?:发布|印发|发文)|由谁(?:发布|印发)|谁(?:发布|印发)的|issued by", re.I)),
    ("published", re.compile(r"发布时间|发布日期|什么时候发布|何时发布|哪天发布|when (?:was|is) (?:it|this|the)\b[^?]{0,30}published", re.I)),
    ("publisher", re.compile(r"来源是|来源于|出处", re.I)),
)
# Header words: they ask about the document whatever else the question says.
_HEADER_FACTS = frozenset({"doc_number", "issuer"})
# A question's subject is the report itself when it ends with a document noun or is left out
# ("这份报告是什么时候发布的", "什么时候发布的"), not "“苏科创十八条”是什么时候发布的" (a thing it reports on).
_DOCUMENT_NOUN = re.compile(
    "(?:" + "|".join(sorted({w for w, _ in GENRES}, key=len, reverse=True))
    + r"|文件|本文|该文|此文|全文|这份|该份|它|\bit|\b(?:this|the) (?:report|document))[》”\"]?$", re.I
)
# What may stand between the subject and the asked fact: 是, 的, 分别从哪天起, 大概在哪一天…
_SUBJECT_TAIL = re.compile(
    r"(?:是|的|于|在|将|会|最早|具体|大概|到底|究竟|分别|各自|各|从|自|起|哪天|哪一天|何时|什么时候|\s|[,，:：])+$"
)
# Facts a page's metadata may give without a line in the text.
_PAGE_FACTS = frozenset({"published", "publisher"})
MAX_REPORTS = 3  # reports one answer gives the facts of
_LABELS = {
    "speaker": "作报告者", "speaker_role": "职务", "meeting": "会议", "delivered": "日期", "doc_number": "文号",
    "effective": "施行日期", "issuer": "发文机关", "published": "发布时间", "publisher": "来源",
}  # fmt: skip


def asked_facts(question: str) -> tuple[str, ...]:
    """The identity fields a question asks for, in the order above (empty: it asks about content).

    >>> asked_facts("2022年的政府工作报告是哪天、在哪次会议上作的？")
    ('meeting', 'delivered')
    >>> asked_facts("2024年检查了多少家企业？"), asked_facts("“苏科创十八条”是什么时候发布的？")
    ((), ())
    """
    found = {name: m for name, pattern in _ASKS if (m := pattern.search(question))}
    if not found:
        return ()
    subject = question[: min(m.start() for m in found.values())]  # the words before the first asked fact
    about_the_document = _about_the_document(subject)
    return tuple(name for name in found if about_the_document or name in _HEADER_FACTS)


def _about_the_document(subject: str) -> bool:
    """Whether the words before the asked fact name the document (or nothing).

    >>> _about_the_document("这份报告是"), _about_the_document(""), _about_the_document("“苏科创十八条”是")
    (True, True, False)
    """
    subject = _SUBJECT_TAIL.sub("", subject)
    return not subject or bool(_DOCUMENT_NOUN.search(subject))


def metadata_answer(
    question: str, hits: Sequence[Hit], documents: Mapping[str, Document], scope: Scope | None = None
) -> Answer | None:
    """The asked facts of each report in question, each quoting its header line; None when the
    question asks about content, or no report in question records the facts."""
    asked = asked_facts(question)
    if not asked:
        return None
    reports, left_open = _reports_in_question(hits, documents, scope, asked)
    citations: list[Citation] = []
    parts: list[str] = []
    for doc in reports:
        facts = _stated_facts(doc, asked)
        if not facts:
            continue
        markers: dict[tuple[int, int] | None, int] = {}  # one citation per header line
        said = []
        for name, wording, line in facts:
            if line not in markers:
                markers[line] = len(citations) + 1
                cite = _citation if line is not None else _page_citation
                citations.append(cite(markers[line], doc, hits, *(line or (name, wording))))
            said.append(f"{_LABELS[name]}：{wording}[{markers[line]}]")
        parts.append(f"《{doc.title}》" + "，".join(said))
    if not citations:
        return None
    text = "；".join(parts) + "。"
    if left_open:
        text = f"问题没有指明是哪份报告（已索引{len(documents)}份）；最近的几份：{text}请在问题中写明报告名称，或在页面上选定报告。"
    return Answer(question=question, text=text, citations=tuple(citations), hits=tuple(hits), mode="extractive")


def _reports_in_question(
    hits: Sequence[Hit], documents: Mapping[str, Document], scope: Scope | None, asked: Sequence[str]
) -> tuple[list[Document], bool]:
    """(the reports to answer for, whether the question left the report open). The reports the
    question names (all of them, for a comparison); in a one-report index, that report; else, when
    it names none ("这份报告是什么时候发布的？" with a hundred reports indexed), the most recent
    reports that state the fact, newest first, so the user sees it is open and can choose."""
    if scope is not None and scope.doc_ids:
        named = [documents[d] for d in sorted(scope.doc_ids) if d in documents]
        if len(named) <= MAX_REPORTS:
            return sorted(named, key=lambda d: (-(d.meta.year or 0), d.title)), False
    if len(documents) == 1 or (scope is not None and scope.doc_ids):
        return ([documents[hits[0].chunk.doc_id]] if hits else []), False
    stating = [d for d in documents.values() if _stated_facts(d, asked)]
    stating.sort(key=lambda d: (d.meta.published or d.meta.delivered or str(d.meta.issued or ""), d.title), reverse=True)
    return stating[:MAX_REPORTS], True


def _stated_facts(doc: Document, asked: Sequence[str]) -> list[tuple[str, str, tuple[int, int] | None]]:
    """(fact, its wording, the header line it stands on) for each asked fact the report states:
    the report's own words (二〇二六年一月二十七日), not a normalised value. A fact read from the
    page's metadata (an HTML <meta> date, DOCX properties) has no line: None."""
    facts: list[tuple[str, str, tuple[int, int] | None]] = []
    for name in asked:
        span = doc.meta.span_of(name)
        if span is not None and (wording := doc.text[span.start : span.end].strip()):
            facts.append((name, wording, _line_around(doc.text, span)))
        elif name in _PAGE_FACTS and (value := getattr(doc.meta, name)):
            facts.append((name, str(value), None))
    return facts


def _line_around(text: str, span: FactSpan) -> tuple[int, int]:
    """The line holding a fact, without its edge spaces (a delivery line starts with ——)."""
    start = text.rfind("\n", 0, span.start) + 1
    end = text.find("\n", span.end)
    end = len(text) if end < 0 else end
    while start < end and text[start] in " \t—-|":
        start += 1
    while end > start and text[end - 1] in " \t|":
        end -= 1
    return start, end


def _page_citation(marker: int, doc: Document, hits: Sequence[Hit], name: str, wording: str) -> Citation:
    """A citation of the page's own metadata (no offsets in the text to highlight)."""
    quote = f"{_LABELS[name]}：{wording}"
    return Citation(marker, "", doc.doc_id, doc.title, doc.source, ("报告信息",), 0, 0, quote)


def _citation(marker: int, doc: Document, hits: Sequence[Hit], start: int, end: int) -> Citation:
    """A citation of a header line: the retrieved chunk that holds it, else the section it is in."""
    hit = next((h for h in hits if h.chunk.doc_id == doc.doc_id and h.chunk.start <= start < h.chunk.end), None)
    if hit is not None:
        chunk_id, section = hit.chunk.chunk_id, hit.chunk.section
    else:
        found = next((s for s in split_sections(doc.text) if s.start <= start < s.end), None)
        chunk_id, section = "", found.path if found else ()
    return Citation(marker, chunk_id, doc.doc_id, doc.title, doc.source, section, start, end, doc.text[start:end])

