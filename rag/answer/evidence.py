"""Which sentences answer a question: candidate spans of the retrieved passages, scored.

Pure (the model is used only through `semantic_scores`, for questions in another
language than the reports). A span's score combines how much of the question's
content it holds (with its headings and report title as context), whether it
has the form of the asked answer (a count, a date, a name, a list), and the
retrieval rank of its passage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..retrieve.query import QueryInfo, QuestionKind, analyze_query
from ..retrieve.scope import Scope
from ..text.markers import INLINE_ORDINAL
from ..text.sentences import CLAUSE, sentence_spans
from ..types import Document, Hit
from .arithmetic import asked_operation, asks_change, operand_count, stated_change
from .form import ANSWER_FORM, NUMBER_WITH_UNIT, AnswerForm, asked_form, fact_of, form_score, rates_only
from .quotes import trim_quote
from .terms import coverage, matched, missing_terms, question_terms
from .timeframe import timeframe

if TYPE_CHECKING:
    from ..model.protocol import Embedder

__all__ = ["Evidence", "select_evidence", "candidate_units", "semantic_scores", "OTHER_REPORT_SCORE"]

# Words before an indicator that make it another quantity: 人均地区生产总值 is not 地区生产总值.
_QUANTITY_MODIFIERS = ("人均", "户均", "亩均", "年均", "平均", "累计", "新增", "净增", "单位")
MODIFIED_INDICATOR = 0.7  # the share of its score a span keeps when it speaks of a modified indicator
LEVEL_AS_RATE = 0.85  # … and when an amount is asked and it gives only rates (增长5.7%)
_HEADER_FIELD = re.compile(r"\s*(?:索引号|主题分类|发文机关|成文日期|标题|发文字号|发布日期|发布时间|来源|信息来源)\s*[:：]")
# A sentence this short is quoted whole; a longer one is cut to its answering clauses.
WHOLE_SENTENCE = 60
# A clause that only breaks down or qualifies its neighbour's fact.
_DEPENDENT = re.compile(r"^\s*(?:其中|比|较|同比|占|均|分别|增长|下降|提高|居|位居|保持|继续)")
CHANGE_STATED = 1.2  # a change asked (增加了多少元) and stated by its two ends (由2476元增加到4140元)
WITHOUT_FORM = 0.8  # … and such a span keeps this share of its score
SEMANTIC_HITS = 6  # passages whose sentences a question in another language is compared with
SEMANTIC_UNITS = 8  # … and how many of their sentences (those holding most of its translated words)
MAX_FACTS = 3
SECOND_FACT = 0.8  # share of the best span's score a second fact of the same report must reach
ADDEND_SCORE = 0.5  # … a further figure of a total asked (it holds the key words: they need not be worded alike)
MAX_OTHER_REPORTS = 2
OTHER_REPORT_SCORE = 0.9  # share of the best span's score another report's answer must reach
AMBIGUOUS_REPORT_SCORE = 0.7  # … when the question names no report and that one gives another figure


@dataclass(frozen=True, slots=True)
class Evidence:
    """A quotable span of a document and how well it answers."""

    doc_id: str
    start: int
    end: int
    score: float
    form: float  # how well the span has the asked answer's form (a count, a date…)
    terms: frozenset[str]  # question terms the sentence or its context (headings, title) holds
    hit: Hit


def select_evidence(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    info: QueryInfo | None = None,
    terms: dict[str, float] | None = None,
    semantic: Mapping[tuple[str, int], float] | None = None,
    scope: Scope | None = None,
    required: Sequence[str] = (),
) -> list[Evidence]:
    """The best answering spans, best first (several when the question spans facts).

    `semantic` (unit → 0..1 similarity) replaces word overlap for cross-lingual questions;
    `scope` (what the question names) prefers spans about the asked years and stance;
    `required` (`terms.key_terms`) are words a span's sentence, headings or report title must
    all hold: a sentence about a neighbouring indicator (登记 for 调查失业率) does not answer.
    """
    info = info or analyze_query(question)
    terms = terms if terms is not None else question_terms(question)
    units = candidate_units(hits, documents)
    terms = _local_idf(terms, [documents[d].text[s:e] for d, s, e, _ in units])
    asked = asked_form(question, info)
    change_asked = asks_change(question)
    candidates: list[Evidence] = []
    for doc_id, s, e, hit in units:
        doc = documents[doc_id]
        if required and _sentence_missing(required, doc, hit, s):
            continue
        context = _context_terms(terms, doc, hit)
        override = semantic.get((doc_id, s), 0.0) if semantic is not None else None
        scored = _best_span(doc.text, s, e, info, terms, asked, context, override)
        if scored is not None:
            prior = 0.12 / hit.rank
            fit = time_fit(scope, doc.text[s:e], hit, doc) if scope is not None else 1.0
            if _modified_indicator(doc.text[scored.start : scored.end], terms, question):
                fit *= MODIFIED_INDICATOR
            if asked.level and rates_only(doc.text[scored.start : scored.end]):
                fit *= LEVEL_AS_RATE
            if change_asked and stated_change(doc.text[scored.start : scored.end]):
                fit *= CHANGE_STATED
            if info.kind in (QuestionKind.NUMBER, QuestionKind.DATE) and scored.form < ANSWER_FORM:
                fit *= WITHOUT_FORM  # no count or date of the asked kind: it cannot answer as it stands
            candidates.append(
                Evidence(doc_id, scored.start, scored.end, (scored.score + prior) * fit, scored.form, scored.terms, hit)
            )
    candidates.sort(key=lambda ev: -ev.score)
    if not candidates:
        return []
    if semantic is not None:
        return candidates[:1]  # similarity alone is too blunt to pick a second fact
    # the quoted span, with what leads up to it, must hold the question's key words, not only the sentence
    # it is cut from (of 城镇新增就业120万人以上,…粮食产量保持稳定, the first clause does not answer 粮食产量目标)
    candidates = [ev for ev in candidates if not _span_missing(required, documents[ev.doc_id], ev)]
    if not candidates:
        return []
    open_question = scope is not None and scope.doc_ids is None  # it names no report, place or year
    addends = (operand_count(question) or 0) if asked_operation(question) == "sum" else 0  # 两项…一共: that many
    return _multi_fact(candidates, info, documents, addends) + _other_reports(candidates, documents, info.kind, open_question)


# Measured on the real development set: a span about another year than the one asked keeps 0.6 of
# its score (it still answers when nothing else does, and verification then judges it); a review
# sentence for a target question 0.75, a plan sentence for an actual figure 0.85.
OTHER_YEAR = 0.6
REVIEW_FOR_TARGET = 0.75
PLAN_FOR_ACTUAL = 0.85
ASKED_YEAR = 1.1


def time_fit(scope: Scope, sentence: str, hit: Hit, doc: Document) -> float:
    """How well a span's time and stance fit what the question asks (a factor on its score)."""
    frame = timeframe(sentence, hit.chunk.section, doc.meta)
    fit = 1.0
    asked = set(scope.years_about)
    if asked:
        if frame.years & asked:
            fit *= ASKED_YEAR
        elif frame.explicit:
            fit *= OTHER_YEAR
    if scope.intent == "target" and frame.stance == "review":
        fit *= REVIEW_FOR_TARGET
    elif scope.intent == "actual" and frame.stance == "plan":
        fit *= PLAN_FOR_ACTUAL
    return fit


def _span_missing(required: Sequence[str], doc: Document, ev: Evidence) -> list[str]:
    """The required words missing from the span with what leads up to it in its sentence (a clause's
    subject comes first: …外国人来华工作许可…检查,涉及外国人16人次), its headings and title."""
    sentence = _sentence_at(doc, ev.hit, ev.start)
    lead = sentence[0] if sentence else ev.start
    return missing_terms(required, doc.text[lead : ev.end], *ev.hit.chunk.section, doc.title)


def _sentence_missing(required: Sequence[str], doc: Document, hit: Hit, at: int) -> list[str]:
    """The required words missing from the sentence at `at`, its headings and its report's title."""
    sentence = _sentence_at(doc, hit, at)
    return missing_terms(required, doc.text[sentence[0] : sentence[1]] if sentence else "", *hit.chunk.section, doc.title)


def _sentence_at(doc: Document, hit: Hit, at: int) -> tuple[int, int] | None:
    return next(((a, b) for a, b in sentence_spans(doc.text, hit.chunk.start, hit.chunk.end) if a <= at < b), None)


def _context_terms(terms: Mapping[str, float], doc: Document, hit: Hit) -> dict[str, float]:
    """Terms the sentence's context already satisfies: its section headings (half) and
    the report's title and publisher (three quarters: they scope the whole report)."""
    out = {t: 0.5 * v for t, v in matched(terms, "".join(hit.chunk.section)).items()}
    for t, v in matched(terms, doc.title + (doc.meta.publisher or "")).items():
        out[t] = max(out.get(t, 0.0), 0.75 * v)
    return out


def semantic_scores(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    embedder: Embedder,
    terms: Mapping[str, float] | None = None,
    limit: int = SEMANTIC_UNITS,
) -> dict[tuple[str, int], float]:
    """Unit → similarity to the question in 0..1, from the multilingual embedding model. With
    `terms` (the question's words in the reports' language), the units holding most of them are
    the ones compared: embedding every sentence of six passages costs a second on two cores."""
    units = candidate_units(hits[:SEMANTIC_HITS], documents)
    if terms:
        units.sort(key=lambda u: -coverage(terms, matched(terms, documents[u[0]].text[u[1] : u[2]])))
    units = units[:limit]
    if not units:
        return {}
    vectors = embedder.embed_passages([documents[d].text[s:e] for d, s, e, _ in units])
    sims = vectors @ embedder.embed_query(question)
    return {(d, s): float(min(1.0, max(0.0, (sim - 0.75) / 0.2))) for (d, s, _, _), sim in zip(units, sims, strict=True)}


def candidate_units(hits: Sequence[Hit], documents: Mapping[str, Document]) -> list[tuple[str, int, int, Hit]]:
    units, seen = [], set()
    for hit in hits:
        text = documents[hit.chunk.doc_id].text
        for span in sentence_spans(text, hit.chunk.start, hit.chunk.end):
            for s, e in _answer_units(text, *span):
                if _HEADER_FIELD.match(text, s):
                    continue  # 标题: | … / 发文机关: | …: the page's metadata, which answers only questions about it
                if (hit.chunk.doc_id, s) not in seen:
                    seen.add((hit.chunk.doc_id, s))
                    units.append((hit.chunk.doc_id, s, e, hit))
    return units


def _local_idf(terms: Mapping[str, float], texts: Sequence[str]) -> dict[str, float]:
    """Reweight terms by how few candidate sentences contain them (like BM25's idf):
    the words that single out the answering sentence count most."""
    n = len(texts)
    if n < 2:
        return dict(terms)
    out = {}
    for term, weight in terms.items():
        df = sum(1 for t in texts if term.lower() in t.lower())
        out[term] = weight * (0.5 + math.log((n + 1) / (df + 1)) / math.log(n + 1))
    return out


@dataclass(frozen=True, slots=True)
class _Scored:
    start: int
    end: int
    score: float
    form: float
    terms: frozenset[str]


def _answer_units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences, further cut before inline 二是/三是… (reports often omit the 。 there)."""
    cuts = [start] + [m.start() for m in INLINE_ORDINAL.finditer(text, start + 1, end)] + [end]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if text[a:b].strip()]


def _best_span(
    text: str,
    start: int,
    end: int,
    info: QueryInfo,
    terms: Mapping[str, float],
    asked: AnswerForm,
    context_terms: Mapping[str, float],
    sentence_score: float | None = None,
) -> _Scored | None:
    """The answering part of one sentence and its score.

    A long sentence is cut to the clause that has the answer's form, widened
    to the left over clauses that add question terms (the context a reader
    needs) but not over another fact of the asked kind.
    """
    sentence = text[start:end]
    clauses = [(start + m.start(), start + m.end()) for m in CLAUSE.finditer(sentence)]
    if not clauses:
        return None
    held = {**context_terms, **matched(terms, sentence)}
    sentence_cov = coverage(terms, held)
    if sentence_score is not None:  # a question in another language: the model's similarity, and the
        sentence_cov = (sentence_score + sentence_cov) / 2 if terms else sentence_score  # glossary's words
    scored = []
    for cs, ce in clauses:
        clause_terms = matched(terms, text[cs:ce])
        form = form_score(asked, text[cs:ce])
        # an amount asked (经济总量是多少): of 增长5.8% and 总量达到60013亿元, the amount's clause answers
        fit = LEVEL_AS_RATE if asked.level and rates_only(text[cs:ce]) else 1.0
        scored.append(((0.5 * coverage(terms, clause_terms) + 0.5 * form) * fit, form, clause_terms))
    i = max(range(len(clauses)), key=lambda j: (scored[j][0], -j))
    clause_score, form, clause_terms = scored[i]
    score = 0.5 * sentence_cov + 0.2 * coverage(terms, clause_terms) + 0.3 * form
    if end - start <= WHOLE_SENTENCE or info.kind is QuestionKind.OTHER or (info.kind is QuestionKind.LIST and end - start <= 80):
        span_start, span_end = start, end
    else:
        first, have = i, set(clause_terms)
        if first > 0 and _DEPENDENT.match(text[clauses[first][0] : clauses[first][1]]):
            first -= 1  # 其中中央政府拟新增1.18万亿元 says nothing without the clause it breaks down
            have |= set(matched(terms, text[clauses[first][0] : clauses[first][1]]))
        while first > 0 and i - first < 3:
            left = text[clauses[first - 1][0] : clauses[first - 1][1]]
            new_terms = set(matched(terms, left)) - have
            if not new_terms or (info.kind is QuestionKind.NUMBER and NUMBER_WITH_UNIT.search(left)):
                break
            have |= new_terms
            first -= 1
        last = i
        while info.kind is QuestionKind.NUMBER and last + 1 < len(clauses) and last - first < 3:
            # 全省地区生产总值连跨4个千亿台阶, | 2024年达到1.3万亿元: the next clause carries the asked year or verb
            nxt = text[clauses[last + 1][0] : clauses[last + 1][1]]
            new_terms = set(matched(terms, nxt)) - have
            if not new_terms or not NUMBER_WITH_UNIT.search(nxt):
                break
            have |= new_terms
            last += 1
        if info.kind in (QuestionKind.NUMBER, QuestionKind.DATE) and last + 1 < len(clauses):
            # a qualifying tail (，在实际工作中努力争取更好结果 / ，其中大陆地区26次) belongs to the fact
            nxt = text[clauses[last + 1][0] : clauses[last + 1][1]]
            if (_DEPENDENT.match(nxt) or not NUMBER_WITH_UNIT.search(nxt)) and clauses[last + 1][1] - clauses[first][0] <= 90:
                last += 1
        while info.kind is QuestionKind.LIST and last + 1 < len(clauses) and clauses[last + 1][1] - clauses[first][0] <= 80:
            nxt = text[clauses[last + 1][0] : clauses[last + 1][1]]
            if not (NUMBER_WITH_UNIT.search(nxt) or "、" in nxt or "“" in nxt):
                break
            last += 1
        span_start, span_end = clauses[first][0], clauses[last][1]
    span_start, span_end = trim_quote(text, span_start, span_end)
    return _Scored(span_start, span_end, score, form, frozenset(held))


def _modified_indicator(span: str, terms: Mapping[str, float], question: str) -> bool:
    """Whether the span speaks of a question word only as another quantity (人均…, 累计…)
    that the question does not ask for."""
    for term in terms:
        if len(term) < 2:
            continue
        for m in re.finditer(re.escape(term), span):
            before = span[max(0, m.start() - 2) : m.start()]
            if before in _QUANTITY_MODIFIERS and before not in question:
                return True
            if before.endswith("占") and "占" not in question:
                return True  # 占地区生产总值比重: a share of it, not it
    return False


def _multi_fact(
    candidates: list[Evidence], info: QueryInfo, documents: Mapping[str, Document], addends: int = 0
) -> list[Evidence]:
    """The best span, plus close runners-up with a different fact of the asked kind; for a total
    asked (`addends` figures, 两项检查一共…), that many figures of the report holding the key words."""
    best = candidates[0]
    chosen = [best]
    if info.kind not in (QuestionKind.NUMBER, QuestionKind.DATE):
        return chosen
    facts = {fact_of(documents[best.doc_id].text[best.start : best.end], info.kind)}
    most, floor = (addends, ADDEND_SCORE) if addends else (MAX_FACTS, SECOND_FACT)
    for ev in candidates[1:]:
        if len(chosen) >= most or ev.score < floor * best.score:
            break
        if ev.doc_id != best.doc_id or ev.form < best.form or not (addends or best.terms <= ev.terms):
            continue  # another report, another kind of answer, or it lacks a word of the question the best has
        quote = documents[ev.doc_id].text[ev.start : ev.end]
        fact = fact_of(quote, info.kind)
        if not fact or fact in facts or any(_overlaps(ev, c) for c in chosen):
            continue
        facts.add(fact)
        chosen.append(ev)
    return chosen


def _other_reports(
    candidates: list[Evidence], documents: Mapping[str, Document], kind: QuestionKind, open_question: bool = False
) -> list[Evidence]:
    """The best span of up to two other reports that answer about as well: a question that
    names no report ("2024年检查了多少家企业？") may be answered by several, and the user
    should see that rather than one report's figure presented as the only one. When the
    question names no report, place or year at all, reports of the best one's genre that
    answer with another figure count even when they answer less well."""
    best = candidates[0]
    genre = documents[best.doc_id].meta.genre
    best_fact = fact_of(documents[best.doc_id].text[best.start : best.end], kind)
    floor = AMBIGUOUS_REPORT_SCORE if open_question else OTHER_REPORT_SCORE
    others: dict[str, Evidence] = {}
    for ev in candidates[1:]:
        if ev.score < floor * best.score or len(others) >= MAX_OTHER_REPORTS:
            break
        if ev.doc_id == best.doc_id or ev.doc_id in others or ev.form < best.form:
            continue
        if not open_question and not best.terms <= ev.terms:  # (an open question's others hold its key words)
            continue
        weaker = ev.score < OTHER_REPORT_SCORE * best.score
        if weaker and not _another_figure(ev, documents, genre, best_fact, kind):
            continue  # a weaker answer counts only as another figure of the same genre
        others[ev.doc_id] = ev
    return list(others.values())


def _another_figure(
    ev: Evidence, documents: Mapping[str, Document], genre: str | None, best_fact: str | None, kind: QuestionKind
) -> bool:
    doc = documents[ev.doc_id]
    return doc.meta.genre == genre and fact_of(doc.text[ev.start : ev.end], kind) != best_fact


def _overlaps(a: Evidence, b: Evidence) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end
