"""Extractive answers: pick the document sentences that answer, cut to the clause, cite.

Pure: takes the question, the retrieved hits and the documents they come
from; returns an Answer whose text is made only of quoted document text plus
connective wording without digits, each quote followed by its [n] marker.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .chunk import sentence_spans
from .keyword import word_tokenize
from .query import QueryInfo, QuestionKind, analyze_query
from .sections import MARKDOWN_MARKER, Section, split_sections
from .synonyms import synonyms_of
from .types import Answer, Chunk, Citation, Document, Hit

if TYPE_CHECKING:
    from .embed import Embedder

__all__ = ["compose_extractive", "not_found_answer", "missing_share", "NOT_FOUND", "Evidence", "select_evidence"]

NOT_FOUND = "报告中未找到相关信息。"

# Words that say what kind of answer is wanted but never appear in the answer.
_QUESTION_WORDS = frozenset(
    ["多少", "几", "几次", "几件", "几项", "几家", "几期", "几个", "哪些", "什么", "什么时候", "何时", "哪天", "哪个", "哪位", "谁", "是", "了", "的", "有", "共", "吗", "呢", "么", "如何", "怎么", "怎样", "是否", "请问", "这份", "该", "本", "报告", "共有", "一共", "总共", "现有", "情况", "多少次", "多少家", "多少件", "多少个", "哪年", "年", "月", "日", "还", "都", "the", "a", "an", "of", "how", "many", "much", "what", "when", "who", "which", "is", "are", "was", "were", "did", "do", "does", "in", "on", "for", "to"]
)
_NUMBER = r"(?<!第)(?:\d+(?:\.\d+)?|[一二三四五六七八九十百千万两]+)"
_COUNTERS = "家件次项期人名所条个批场篇份户"  # measure words of a count
_UNIT_AFTER_ASK = re.compile(rf"(?:多少|几)(?:个)?([{_COUNTERS}元亿万%])")
_NUMBER_WITH_UNIT = re.compile(_NUMBER + rf"\s*(?:多|余|余个)?\s*([{_COUNTERS}元亿万%]|人次|万元|亿元)")
_ANY_NUMBER = re.compile(rf"\d+(?:\.\d+)?%?(?!\d|年)|[一二三四五六七八九十百千万两]+(?=[{_COUNTERS}])")
_SHARE_ASK = re.compile(r"比例|百分|占比|比重|[^效]率|percent|rate\b", re.I)
_DATE = re.compile(r"\d{1,2}月(?:\d{1,2}日|底|初|上旬|中旬|下旬)?|\d{4}年\d{1,2}月|\d{4}-\d{2}-\d{2}|(?:上|下)半年|年底|年初")
_ZERO = re.compile(r"无[^,。;]{0,8}(?:案件|情况|事件)|没有|未发生|零")
_ENTITY_HINT = re.compile(r"(?:局长|主任|书记|部长|厅长|市长|区长|主席|负责人|组长)|(?:局|委|办|中心|院|所|部门|单位|政府)")
_CLAUSE = re.compile(r"[^,;:]+[,;:]?")
_INLINE_ORDINAL = re.compile(r"(?<=[\u4e00-\u9fff”》)])(?<![统唯单同专第])[一二三四五六七八九十]是(?=[\u4e00-\u9fff])")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_YEAR_TOKEN = re.compile(r"(?:19|20)\d{2}")
_ROLE = re.compile(r"局长|副局长|主任|书记|部长|厅长|市长|区长|主席|组长|负责人")
_ENUM_PREFIX = re.compile(r"(?:[一二三四五六七八九十]+是|\(\d+\)|\([一二三四五六七八九十]+\)|[①-⑳]|\d+[.、])")
_ORDINAL_POINT = re.compile(r"(?:^|(?<=[。;:\n]))(?:[一二三四五六七八九十]+是|\(\d+\)|[①-⑳])")
_SECTION_SYNONYMS = {
    "问题": ("问题", "不足", "短板", "困难", "差距"),
    "打算": ("打算", "计划", "安排", "思路", "下一步", "重点工作", "目标"),
    "成效": ("成效", "举措", "做法", "成绩", "进展", "完成情况"),
}
_METADATA_ASK = re.compile(
    r"(报告|文件|本文|总结|规划|方案|这份|该文|公报|计划).{0,6}(什么时候|何时|哪天|哪一天|日期|时间).{0,4}(发布|印发|公布|出台)"
    r"|发布(时间|日期)|(谁|哪个部门|哪个单位)(发布|印发)|来源是"
)
MAX_FACTS = 3
MAX_OTHER_REPORTS = 2
OTHER_REPORT_SCORE = 0.9  # share of the best span's score another report's answer must reach
# Best passage similarity below which a question in another language (no shared words to
# check) is about something else. Measured with multilingual-e5-small: English questions the
# reports answer scored 0.76–0.81, unrelated ones ("How tall is Mount Everest?") 0.70–0.72.
CROSS_LINGUAL_MIN_SIMILARITY = 0.75
tokenize = word_tokenize  # precise mode: a term's weight is never counted twice


@lru_cache(maxsize=4096)
def _token_set(text: str) -> frozenset[str]:
    # The same headings, titles and clauses are matched against for every candidate
    # sentence of a question (and again by later questions): tokenise each once.
    return frozenset(tokenize(text))


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
    if _METADATA_ASK.search(question):
        meta_answer = _metadata_answer(question, hits, documents)
        if meta_answer is not None:
            return meta_answer
    terms = _terms(question)
    if info.kind is QuestionKind.SECTION:
        section_answer = _section_answer(question, info, terms, hits, documents)
        if section_answer is not None:
            return section_answer
    cross_lingual = not _CJK.search(question)
    if not cross_lingual and missing_share(question, hits, documents) >= max_missing:
        return not_found_answer(question, hits)
    if cross_lingual and _best_similarity(hits) < CROSS_LINGUAL_MIN_SIMILARITY:
        return not_found_answer(question, hits)  # no shared words to check: the model's similarity must do
    semantic = _semantic_scores(question, hits, documents, embedder) if cross_lingual and embedder else None
    evidence = select_evidence(question, hits, documents, info=info, terms=terms, semantic=semantic)
    if not evidence or evidence[0].score < min_score:
        return not_found_answer(question, hits)
    if info.kind in (QuestionKind.NUMBER, QuestionKind.DATE) and evidence[0].form < 0.7:
        return not_found_answer(question, hits)  # the best passage has no count/date to give
    if info.kind is QuestionKind.SECTION:
        listed = _enumeration_answer(question, evidence[0], hits, documents)
        if listed is not None:
            return listed
    return _answer_from_evidence(question, evidence, hits, documents)


def select_evidence(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    info: QueryInfo | None = None,
    terms: dict[str, float] | None = None,
    semantic: Mapping[tuple[str, int], float] | None = None,
) -> list[Evidence]:
    """The best answering spans, best first (several when the question spans facts).

    `semantic` (unit → 0..1 similarity) replaces word overlap for cross-lingual questions.
    """
    info = info or analyze_query(question)
    terms = terms if terms is not None else _terms(question)
    units = _candidate_units(hits, documents)
    terms = _local_idf(terms, [documents[d].text[s:e] for d, s, e, _ in units])
    unit = _asked_unit(question)
    candidates: list[Evidence] = []
    for doc_id, s, e, hit in units:
        doc = documents[doc_id]
        context = _context_terms(terms, doc, hit)
        override = semantic.get((doc_id, s), 0.0) if semantic is not None else None
        scored = _best_span(doc.text, s, e, info, terms, unit, context, override)
        if scored is not None:
            prior = 0.12 / hit.rank
            candidates.append(
                Evidence(doc_id, scored.start, scored.end, scored.score + prior, scored.form, scored.terms, hit)
            )
    candidates.sort(key=lambda ev: -ev.score)
    if not candidates:
        return []
    if semantic is not None:
        return candidates[:1]  # similarity alone is too blunt to pick a second fact
    return _multi_fact(candidates, info, documents) + _other_reports(candidates)


def missing_share(question: str, hits: Sequence[Hit], documents: Mapping[str, Document]) -> float:
    """Weight share of the question's content terms that no retrieved passage contains.

    A question about something the reports never mention ("GDP") leaves its
    key term unmatched, however close the passages look otherwise.
    """
    terms = _terms(question)
    if not terms:
        return 0.0
    context = "".join(h.chunk.text + "".join(h.chunk.section) + h.title for h in hits)
    present = {t: 1.0 for t in _matched(terms, context)}
    for t in terms:
        if t not in present and _CJK.search(t) and len(t) >= 2:
            # reports word things differently (启用/投用): count a term whose characters
            # mostly occur together in the passages as present
            pairs = [t[i : i + 2] for i in range(len(t) - 1)]
            share = sum(1 for p in pairs if p in context) / len(pairs)
            if share >= 0.5:
                present[t] = share
    return 1.0 - _coverage(terms, present)


def _best_similarity(hits: Sequence[Hit]) -> float:
    """Highest dense similarity among the hits (1.0 when none carries one: nothing to judge by)."""
    scores = [h.dense_score for h in hits if h.dense_score is not None]
    return max(scores) if scores else 1.0


def _context_terms(terms: Mapping[str, float], doc: Document, hit: Hit) -> dict[str, float]:
    """Terms the sentence's context already satisfies: its section headings (half) and
    the report's title and publisher (three quarters: they scope the whole report)."""
    out = {t: 0.5 * v for t, v in _matched(terms, "".join(hit.chunk.section)).items()}
    for t, v in _matched(terms, doc.title + (doc.meta.publisher or "")).items():
        out[t] = max(out.get(t, 0.0), 0.75 * v)
    return out


def _semantic_scores(
    question: str, hits: Sequence[Hit], documents: Mapping[str, Document], embedder: Embedder, limit: int = 24
) -> dict[tuple[str, int], float]:
    """Unit → similarity to the question in 0..1, from the multilingual embedding model."""
    units = _candidate_units(hits[:3], documents)[:limit]
    if not units:
        return {}
    vectors = embedder.embed_passages([documents[d].text[s:e] for d, s, e, _ in units])
    sims = vectors @ embedder.embed_query(question)
    return {(d, s): float(min(1.0, max(0.0, (sim - 0.75) / 0.2))) for (d, s, _, _), sim in zip(units, sims, strict=True)}


def _candidate_units(hits: Sequence[Hit], documents: Mapping[str, Document]) -> list[tuple[str, int, int, Hit]]:
    units, seen = [], set()
    for hit in hits:
        text = documents[hit.chunk.doc_id].text
        for span in sentence_spans(text, hit.chunk.start, hit.chunk.end):
            for s, e in _answer_units(text, *span):
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


def not_found_answer(question: str, hits: Sequence[Hit], notice: str | None = None) -> Answer:
    """'Not found', with the closest passages offered as such (never as evidence)."""
    text = NOT_FOUND
    if hits:
        text += "以下是最接近的段落，仅供参考："
    return Answer(question=question, text=text, citations=(), hits=tuple(hits), mode="not_found", notice=notice)


# --- scoring -------------------------------------------------------------------------------------------


def _terms(question: str) -> dict[str, float]:
    """Content terms of the question with weights (longer terms weigh more; years little,
    since the year mostly selects the report, not the sentence)."""
    weights: dict[str, float] = {}
    for token in tokenize(question):
        if token in _QUESTION_WORDS or len(token) == 1 and not token.isdigit():
            continue
        if _YEAR_TOKEN.fullmatch(token):
            weight = 0.5
        elif token.isdigit():
            weight = 2.0
        else:
            weight = min(len(token), 4) * (1.5 if token.isascii() else 1.0)
        weights[token] = max(weights.get(token, 0.0), weight)
    return weights


def _matched(terms: Mapping[str, float], text: str) -> dict[str, float]:
    """Matched terms with the share of their weight earned: whole token (or a synonym) 1,
    substring ½."""
    if not terms:
        return {}
    present = _token_set(text)
    lowered = text.lower()
    out = {}
    for t in terms:
        wordings = (t, *synonyms_of(t))
        if any(w in present for w in wordings):
            out[t] = 1.0
        elif any(w.lower() in lowered for w in wordings):
            out[t] = 0.5
    return out


def _coverage(terms: Mapping[str, float], matched: Mapping[str, float]) -> float:
    total = sum(terms.values())
    return sum(terms[t] * share for t, share in matched.items()) / total if total else 0.0


def _asked_unit(question: str) -> str | None:
    m = _UNIT_AFTER_ASK.search(question)
    if m:
        return m.group(1)
    if _SHARE_ASK.search(question):
        return "%"
    return None


def _type_score(kind: QuestionKind, clause: str, unit: str | None, role: str | None) -> float:
    """How well a clause has the form of the asked answer (0..1)."""
    if kind is QuestionKind.NUMBER:
        units = [m.group(1) for m in _NUMBER_WITH_UNIT.finditer(clause)]
        if unit and (any(u.startswith(unit) for u in units) or (unit == "%" and "%" in clause)):
            return 1.0
        if units or _ZERO.search(clause):
            return 0.7
        return 0.3 if _ANY_NUMBER.search(clause) else 0.0
    if kind is QuestionKind.DATE:
        return 1.0 if _DATE.search(clause) else 0.0
    if kind is QuestionKind.ENTITY:
        if role and re.search(re.escape(role) + r"[\u4e00-\u9fff]{2,3}", clause):
            return 1.0
        return 0.5 if _ENTITY_HINT.search(clause) else 0.1
    if kind is QuestionKind.LIST:
        items = clause.count("、") + clause.count("“") + clause.count("《") + len(_NUMBER_WITH_UNIT.findall(clause))
        return 1.0 if items >= 2 else 0.6 if items == 1 else 0.3
    return 0.5


@dataclass(frozen=True, slots=True)
class _Scored:
    start: int
    end: int
    score: float
    form: float
    terms: frozenset[str]


def _answer_units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences, further cut before inline 二是/三是… (reports often omit the 。 there)."""
    cuts = [start] + [m.start() for m in _INLINE_ORDINAL.finditer(text, start + 1, end)] + [end]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if text[a:b].strip()]


def _best_span(
    text: str,
    start: int,
    end: int,
    info: QueryInfo,
    terms: Mapping[str, float],
    unit: str | None,
    context_terms: Mapping[str, float],
    sentence_score: float | None = None,
) -> _Scored | None:
    """The answering part of one sentence and its score.

    A long sentence is cut to the clause that has the answer's form, widened
    to the left over clauses that add question terms (the context a reader
    needs) but not over another fact of the asked kind.
    """
    sentence = text[start:end]
    clauses = [(start + m.start(), start + m.end()) for m in _CLAUSE.finditer(sentence)]
    if not clauses:
        return None
    role = _asked_role(info.text)
    matched = {**context_terms, **_matched(terms, sentence)}
    sentence_cov = _coverage(terms, matched) if sentence_score is None else sentence_score
    scored = []
    for cs, ce in clauses:
        clause_terms = _matched(terms, text[cs:ce])
        form = _type_score(info.kind, text[cs:ce], unit, role)
        scored.append((0.5 * _coverage(terms, clause_terms) + 0.5 * form, form, clause_terms))
    i = max(range(len(clauses)), key=lambda j: (scored[j][0], -j))
    clause_score, form, clause_terms = scored[i]
    score = 0.5 * sentence_cov + 0.2 * _coverage(terms, clause_terms) + 0.3 * form
    if end - start <= 40 or info.kind is QuestionKind.OTHER or (info.kind is QuestionKind.LIST and end - start <= 80):
        span_start, span_end = start, end
    else:
        first, have = i, set(clause_terms)
        while first > 0 and i - first < 3:
            left = text[clauses[first - 1][0] : clauses[first - 1][1]]
            new_terms = set(_matched(terms, left)) - have
            if not new_terms or (info.kind is QuestionKind.NUMBER and _NUMBER_WITH_UNIT.search(left)):
                break
            have |= new_terms
            first -= 1
        last = i
        while info.kind is QuestionKind.LIST and last + 1 < len(clauses) and clauses[last + 1][1] - clauses[first][0] <= 80:
            nxt = text[clauses[last + 1][0] : clauses[last + 1][1]]
            if not (_NUMBER_WITH_UNIT.search(nxt) or "、" in nxt or "“" in nxt):
                break
            last += 1
        span_start, span_end = clauses[first][0], clauses[last][1]
    span_start, span_end = _trim(text, span_start, span_end)
    return _Scored(span_start, span_end, score, form, frozenset(matched))


def _asked_role(question: str) -> str | None:
    m = _ROLE.search(question)
    return m.group(0) if m else None


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading Markdown heading marker and enumeration marker (一是, (1)…) and trailing clause punctuation."""
    m = MARKDOWN_MARKER.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    m = _ENUM_PREFIX.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    while end > start and text[end - 1] in ",;:、":
        end -= 1
    return start, end


def _multi_fact(candidates: list[Evidence], info: QueryInfo, documents: Mapping[str, Document]) -> list[Evidence]:
    """The best span, plus close runners-up with a different fact of the asked kind."""
    best = candidates[0]
    chosen = [best]
    if info.kind not in (QuestionKind.NUMBER, QuestionKind.DATE):
        return chosen
    facts = {_fact(documents[best.doc_id].text[best.start : best.end], info.kind)}
    for ev in candidates[1:]:
        if len(chosen) >= MAX_FACTS or ev.score < 0.8 * best.score:
            break
        if ev.doc_id != best.doc_id or ev.form < best.form or not best.terms <= ev.terms:
            continue  # another report, another kind of answer, or it lacks a word of the question the best has
        quote = documents[ev.doc_id].text[ev.start : ev.end]
        fact = _fact(quote, info.kind)
        if not fact or fact in facts or any(_overlaps(ev, c) for c in chosen):
            continue
        facts.add(fact)
        chosen.append(ev)
    return chosen


def _other_reports(candidates: list[Evidence]) -> list[Evidence]:
    """The best span of up to two other reports that answer about as well: a question that
    names no report ("2024年检查了多少家企业？") may be answered by several, and the user
    should see that rather than one report's figure presented as the only one."""
    best = candidates[0]
    others: dict[str, Evidence] = {}
    for ev in candidates[1:]:
        if ev.score < OTHER_REPORT_SCORE * best.score or len(others) >= MAX_OTHER_REPORTS:
            break
        if ev.doc_id != best.doc_id and ev.doc_id not in others and ev.form >= best.form and best.terms <= ev.terms:
            others[ev.doc_id] = ev
    return list(others.values())


def _fact(quote: str, kind: QuestionKind) -> str | None:
    pattern = _DATE if kind is QuestionKind.DATE else _NUMBER_WITH_UNIT
    m = pattern.search(quote)
    return m.group(0) if m else None


def _overlaps(a: Evidence, b: Evidence) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


# --- answers -------------------------------------------------------------------------------------------


def _citation(marker: int, doc: Document, hit: Hit, start: int, end: int) -> Citation:
    return Citation(
        marker=marker,
        chunk_id=hit.chunk.chunk_id,
        doc_id=doc.doc_id,
        title=doc.title,
        source=doc.source,
        section=hit.chunk.section,
        start=start,
        end=end,
        quote=doc.text[start:end],
    )


def _answer_from_evidence(
    question: str, evidence: Sequence[Evidence], hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer:
    citations = [
        _citation(i, documents[ev.doc_id], ev.hit, ev.start, ev.end) for i, ev in enumerate(evidence, start=1)
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


def _section_answer(
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
        spans = _points(doc.text, section)
    if not spans:
        return None
    hit_for = _hit_lookup(hits, doc)
    citations = []
    for marker, (start, end) in enumerate(spans[:8], start=1):
        start, end = _trim(doc.text, start, end)
        citations.append(_citation(marker, doc, hit_for(start), start, end))
    heading = section.path[-1]
    lines = [f"·{c.quote.rstrip('。;')}[{c.marker}]" for c in citations]
    text = f"《{doc.title}》“{heading}”部分的要点：\n" + "\n".join(lines)
    return Answer(question=question, text=text, citations=tuple(citations), hits=tuple(hits), mode="extractive")


def _heading_match(question: str, info: QueryInfo, terms: Mapping[str, float], heading: str) -> float:
    score = 0.0
    for synonyms in _SECTION_SYNONYMS.values():
        if any(s in question for s in synonyms) and any(s in heading for s in synonyms):
            score += 1.0
    score += 0.5 * _coverage(terms, _matched(terms, heading))
    if info.years and not any(str(y) in heading for y in info.years) and re.search(r"\d{4}年", heading):
        score -= 0.5
    return score if score >= 1.0 else 0.0


def _enumeration_answer(
    question: str, best: Evidence, hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer | None:
    """When the best sentence belongs to an enumeration (…:一是…二是…三是…), answer with all its points."""
    doc = documents[best.doc_id]
    text = doc.text
    para_start = text.rfind("\n", 0, best.start) + 1
    para_end = text.find("\n", best.end)
    para_end = len(text) if para_end < 0 else para_end
    starts = [m.start() for m in _ORDINAL_POINT.finditer(text, para_start, para_end)]
    if len(starts) < 2 or best.start < starts[0] - 80:
        return None
    hit_for = _hit_lookup(hits, doc)
    citations = []
    for marker, (s, e) in enumerate(zip(starts, [*starts[1:], para_end], strict=True), start=1):
        s, e = _trim(text, *_strip_span(text, s, e))
        citations.append(_citation(marker, doc, hit_for(s), s, e))
    lines = [f"·{c.quote.rstrip('。;')}[{c.marker}]" for c in citations]
    text_out = f"《{doc.title}》中列出以下几点：\n" + "\n".join(lines)
    return Answer(question=question, text=text_out, citations=tuple(citations), hits=tuple(hits), mode="extractive")


def _points(text: str, section: Section) -> list[tuple[int, int]]:
    """Enumerated points (一是…/(1)…) of a section body, else its sentences after the first."""
    body_start = section.heading.end if section.heading else section.start
    sentences = sentence_spans(text, body_start, section.end)
    starts = [m.start() for m in _ORDINAL_POINT.finditer(text, body_start, section.end)]
    if starts:
        points = []
        for i, s in enumerate(starts):
            e = starts[i + 1] if i + 1 < len(starts) else section.end
            points.append(_strip_span(text, s, e))
        return points
    return sentences[1:6] if len(sentences) > 1 else sentences


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _hit_lookup(hits: Sequence[Hit], doc: Document) -> Callable[[int], Hit]:
    """The hit whose chunk contains an offset (for the citation's chunk and section).

    An offset no retrieved chunk covers (a section point cited from the section
    list) gets its section from the heading grammar and no chunk id: re-cutting
    chunks here could name ids the index, cut with its own settings, never had.
    """
    own = [h for h in hits if h.chunk.doc_id == doc.doc_id]
    sections: list[Section] = []  # the document's sections, split at most once per answer

    def find(offset: int) -> Hit:
        for h in own:
            if h.chunk.start <= offset < h.chunk.end:
                return h
        if not sections:
            sections.extend(split_sections(doc.text))
        section = next((s for s in sections if s.start <= offset < s.end), None)
        if section is None:
            return own[0]
        chunk = Chunk(
            chunk_id="",
            doc_id=doc.doc_id,
            text=doc.text[section.start : section.end],
            start=section.start,
            end=section.end,
            section=section.path,
            ordinal=-1,
        )
        return Hit(chunk=chunk, score=0.0, rank=len(hits) + 1, title=doc.title, source=doc.source)

    return find


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
