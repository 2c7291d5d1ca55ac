"""The facts PolicyQA relies on, as frozen dataclasses.

Offsets are always into `Document.text` (the cleaned text): for every chunk,
`document.text[chunk.start:chunk.end] == chunk.text`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["DocumentMeta", "Document", "ReportCard", "Chunk", "Hit", "Citation", "Answer", "AnswerMode", "AnswerPart", "Calculation", "Turn", "Level", "FactSpan"]

AnswerMode = Literal["extractive", "llm", "not_found"]
# Who issued a report: the State Council (and its General Office), a province (or a provincial-level
# city or region), a city, a district or county, or a department of any of them.
Level = Literal["国务院", "省", "市", "区县", "部门"]


@dataclass(frozen=True, slots=True)
class FactSpan:
    """Where a fact of the report's identity stands in its text: `document.text[start:end]`."""

    name: str  # the DocumentMeta field it supports, e.g. "meeting", "speaker", "doc_number"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """The report's identity, read off its own header lines and structure (None where it does not say).

    `year` is the year in the report's name (2025年政府工作报告 → 2025, 2024年度法治政府建设情况报告
    → 2024, an 意见 issued in 2019 → 2019); `reports_on` the year it reviews (2024 for both reports);
    `issued` the year it was delivered or issued (2025 for both).
    """

    publisher: str | None = None  # 来源 as the page says, e.g. 苏州市科学技术局, 新华日报
    published: str | None = None  # 发布时间 as an ISO date, e.g. 2025-02-12
    year: int | None = None
    place: str | None = None  # the place the issuer governs, e.g. 江苏省, 苏州市; None for national documents
    format: str = "txt"  # txt, md, html, pdf, docx
    encoding: str | None = None  # detected text encoding, for text formats
    issuer: str | None = None  # 国务院, 国务院办公厅, 江苏省人民政府, 苏州市科学技术局
    level: Level | None = None
    genre: str | None = None  # 政府工作报告, 法治政府建设报告, 意见, 通知, 办法, 条例, 方案, 规划, 统计公报…
    reports_on: int | None = None
    issued: int | None = None
    delivered: str | None = None  # ISO date the report was delivered / the document was signed (成文日期)
    meeting: str | None = None  # e.g. 第十四届全国人民代表大会第三次会议
    speaker: str | None = None  # who delivered it, e.g. 李克强
    speaker_role: str | None = None  # e.g. 国务院总理, 省长, 代理主席
    doc_number: str | None = None  # 发文字号, e.g. 国发〔2019〕5号
    effective: str | None = None  # ISO date it takes effect (施行)
    spans: tuple[FactSpan, ...] = ()  # where the facts above stand in the text

    def span_of(self, name: str) -> FactSpan | None:
        """Where the fact `name` stands in the text, or None."""
        return next((s for s in self.spans if s.name == name), None)


@dataclass(frozen=True, slots=True)
class Document:
    """One report: cleaned text plus metadata. `doc_id` hashes the cleaned text."""

    doc_id: str
    title: str
    text: str
    source: str  # file name the report was loaded from
    meta: DocumentMeta = field(default_factory=DocumentMeta)


@dataclass(frozen=True, slots=True)
class ReportCard:
    """A report without its text: what scope resolution, filters and listings read."""

    doc_id: str
    title: str
    source: str
    meta: DocumentMeta

    @classmethod
    def of(cls, doc: Document) -> ReportCard:
        return cls(doc.doc_id, doc.title, doc.source, doc.meta)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of one document, cut inside one section."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    section: tuple[str, ...]  # heading path, outermost first
    ordinal: int  # position of the chunk within its document


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its ranking score; rank starts at 1.

    `score` is the fused dense + keyword score after the year/place preferences and the
    per-report diversification of `rag.retrieve` (hits are sorted by it); the raw parts
    are `dense_score` and `keyword_score`.
    """

    chunk: Chunk
    score: float
    rank: int
    title: str
    source: str
    dense_score: float | None = None  # cosine similarity, when dense search found it
    keyword_score: float | None = None  # BM25 score, when keyword search found it

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, flat: rank, scores, where the chunk is, and its text."""
        return {
            "rank": self.rank,
            "score": self.score,
            "dense_score": self.dense_score,
            "keyword_score": self.keyword_score,
            "chunk_id": self.chunk.chunk_id,
            "doc_id": self.chunk.doc_id,
            "title": self.title,
            "source": self.source,
            "section": list(self.chunk.section),
            "start": self.chunk.start,
            "end": self.chunk.end,
            "text": self.chunk.text,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """Evidence for an answer: the quoted sentence(s) and where they sit."""

    marker: int  # shown as [marker]
    chunk_id: str
    doc_id: str
    title: str
    source: str
    section: tuple[str, ...]
    start: int  # offsets of `quote` in the document text
    end: int
    quote: str


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class AnswerPart:
    """One part of a question that asks several things (a report each of a comparison, an item
    each of "X和Y分别…"), as answered: the rows of a comparison table."""

    question: str  # the part's own wording
    label: str  # what it is about: a report's title, a place, an item
    text: str  # its answer, with the combined answer's [n] markers
    markers: tuple[int, ...]  # the citations it rests on
    found: bool


@dataclass(frozen=True, slots=True)
class Calculation:
    """A figure the answer computes from cited ones (a sum, a difference, a change stated by its ends)."""

    operation: str  # "sum" | "difference" | "change"
    expression: str  # "11 + 54 = 65家"
    result: str  # "65家"
    markers: tuple[int, ...]  # the citations holding the operands


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer to one question: text with [n] markers, the citations behind them,
    the passages retrieved, and how it was made (extractive, llm, not_found)."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    mode: AnswerMode
    notice: str | None = None  # e.g. "LLM unreachable, extractive answer shown"
    rewritten_query: str | None = None  # the query actually searched, for follow-ups
    parts: tuple[AnswerPart, ...] = ()  # a question of several parts, each answered (empty: one part)
    calculation: Calculation | None = None  # a figure computed from the cited ones, shown in `text` too

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples become lists)."""
        return asdict(self)
