"""A question that asks several things, split into the parts answered one by one.

Pure. Three shapes, read off the question's own structure and its resolved scope:

- a comparison of reports: two places, two report years or two named documents
  ("吉林和黑龙江2025年的粮食产量目标各是多少？", "2015年和2016年政府工作报告…分别…"):
  one part per report group, each answered only from its reports;
- several items with one predicate: "X和Y分别要增长多少？" → "X要增长多少", "Y要增长多少";
- several questions: "有几位字符？规格多大？", "实施多少个项目、完成多少年度投资？".

Every part keeps the whole question's scope (a later part "规格多大" is still about the
document the first part names).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..retrieve.query import analyze_query
from ..retrieve.scope import Scope, title_overlap
from ..text.places import place_aliases, places_in
from ..types import Answer, AnswerPart, Calculation, Citation, Document, Hit, ReportCard
from .arithmetic import (
    CALCULATION_LEAD,
    SUM_WORDS,
    THAN,
    asked_operation,
    compute,
    operands,
    subtrahend_first,
)
from .form import asked_form

__all__ = ["Part", "split_question", "combine_answers"]

MAX_PARTS = 4
_MODIFIER_CHARS = 3  # items this short before a longer one modify its noun, they are not items
# "分别" / "各" announce one predicate for several items.
_EACH_VERB = "是为有要定增提达多"  # 各是 / 各要 / 各增长…: 各 announcing one predicate for each item
_EACH = re.compile(rf"分别|各自|各(?=[{_EACH_VERB}])|{SUM_WORDS}")  # (一共: a total of them)
# A和B相差多少 / A比B高多少: each figure is asked plainly, the answer works out the difference.
_OPERATION_WORDS = re.compile(SUM_WORDS)
_DIFFERENCE_WORDS = re.compile(r"(?:相差|(?<=[^多少高低])(?:多|少|高|低)(?:出|了)?)(?=多少|几)")
_JOIN = re.compile(r"以及|和|与|、")  # (及, 同, 跟 stand inside words: 涉及, 同比)
_ASK = re.compile(r"多少|几[个位项件家次条种年天月]?|什么|哪[些个天年位]?|何时|多大|多高|多长|多久|是否")
# Where one asked clause ends and the next begins: ？ or ; or 、/，/和 before a clause that asks again.
_QUESTION_END = re.compile(r"[?？;；]")
_CLAUSE_JOIN = re.compile(r"[、,，]|和|并且|同时|以及")
_MARKER = re.compile(r"\[(\d+)\]")
_LEAD = re.compile(r"^(?:报告中有以下相关记录：|据《[^》]+》：)")


@dataclass(frozen=True, slots=True)
class Part:
    """One thing a question asks: its own wording, and the reports it is about."""

    question: str
    label: str = ""  # how the combined answer names it (a place, a report), or "" (its quote says)
    doc_ids: frozenset[str] | None = None  # None: the whole question's scope


def split_question(question: str, scope: Scope, catalog: Sequence[ReportCard]) -> list[Part]:
    """The parts of `question` (one part, itself, when it asks one thing).

    >>> from rag.types import DocumentMeta
    >>> cards = [ReportCard(p, f"2025年{p}政府工作报告", "x", DocumentMeta(place=p, year=2025)) for p in ("吉林省", "黑龙江省")]
    >>> s = Scope(places=("吉林省", "黑龙江省"), doc_ids=frozenset({"吉林省", "黑龙江省"}))
    >>> [(p.question, p.label) for p in split_question("吉林和黑龙江2025年的粮食产量目标各是多少？", s, cards)]
    [('吉林2025年的粮食产量目标是多少？', '吉林省'), ('黑龙江2025年的粮食产量目标是多少？', '黑龙江省')]
    >>> [p.question for p in split_question("新能源产业产值和装备制造业增加值分别要增长多少？", Scope(), cards)]
    ['新能源产业产值要增长多少？', '装备制造业增加值要增长多少？']
    >>> [p.question for p in split_question("号牌有几位字符？规格多大？", Scope(), cards)]
    ['号牌有几位字符？', '规格多大？']
    """
    for split in (_by_place, _by_report_year, _by_title, _by_than, _by_item, _by_question):
        parts = split(question, scope, catalog)
        if 1 < len(parts) <= MAX_PARTS:
            if asked_operation(question):
                return [replace(p, question=_asked_plainly(p.question)) for p in parts]
            return parts
    return [Part(question)]


def _by_place(question: str, scope: Scope, catalog: Sequence[ReportCard]) -> list[Part]:
    if len(scope.places) < 2:
        return []
    aliases = {p: sorted(place_aliases(p)) for p in scope.places}
    groups = [(p, lambda c, p=p: c.meta.place == p, [a for q in scope.places if q != p for a in aliases[q]]) for p in scope.places]
    return _by_group(question, scope, catalog, groups)


def _by_report_year(question: str, scope: Scope, catalog: Sequence[ReportCard]) -> list[Part]:
    if len(scope.report_years) < 2:
        return []
    years = scope.report_years
    groups = [(f"{y}年", lambda c, y=y: c.meta.year == y, [f"{o}年" for o in years if o != y] + [str(o) for o in years if o != y]) for y in years]
    return _by_group(question, scope, catalog, groups)


def _by_group(
    question: str,
    scope: Scope,
    catalog: Sequence[ReportCard],
    groups: Sequence[tuple[str, Callable[[ReportCard], bool], Sequence[str]]],
) -> list[Part]:
    """One part a group of the question's reports: (label, which reports, the other groups' words)."""
    if scope.doc_ids is None:
        return []
    parts = []
    for label, belongs, others in groups:
        ids = frozenset(c.doc_id for c in catalog if c.doc_id in scope.doc_ids and belongs(c))
        if not ids:
            return []  # 江苏省的报告对苏州…: one report that mentions another place, not a comparison
        parts.append(Part(_one_predicate(_without(question, others)), label, ids))
    return parts


def _by_title(question: str, scope: Scope, catalog: Sequence[ReportCard]) -> list[Part]:
    """Two named documents joined (个人所得税法实施条例和专利代理条例分别…): each item to the
    document whose title it shares most with."""
    if len(scope.titled) < 2:
        return []
    items, predicate = _items(question)
    if len(items) < 2:
        return []
    cards = [c for c in catalog if c.doc_id in scope.titled]
    parts = []
    for item in items:
        best = max(cards, key=lambda c: title_overlap(item, c.title))
        if title_overlap(item, best.title) == 0:
            return []
        parts.append(Part(_one_predicate(item + predicate), best.title, frozenset({best.doc_id})))
    return parts if len({p.doc_ids for p in parts}) == len(parts) else []


def _by_than(question: str, scope: Scope, catalog: Sequence[ReportCard]) -> list[Part]:
    """A比B多建了多少所学校 → "A建了多少所学校", "B建了多少所学校" (the answer works out A − B)."""
    than = THAN.match(question) if asked_operation(question) == "difference" else None
    if than is None or len(_core(than["a"])) < 2 or len(_core(than["b"])) < 2:
        return []  # (吉林比黑龙江…: places are split by _by_place; a bare year or place is no item)
    return [Part(f"{than['a']}{than['verb']}{than['ask']}"), Part(f"{than['b']}{than['verb']}{than['ask']}")]


def _by_item(question: str, scope: Scope, catalog: Sequence[ReportCard]) -> list[Part]:
    items, predicate = _items(question)
    return [Part(_one_predicate(item + predicate)) for item in items] if len(items) > 1 else []


def _by_question(question: str, scope: Scope, catalog: Sequence[ReportCard]) -> list[Part]:
    """Asked clauses one after another: split before each clause that asks again."""
    pieces = [p for p in re.split(r"(?<=[?？;；])", question) if p.strip()]
    if len(pieces) == 1:
        pieces = _asked_clauses(question)
    asking = [p.rstrip("、,，和 ") for p in pieces if _ASK.search(p)]
    return [Part(p if _QUESTION_END.search(p[-1:]) else p + "？") for p in asking] if len(asking) > 1 else []


def _asked_clauses(question: str) -> list[str]:
    """实施多少个项目、完成多少年度投资 → the two clauses, each with an interrogative of its own."""
    asks = list(_ASK.finditer(question))
    if len(asks) < 2:
        return [question]
    cuts = [0]
    for previous, ask in zip(asks, asks[1:], strict=False):
        joins = [m for m in _CLAUSE_JOIN.finditer(question, previous.end(), ask.start())]
        if not joins:
            return [question]
        cuts.append(joins[-1].end())
    pieces = [question[a:b] for a, b in zip(cuts, [*cuts[1:], len(question)], strict=True)]
    return [_CLAUSE_JOIN.sub("", p[:2], count=1) + p[2:] if _CLAUSE_JOIN.match(p) else p for p in pieces]


def _items(question: str) -> tuple[list[str], str]:
    """(the items before 分别/各, the predicate after it): X和Y分别要增长多少 → ([X, Y], 要增长多少)."""
    each = _EACH.search(question)
    if each is None:
        return [], ""
    head, predicate = question[: each.start()], question[each.end() :]
    items = [i for i in _JOIN.split(head) if i.strip()]
    if len(items) < 2 or any(len(i.strip()) < 2 for i in items):
        return [], ""
    if any(len(_core(i)) <= _MODIFIER_CHARS for i in items[:-1]):
        return [], ""  # 一产、二产、三产增加值 / 城镇和农村居民收入: short words sharing the last one's noun
    return items, predicate


def _core(item: str) -> str:
    """An item without the years and places that scope it: 海南2025年城镇 → 城镇."""
    item = re.sub(r"(?:19|20)\d{2}\s*年?", "", item.strip())
    for place in places_in(item):
        for alias in sorted(place_aliases(place), key=len, reverse=True):
            item = item.replace(alias, "")
    return item


def _asked_plainly(question: str) -> str:
    """A part of a total or a difference asked for its own figure: 吉林比…高多少 (黑龙江 taken
    out) → 吉林…是多少, X一共涉及多少家 → X涉及多少家."""
    text = _DIFFERENCE_WORDS.sub("是", _OPERATION_WORDS.sub("", question))
    return re.sub(r"^比|比(?=\d|的|是|[?？]|$)", "", text)


def _one_predicate(question: str) -> str:
    """A part's own wording: 各是多少 → 是多少, 分别是多少 → 是多少, a dangling 和 dropped."""
    text = re.sub(r"分别|各自", "", question)
    text = re.sub(rf"各(?=[{_EACH_VERB}])", "", text)
    return re.sub(r"^(?:和|与|及|、)+|(?:和|与|及|、)+(?=\d|[的年])", "", text)


def _without(question: str, words: Sequence[str]) -> str:
    """The question without the other parts' words, and the 和/与/、 joining them to this part's."""
    for word in sorted(words, key=len, reverse=True):
        question = re.sub(rf"(?:和|与|及|、)?{re.escape(word)}|{re.escape(word)}(?:和|与|及|、)?", "", question, count=1)
    return question


def combine_answers(
    question: str, parts: Sequence[Part], answers: Sequence[Answer], hits: Sequence[Hit], documents: Mapping[str, Document]
) -> Answer:
    """One answer from the parts' answers: each part's text with its citations renumbered, a
    report group's part labelled with its report ("《…》：…[1]；《…》：…[2]"), a part nothing
    answers said to be not found (the rest still answer); not found when no part is answered.
    Parts answered by neighbouring clauses of one sentence cite it once. A total or difference
    asked is worked out from the parts' figures when each gives one of one unit."""
    if all(a.mode == "not_found" for a in answers):
        return Answer(question, answers[0].text, (), tuple(hits), "not_found")
    citations: list[Citation] = []
    owners: list[int] = []  # the part each citation answers
    texts: list[str] = []
    rows: list[AnswerPart] = []
    seen: set[str] = set()
    for index, (part, answer) in enumerate(zip(parts, answers, strict=True)):
        if answer.mode == "not_found":
            texts.append(f"{part.label or part.question.rstrip('？?')}：报告中未找到")
            rows.append(AnswerPart(part.question, part.label, "报告中未找到", (), False))
            continue
        offset = len(citations)
        citations += [replace(c, marker=c.marker + offset) for c in answer.citations]
        owners += [index] * len(answer.citations)
        body = _renumbered(_LEAD.sub("", answer.text), offset).rstrip("。")
        label = f"《{answer.citations[0].title}》" if part.label and answer.citations else part.label
        said = f"{label}：{body}" if label and not body.startswith("《") else body
        rows.append(AnswerPart(part.question, label.strip("《》") or part.question.rstrip("？?"), body, tuple(range(offset + 1, len(citations) + 1)), True))
        if _renumbered(said, -offset) not in seen:  # two parts answered by one quote: say it once
            texts.append(said)
            seen.add(_renumbered(said, -offset))
    calculation = _calculation(question, answers, rows)
    if calculation is not None:
        texts.append(f"{CALCULATION_LEAD}{calculation.expression}" + "".join(f"[{m}]" for m in calculation.markers))
    text, cited, renumber = _joined_neighbours("；".join(texts) + "。", citations, owners, documents)
    text = re.sub(r"(\[\d+\])\1+", r"\1", text)  # operands in one joined quote: [1][1] → [1]
    rows = [replace(r, text=_MARKER.sub(lambda m: f"[{renumber[int(m.group(1))]}]", r.text), markers=_kept(r.markers, renumber)) for r in rows]
    if calculation is not None:
        calculation = replace(calculation, markers=_kept(calculation.markers, renumber))
    return Answer(question, text, cited, tuple(hits), "extractive", parts=tuple(rows), calculation=calculation)


def _calculation(question: str, answers: Sequence[Answer], rows: Sequence[AnswerPart]) -> Calculation | None:
    """The total or difference the question asks, from each part's first cited figure."""
    operation = asked_operation(question)
    if operation is None or not all(r.found for r in rows):
        return None
    unit = asked_form(question, analyze_query(question)).unit
    operand_citations = []  # (citation, marker, its figure) of each part
    for answer, row in zip(answers, rows, strict=True):
        with_figure = [
            (c, m, figure[0])
            for c, m in zip(answer.citations, row.markers, strict=False)
            if (figure := operands(unit, [c.quote]))
        ]
        if len(with_figure) != 1:
            return None  # a part citing two figures (this year's and the plan's): which one counts is unsure
        operand_citations.append(with_figure[0])
    if len({(c.doc_id, c.start, c.end) for c, _, _ in operand_citations}) < len(operand_citations):
        return None  # two parts answered by one quote: its figure is not two figures
    computed = compute(operation, [f for _, _, f in operand_citations], subtrahend_first(question))
    if computed is None:
        return None
    markers = tuple(m for _, m, _ in operand_citations)
    return Calculation(operation, computed.text(), computed.result, markers)


def _kept(markers: Sequence[int], renumber: Mapping[int, int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(renumber.get(m, m) for m in markers))


def _joined_neighbours(
    text: str, citations: Sequence[Citation], owners: Sequence[int], documents: Mapping[str, Document]
) -> tuple[str, tuple[Citation, ...], dict[int, int]]:
    """One citation where parts quote the same span, or neighbouring clauses of one sentence
    (新能源产业产值增长8%以上, | 装备制造业增加值增长10%左右); the text's markers renumbered to match."""
    kept: list[Citation] = []
    kept_owner: list[int] = []
    renumber: dict[int, int] = {}
    for c, owner in zip(citations, owners, strict=True):
        same = next((k for k in kept if (k.doc_id, k.start, k.end) == (c.doc_id, c.start, c.end)), None)
        if same is not None:
            renumber[c.marker] = same.marker
            continue
        last = kept[-1] if kept else None
        doc = documents.get(c.doc_id)
        adjacent = last is not None and last.doc_id == c.doc_id and 0 <= c.start - last.end <= 2
        if adjacent and doc is not None and kept_owner[-1] != owner and "\n" not in doc.text[last.end : c.start]:
            kept[-1] = replace(last, end=c.end, quote=doc.text[last.start : c.end])
            renumber[c.marker] = last.marker
            continue
        renumber[c.marker] = len(kept) + 1
        kept.append(replace(c, marker=len(kept) + 1))
        kept_owner.append(owner)
    text = _MARKER.sub(lambda m: f"[{renumber.get(int(m.group(1)), int(m.group(1)))}]", text)
    return text, tuple(kept), renumber


def _renumbered(text: str, offset: int) -> str:
    return _MARKER.sub(lambda m: f"[{int(m.group(1)) + offset}]", text)
