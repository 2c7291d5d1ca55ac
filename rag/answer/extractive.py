"""Extractive answers: pick the document sentences that answer, cut to the clause, cite.

Pure: takes the question, the retrieved hits and the documents they come
from; returns an Answer whose text is made only of quoted document text plus
connective wording without digits, each quote followed by its [n] marker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..retrieve.query import QuestionKind, analyze_query
from ..text.normalize import CJK_CHAR
from ..types import Answer, Citation, Document, Hit
from .evidence import Evidence, select_evidence, semantic_scores
from .outline import enumeration_answer, section_answer
from .quotes import citation
from .terms import question_terms
from .verify import CROSS_LINGUAL_MIN_SIMILARITY, best_similarity, missing_share

if TYPE_CHECKING:
    from ..model.protocol import Embedder

__all__ = ["compose_extractive", "not_found_answer", "NOT_FOUND"]

NOT_FOUND = "报告中未找到相关信息。"
METADATA_ASK = re.compile(
    r"(报告|文件|本文|总结|规划|方案|这份|该文|公报|计划).{0,6}(什么时候|何时|哪天|哪一天|日期|时间).{0,4}(发布|印发|公布|出台)"
    r"|发布(时间|日期)|(谁|哪个部门|哪个单位)(发布|印发)|来源是"
)


def compose_extractive(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    min_score: float = 0.34,
    max_missing: float = 0.4,
    embedder: Embedder | None = None,
) -> Answer:
    """Answer from the hits' own sentences, or a not-found answer.

    `embedder` is used only for questions in another language than the
    reports (no Chinese characters), where shared words cannot pick the sentence.
    """
    info = analyze_query(question)
    if not hits:
        return not_found_answer(question, hits)
    if METADATA_ASK.search(question):
        meta_answer = _metadata_answer(question, hits, documents)
        if meta_answer is not None:
            return meta_answer
    terms = question_terms(question)
    if info.kind is QuestionKind.SECTION:
        listed = section_answer(question, info, terms, hits, documents)
        if listed is not None:
            return listed
    cross_lingual = not CJK_CHAR.search(question)
    if not cross_lingual and missing_share(question, hits, documents) >= max_missing:
        return not_found_answer(question, hits)
    if cross_lingual and best_similarity(hits) < CROSS_LINGUAL_MIN_SIMILARITY:
        return not_found_answer(question, hits)  # no shared words to check: the model's similarity must do
    semantic = semantic_scores(question, hits, documents, embedder) if cross_lingual and embedder else None
    evidence = select_evidence(question, hits, documents, info=info, terms=terms, semantic=semantic)
    if not evidence or evidence[0].score < min_score:
        return not_found_answer(question, hits)
    if info.kind in (QuestionKind.NUMBER, QuestionKind.DATE) and evidence[0].form < 0.7:
        return not_found_answer(question, hits)  # the best passage has no count/date to give
    if info.kind is QuestionKind.SECTION:
        listed = enumeration_answer(question, evidence[0], hits, documents)
        if listed is not None:
            return listed
    return _answer_from_evidence(question, evidence, hits, documents)


def not_found_answer(question: str, hits: Sequence[Hit], notice: str | None = None) -> Answer:
    """'Not found', with the closest passages offered as such (never as evidence)."""
    text = NOT_FOUND
    if hits:
        text += "以下是最接近的段落，仅供参考："
    return Answer(question=question, text=text, citations=(), hits=tuple(hits), mode="not_found", notice=notice)


def _answer_from_evidence(
    question: str, evidence: Sequence[Evidence], hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer:
    citations = [
        citation(i, documents[ev.doc_id], ev.hit, ev.start, ev.end) for i, ev in enumerate(evidence, start=1)
    ]
    main = [c for c in citations if c.doc_id == citations[0].doc_id]
    parts = [f"{c.quote.rstrip('。')}[{c.marker}]" for c in main]
    text = "；".join(parts) + "。"
    if len(parts) > 1:
        text = "报告中有以下相关记录：" + text
    others = [c for c in citations if c.doc_id != citations[0].doc_id]
    if others:
        text = f"据《{main[0].title}》：{text}\n其他报告也有相关记录："
        text += "；".join(f"《{c.title}》{c.quote.rstrip('。')}[{c.marker}]" for c in others) + "。"
    return Answer(question=question, text=text, citations=tuple(citations), hits=tuple(hits), mode="extractive")


def _metadata_answer(question: str, hits: Sequence[Hit], documents: Mapping[str, Document]) -> Answer | None:
    """'When was this report published / who published it' from the report's own header."""
    doc = documents[hits[0].chunk.doc_id]
    facts = []
    if doc.meta.published:
        facts.append(f"发布时间:{doc.meta.published}")
    if doc.meta.publisher:
        facts.append(f"来源:{doc.meta.publisher}")
    if not facts:
        return None
    quote = " ".join(facts)
    citation = Citation(
        marker=1, chunk_id="", doc_id=doc.doc_id, title=doc.title, source=doc.source,
        section=("报告信息",), start=0, end=0, quote=quote,
    )
    text = f"《{doc.title}》{quote}[1]。"
    return Answer(question=question, text=text, citations=(citation,), hits=tuple(hits), mode="extractive")
