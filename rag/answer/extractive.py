"""Extractive answers: pick the document sentences that answer, cut to the clause, cite.

Pure: takes the question, the retrieved hits and the documents they come
from; returns an Answer whose text is made only of quoted document text plus
connective wording without digits, each quote followed by its [n] marker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..retrieve.query import QuestionKind, analyze_query
from ..retrieve.scope import Scope
from ..text.normalize import CJK_CHAR
from ..types import Answer, Calculation, Citation, Document, Hit
from .arithmetic import (
    CALCULATION_LEAD,
    asked_operation,
    asks_change,
    compute,
    operand_count,
    operands,
    stated_change,
)
from .evidence import Evidence, candidate_units, select_evidence, semantic_scores
from .figures import BOUND_WORDS_AFTER, quantities
from .form import ANSWER_FORM, DATE, asked_form
from .metadata import metadata_answer
from .outline import announced_points, enumeration_answer, ordinal_section_answer, section_answer
from .quotes import citation
from .terms import YEAR_TOKEN, key_terms, question_terms, translated_key_terms, translated_terms
from .verify import CROSS_LINGUAL_MIN_SIMILARITY, best_similarity

if TYPE_CHECKING:
    from ..model.protocol import Embedder

__all__ = ["compose_extractive", "not_found_answer", "NOT_FOUND", "CLOSEST_PASSAGES"]

NOT_FOUND = "报告中未找到相关信息。"
CLOSEST_PASSAGES = "以下是最接近的段落，仅供参考："  # how a not-found answer introduces the passages it shows
_YEAR_OR_DATE = re.compile(r"(?:19|20)\d{2}\s*年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{1,2}月\d{1,2}日|(?:19|20)\d{2}-\d{2}-\d{2}")
_BOUND_WORD = re.compile(f"(?:{'|'.join(BOUND_WORDS_AFTER)})?")
MAX_LEAD_FIGURES = 4  # figures an English lead-in names, as the quotes write them
MIN_CARRYING_WORDS = 3  # translated words one sentence must all hold to answer below the similarity floor


def compose_extractive(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    min_score: float = 0.34,
    embedder: Embedder | None = None,
    scope: Scope | None = None,
) -> Answer:
    """Answer from the hits' own sentences, or a not-found answer.

    `embedder` is used only for questions in another language than the
    reports (no Chinese characters), where shared words cannot pick the sentence;
    such an answer opens with an English line. `scope` is what the question names
    of its reports (`rag.retrieve.scope`).
    """
    answer = _compose(question, hits, documents, min_score, embedder, scope)
    if answer.mode == "extractive" and not CJK_CHAR.search(question):
        return _with_english_lead(answer, analyze_query(question).kind)
    return answer


def _compose(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    min_score: float,
    embedder: Embedder | None,
    scope: Scope | None,
) -> Answer:
    info = analyze_query(question)
    if not hits:
        return not_found_answer(question, hits)
    about_the_report = metadata_answer(question, hits, documents, scope)
    if about_the_report is not None:
        return about_the_report
    by_number = ordinal_section_answer(question, hits, documents, scope.doc_ids if scope is not None else None)
    if by_number is not None:
        return by_number
    terms = question_terms(question)
    if info.kind is QuestionKind.SECTION:
        listed = section_answer(question, info, terms, hits, documents)
        if listed is not None:
            return listed
    cross_lingual = not CJK_CHAR.search(question)
    if cross_lingual:
        terms = translated_terms(question, hits, documents)
        if best_similarity(hits) < CROSS_LINGUAL_MIN_SIMILARITY and not _words_carry(terms, hits, documents):
            return not_found_answer(question, hits)  # few shared words to check: the model's similarity must do
    semantic = semantic_scores(question, hits, documents, embedder, terms) if cross_lingual and embedder else None
    required = translated_key_terms(question, hits) if cross_lingual else key_terms(question)
    if required is None:
        return not_found_answer(question, hits)  # what an English question asks about is in no passage
    evidence = select_evidence(
        question, hits, documents, info=info, terms=terms, semantic=semantic, scope=scope, required=required
    )
    if not evidence or evidence[0].score < min_score:
        return not_found_answer(question, hits)
    if info.kind in (QuestionKind.NUMBER, QuestionKind.DATE) and evidence[0].form < ANSWER_FORM:
        return not_found_answer(question, hits)  # the best passage has no count/date to give
    if info.kind in (QuestionKind.LIST, QuestionKind.SECTION, QuestionKind.OTHER):
        listed = announced_points(question, evidence[0], hits, documents)
        if listed is not None:
            return listed
    if info.kind is QuestionKind.SECTION:
        listed = enumeration_answer(question, evidence[0], hits, documents)
        if listed is not None:
            return listed
    if asks_change(question):
        computed = _computed_change(question, evidence[0], hits, documents)
        if computed is not None:
            return computed
    open_question = scope is not None and scope.doc_ids is None and len(documents) > 1
    answer = _answer_from_evidence(question, evidence, hits, documents, open_question)
    if asked_operation(question) == "sum" and (count := operand_count(question)):
        answer = with_total(answer, asked_form(question, info).unit, count)
    return answer


def _words_carry(terms: Mapping[str, float], hits: Sequence[Hit], documents: Mapping[str, Document]) -> bool:
    """Whether one sentence holds every one of at least three translated words of the question
    (enterprise, inspection, work permit → 企业, 检查, 工作许可): evidence enough without the
    model's similarity."""
    words = [t for t in terms if not YEAR_TOKEN.fullmatch(t)]
    if len(words) < MIN_CARRYING_WORDS:
        return False
    return any(all(w in documents[d].text[s:e] for w in words) for d, s, e, _ in candidate_units(hits, documents))


def _lead_figures(quote: str, kind: QuestionKind) -> list[str]:
    """The dates, or the figures with their bounds, a quote states, as it writes them; none when it
    also states numbers that are no single figure (10至20万人, 30余件, 〔2024〕38号): naming only
    some would mislead."""
    if kind is QuestionKind.DATE:
        return [m.group(0) for m in DATE.finditer(quote)]
    figures = quantities(quote)
    rest = quote
    for q in reversed(figures):
        rest = rest[: q.at] + rest[q.at + len(q.written) :]
    if re.search(r"\d", _YEAR_OR_DATE.sub("", rest)):
        return []
    return [q.written + _BOUND_WORD.match(quote, q.at + len(q.written)).group(0) for q in figures]  # type: ignore[union-attr]


def _with_english_lead(answer: Answer, kind: QuestionKind) -> Answer:
    """A question in English: one English line before the Chinese quotes, naming the figures
    they state as the report writes them (so it holds no number the quotes do not)."""
    figures = [(fact, c.marker) for c in answer.citations[:3] for fact in _lead_figures(c.quote, kind)]
    stated = [f"{fact} [{marker}]" for fact, marker in dict.fromkeys(figures)][:MAX_LEAD_FIGURES]
    if stated:
        lead = f"The report states {', '.join(stated)}; in its own words (Chinese):"
    else:
        lead = "The report's answer, in its own words (Chinese):"
    return replace(answer, text=f"{lead}\n{answer.text}")


def with_total(answer: Answer, asked_unit: str | None, count: int) -> Answer:
    """The answer with the sum of its `count` cited figures worked out ("两项检查一共…" →
    "11 + 54 = 65家[1][2]"), when it cites that many, of one report, one figure of the asked unit
    each; else the answer as it is (the question names no parts: which figures add up is unsure)."""
    cited = answer.citations
    if len(cited) != count or len({c.doc_id for c in cited}) != 1:
        return answer  # another number of figures, or figures of several reports: no sum across scopes
    figures = operands(asked_unit, [c.quote for c in cited])
    computed = compute("sum", figures) if figures else None
    if computed is None:
        return answer
    markers = tuple(c.marker for c in cited)
    said = f"{CALCULATION_LEAD}{computed.text()}{''.join(f'[{m}]' for m in markers)}。"
    calculation = Calculation("sum", computed.text(), computed.result, markers)
    return replace(answer, text=f"{answer.text}{said}", calculation=calculation)


def _computed_change(
    question: str, ev: Evidence, hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer | None:
    """A change stated by its two ends, quoted, with the difference worked out beside it."""
    change = stated_change(documents[ev.doc_id].text[ev.start : ev.end])
    if change is None:
        return None
    cited = citation(1, documents[ev.doc_id], ev.hit, ev.start, ev.end)
    worked = change.sum_text()
    text = f"{cited.quote.rstrip('。')}[1]。{CALCULATION_LEAD}{worked}。"
    calculation = Calculation("change", worked, worked.rsplit("= ", 1)[-1], (1,))
    return Answer(question, text, (cited,), tuple(hits), "extractive", calculation=calculation)


def not_found_answer(
    question: str, hits: Sequence[Hit], notice: str | None = None, scope: Scope | None = None
) -> Answer:
    """'Not found', with the closest passages offered as such (never as evidence). When the
    question names reports the index does not hold, it says which, and names the nearest ones."""
    text = NOT_FOUND
    if scope is not None and scope.unmatched:
        text = f"报告中未找到{scope.named}。"
        if scope.nearest:
            where = "、".join(scope.places) or ("国务院" if scope.national else "")
            text += f"已索引的{where}报告：" + "、".join(f"《{c.title}》" for c in scope.nearest) + "。"
        else:
            text += "索引中没有与之相近的报告。"
    if hits:
        text += CLOSEST_PASSAGES
    return Answer(question=question, text=text, citations=(), hits=tuple(hits), mode="not_found", notice=notice)


def _answer_from_evidence(
    question: str,
    evidence: Sequence[Evidence],
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    open_question: bool = False,
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
    if others and open_question:
        return _per_report(question, citations, hits, documents)
    if others:
        text = f"据《{main[0].title}》：{text}\n其他报告也有相关记录："
        text += "；".join(f"《{c.title}》{c.quote.rstrip('。')}[{c.marker}]" for c in others) + "。"
    return Answer(question=question, text=text, citations=tuple(citations), hits=tuple(hits), mode="extractive")


def _per_report(
    question: str, citations: Sequence[Citation], hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer:
    """A question naming no report, answered by several: each report's answer, newest first,
    labelled, so no one report's figure passes for the answer."""
    def newest_first(doc_id: str) -> tuple[int, str]:
        meta = documents[doc_id].meta
        return -(meta.year or meta.issued or 0), documents[doc_id].title

    by_report: dict[str, list[Citation]] = {}
    for c in citations:
        by_report.setdefault(c.doc_id, []).append(c)
    order = sorted(by_report, key=newest_first)
    renumbered = [replace(c, marker=i) for i, c in enumerate((c for d in order for c in by_report[d]), start=1)]
    said = []
    for doc_id in order:
        quotes = [c for c in renumbered if c.doc_id == doc_id]
        said.append(f"《{quotes[0].title}》" + "；".join(f"{c.quote.rstrip('。')}[{c.marker}]" for c in quotes))
    text = "问题没有指明是哪份报告，各报告的记录（从新到旧）：\n" + "\n".join(said) + "\n如需某一份，请写明地区、年份或报告名称。"
    return Answer(question=question, text=text, citations=tuple(renumbered), hits=tuple(hits), mode="extractive")
