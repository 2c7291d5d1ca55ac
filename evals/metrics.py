"""Evaluation metrics over gold questions: pure functions, no model, no LLM judge.

A system's answers are recorded as `SystemResult`s (one per gold question);
`score_item` compares one with its `GoldItem`, `aggregate` turns item scores
into rates, `evaluate` does both, overall and per question kind.

Matching is literal after `normalize`: width-normalised like the documents
(full-width ASCII → ASCII) with all whitespace removed, so "入库登记５４家"
in a gold file matches "入库登记 54 家" in a passage.

Denominators (an item that a metric does not apply to is left out of it):
- retrieval (hit@k, MRR): items with evidence strings and a document;
- answer accuracy: every item (unanswerable ones are right iff refused);
- citation precision / evidence coverage: items with evidence strings;
- refusal accuracy: unanswerable items; false-refusal rate: answerable items.
A rate with no eligible item is None (shown as "—"), never 0.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.text.normalize import normalize_width

__all__ = [
    "GoldItem",
    "GoldError",
    "Retrieved",
    "CitedQuote",
    "SystemResult",
    "ItemScore",
    "HIT_KS",
    "RETRIEVED_DEPTH",
    "normalize",
    "parse_gold",
    "load_gold",
    "first_relevant_rank",
    "fact_in",
    "facts_correct",
    "citation_matches",
    "evidence_covered",
    "percentile",
    "score_item",
    "aggregate",
    "evaluate",
]

HIT_KS = (1, 3, 5)
# How many retrieved passages are recorded per question; MRR counts ranks up to this depth.
RETRIEVED_DEPTH = 10
UNANSWERABLE = "unanswerable"
NOT_FOUND = "not_found"

_SPACE = re.compile(r"\s+")
_SECOND_DOC = re.compile(r"second doc:\s*(\S+)")


class GoldError(ValueError):
    """A gold file line does not follow the schema (names the line and the field)."""


def normalize(text: str) -> str:
    """Width-normalised, whitespace-free text for literal matching.

    >>> normalize("入库登记 ５４ 家")
    '入库登记54家'
    """
    return _SPACE.sub("", normalize_width(text))


# --------------------------------------------------------------------------------------- gold


@dataclass(frozen=True, slots=True)
class GoldItem:
    """One gold question (schema of evals/gold/seed-dev.jsonl)."""

    id: str
    question: str
    answer_facts: tuple[str, ...]
    evidence: tuple[str, ...]
    doc: str | None  # file name (or corpus-relative path) of the report holding the evidence
    section: str | None
    kind: str  # number, date, list, entity, section, english, metadata, unanswerable, …
    note: str = ""

    @property
    def unanswerable(self) -> bool:
        return self.kind == UNANSWERABLE

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence) and self.doc is not None

    @property
    def docs(self) -> frozenset[str]:
        """File names of the reports holding the evidence: `doc`, plus a compare question's other
        report, which the gold files name in the note as "second doc: <path> (…)".

        >>> GoldItem("x", "q", ("a",), ("e",), "national/r-2015.txt", None, "compare",
        ...          "second doc: national/r-2016.txt (2.18万亿元)").docs == {"r-2015.txt", "r-2016.txt"}
        True
        """
        if self.doc is None:
            return frozenset()
        others = _SECOND_DOC.findall(self.note)
        return frozenset(Path(d).name for d in (self.doc, *others))


def parse_gold(lines: Iterable[str], where: str = "gold") -> list[GoldItem]:
    """Gold items from JSONL lines; blank lines are skipped, schema errors raise GoldError."""
    items: list[GoldItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        at = f"{where}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldError(f"{at}: not valid JSON ({exc.msg}); each line must be one JSON object") from exc
        if not isinstance(raw, dict):
            raise GoldError(f"{at}: expected a JSON object, found {type(raw).__name__}")
        item = _gold_item(raw, at)
        if item.id in seen:
            raise GoldError(f"{at}: duplicate id {item.id!r}; ids must be unique")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise GoldError(f"{where}: no questions found; expected one JSON object per line")
    return items


def _gold_item(raw: Mapping[str, Any], at: str) -> GoldItem:
    for name in ("id", "question", "kind"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise GoldError(f"{at}: field {name!r} must be a non-empty string, found {raw.get(name)!r}")
    lists = {}
    for name in ("answer_facts", "evidence"):
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise GoldError(f"{at}: field {name!r} must be a list of non-empty strings, found {value!r}")
        lists[name] = tuple(value)
    for name in ("doc", "section"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise GoldError(f"{at}: field {name!r} must be a string or null, found {raw[name]!r}")
    item = GoldItem(
        id=raw["id"],
        question=raw["question"],
        answer_facts=lists["answer_facts"],
        evidence=lists["evidence"],
        doc=raw.get("doc"),
        section=raw.get("section"),
        kind=raw["kind"],
        note=str(raw.get("note") or ""),
    )
    if not item.unanswerable and not item.answer_facts:
        raise GoldError(
            f"{at}: question {item.id!r} (kind {item.kind!r}) has no answer_facts; "
            f"give the facts the answer must contain, or set kind to {UNANSWERABLE!r}"
        )
    if item.evidence and item.doc is None:
        raise GoldError(f"{at}: question {item.id!r} has evidence but no 'doc'; name the report file it is in")
    return item


def load_gold(path: Path | str) -> list[GoldItem]:
    """Read a gold JSONL file (see `parse_gold`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoldError(f"cannot read gold file {path}: {exc.strerror or exc}") from exc
    return parse_gold(text.splitlines(), where=str(path))


# ------------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One retrieved passage, as recorded for a question."""

    doc: str  # report file name
    section: tuple[str, ...]
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class CitedQuote:
    """One citation of an answer."""

    doc: str  # report file name
    title: str
    section: tuple[str, ...]
    quote: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SystemResult:
    """What one system answered for one question (one line of results.jsonl)."""

    id: str
    system: str
    question: str
    answer: str
    mode: str  # extractive | llm | not_found
    citations: tuple[CitedQuote, ...]
    retrieved: tuple[Retrieved, ...]  # best first, up to RETRIEVED_DEPTH
    latency_ms: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SystemResult:
        return cls(
            id=raw["id"],
            system=raw["system"],
            question=raw["question"],
            answer=raw["answer"],
            mode=raw["mode"],
            citations=tuple(
                CitedQuote(c["doc"], c["title"], tuple(c["section"]), c["quote"], int(c["start"]), int(c["end"]))
                for c in raw["citations"]
            ),
            retrieved=tuple(
                Retrieved(r["doc"], tuple(r["section"]), r["text"], float(r["score"])) for r in raw["retrieved"]
            ),
            latency_ms=float(raw["latency_ms"]),
        )


# ------------------------------------------------------------------------------- item metrics


def _contains_evidence(item: GoldItem, doc: str, text: str) -> bool:
    if Path(doc).name not in item.docs:
        return False
    haystack = normalize(text)
    return any(normalize(e) in haystack for e in item.evidence)


def first_relevant_rank(item: GoldItem, retrieved: Sequence[Retrieved]) -> int | None:
    """1-based rank of the first passage from the right report holding an evidence string, or None.

    >>> first_relevant_rank(GoldItem("x", "q", ("54",), ("入库登记54家",), "a.txt", None, "number"),
    ...                     [Retrieved("a.txt", (), "其他", 1.0), Retrieved("a.txt", (), "入库登记５４家", 0.5)])
    2
    """
    for rank, passage in enumerate(retrieved, start=1):
        if _contains_evidence(item, passage.doc, passage.text):
            return rank
    return None


def fact_in(fact: str, text: str) -> bool:
    """Whether `fact` appears in `text` (both normalised), a number only as a whole number.

    A fact that starts or ends with a digit must not continue a longer number:
    "5" is not found in "2025年" or "5.5%", "11" is found in "涉及企业11家".
    >>> fact_in("5", "处理信访投诉案例5件"), fact_in("5", "2025年")
    (True, False)
    """
    needle, haystack = normalize(fact), normalize(text)
    if not needle:
        return False
    before = r"(?<!\d)(?<!\d\.)" if needle[0].isdigit() else ""
    after = r"(?!\d)(?!\.\d)" if needle[-1].isdigit() else ""
    return re.search(before + re.escape(needle) + after, haystack) is not None


def facts_correct(item: GoldItem, answer: str, mode: str) -> bool:
    """Unanswerable: right iff refused. Otherwise: not refused and every fact appears in the answer (`fact_in`)."""
    if item.unanswerable:
        return mode == NOT_FOUND
    if mode == NOT_FOUND:
        # A refusal is never a right answer, even if its wording happens to contain a fact.
        return False
    return all(fact_in(fact, answer) for fact in item.answer_facts)


def citation_matches(item: GoldItem, citations: Sequence[CitedQuote]) -> tuple[int, int]:
    """(citations quoting an evidence string from the right report, all citations)."""
    good = sum(1 for c in citations if _contains_evidence(item, c.doc, c.quote))
    return good, len(citations)


def evidence_covered(item: GoldItem, citations: Sequence[CitedQuote]) -> tuple[int, int]:
    """(evidence strings quoted by some citation from the right report, all evidence strings)."""
    quotes = [normalize(c.quote) for c in citations if Path(c.doc).name in item.docs]
    covered = sum(1 for e in item.evidence if any(normalize(e) in q for q in quotes))
    return covered, len(item.evidence)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) like numpy's default; None for no values.

    >>> percentile([10.0, 20.0, 30.0, 40.0], 50)
    25.0
    """
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class ItemScore:
    """Every per-question measurement `aggregate` needs."""

    id: str
    kind: str
    unanswerable: bool
    has_evidence: bool
    rank: int | None  # first relevant retrieved rank (None: not in the recorded passages)
    correct: bool
    refused: bool
    citations_good: int
    citations_total: int
    evidence_covered: int
    evidence_total: int
    latency_ms: float
    answer_chars: int  # a long answer contains facts by chance; report its length next to accuracy


def score_item(item: GoldItem, result: SystemResult) -> ItemScore:
    """Measure one answer against its gold item (ids must agree)."""
    if item.id != result.id:
        raise ValueError(f"result {result.id!r} compared with gold item {item.id!r}; match them by id")
    if item.has_evidence:
        good, total = citation_matches(item, result.citations)
        covered, evidence = evidence_covered(item, result.citations)
    else:
        good = total = covered = evidence = 0
    return ItemScore(
        id=item.id,
        kind=item.kind,
        unanswerable=item.unanswerable,
        has_evidence=item.has_evidence,
        rank=first_relevant_rank(item, result.retrieved) if item.has_evidence else None,
        correct=facts_correct(item, result.answer, result.mode),
        refused=result.mode == NOT_FOUND,
        citations_good=good,
        citations_total=total,
        evidence_covered=covered,
        evidence_total=evidence,
        latency_ms=result.latency_ms,
        answer_chars=len(result.answer),
    )


# ---------------------------------------------------------------------------------- aggregate


def _rate(numerator: int | float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def aggregate(scores: Sequence[ItemScore]) -> dict[str, Any]:
    """Rates over item scores; counts (n_*) say how many items each rate is over.

    Citation precision and evidence coverage are micro-averaged: over all
    citations (resp. evidence strings) of the eligible items.
    """
    retrieval = [s for s in scores if s.has_evidence]
    answerable = [s for s in scores if not s.unanswerable]
    unanswerable = [s for s in scores if s.unanswerable]
    cited = [s for s in scores if s.has_evidence]
    latencies = [s.latency_ms for s in scores]
    out: dict[str, Any] = {"n": len(scores), "n_retrieval": len(retrieval)}
    for k in HIT_KS:
        out[f"hit@{k}"] = _rate(sum(1 for s in retrieval if s.rank is not None and s.rank <= k), len(retrieval))
    out["mrr"] = _rate(sum(1 / s.rank for s in retrieval if s.rank is not None), len(retrieval))
    out["answer_accuracy"] = _rate(sum(1 for s in scores if s.correct), len(scores))
    out["answerable_accuracy"] = _rate(sum(1 for s in answerable if s.correct), len(answerable))
    citations_total = sum(s.citations_total for s in cited)
    evidence_total = sum(s.evidence_total for s in cited)
    out["citation_precision"] = _rate(sum(s.citations_good for s in cited), citations_total)
    out["evidence_coverage"] = _rate(sum(s.evidence_covered for s in cited), evidence_total)
    out["n_citations"] = citations_total
    out["n_evidence"] = evidence_total
    out["refusal_accuracy"] = _rate(sum(1 for s in unanswerable if s.refused), len(unanswerable))
    out["false_refusal_rate"] = _rate(sum(1 for s in answerable if s.refused), len(answerable))
    out["n_answerable"] = len(answerable)
    out["n_unanswerable"] = len(unanswerable)
    out["latency_p50_ms"] = percentile(latencies, 50)
    out["latency_p95_ms"] = percentile(latencies, 95)
    out["answer_chars_p50"] = percentile([s.answer_chars for s in answerable if not s.refused], 50)
    return out


def evaluate(gold: Sequence[GoldItem], results: Sequence[SystemResult]) -> dict[str, Any]:
    """{"overall": rates, "per_kind": {kind: rates}, "items": [ItemScore as dict]} for one system.

    Every gold item needs exactly one result (matched by id).
    """
    by_id = {r.id: r for r in results}
    if len(by_id) != len(results):
        raise ValueError("results hold the same question id twice; give one result per gold question")
    missing = [g.id for g in gold if g.id not in by_id]
    if missing:
        raise ValueError(f"no result for gold question(s) {missing[:5]}{'…' if len(missing) > 5 else ''}")
    scores = [score_item(g, by_id[g.id]) for g in gold]
    kinds = sorted({s.kind for s in scores})
    return {
        "overall": aggregate(scores),
        "per_kind": {kind: aggregate([s for s in scores if s.kind == kind]) for kind in kinds},
        "items": [asdict(s) for s in scores],
    }
