"""The facts PolicyQA relies on, as frozen dataclasses.

Offsets are always into `Document.text` (the cleaned text): for every chunk,
`document.text[chunk.start:chunk.end] == chunk.text`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["DocumentMeta", "Document", "Chunk", "Hit", "Citation", "Answer", "AnswerMode", "Turn"]

AnswerMode = Literal["extractive", "llm", "not_found"]


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """Metadata read off a report (None where the report does not say)."""

    publisher: str | None = None  # 来源, e.g. 苏州市科学技术局
    published: str | None = None  # 发布时间 as an ISO date, e.g. 2025-02-12
    year: int | None = None  # the year the report covers, e.g. 2024
    place: str | None = None  # city/province named in the title, e.g. 苏州
    format: str = "txt"  # txt, md, html, pdf, docx
    encoding: str | None = None  # detected text encoding, for text formats


@dataclass(frozen=True, slots=True)
class Document:
    """One report: cleaned text plus metadata. `doc_id` hashes the cleaned text."""

    doc_id: str
    title: str
    text: str
    source: str  # file name the report was loaded from
    meta: DocumentMeta = field(default_factory=DocumentMeta)


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples become lists)."""
        return asdict(self)
