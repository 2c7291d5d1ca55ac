"""Test doubles shared by the unit tests: a small document cut from the sample report, an
in-memory search backend, scripted chat models, and helpers to run LLM mode on them.

The fake model is a real LangChain `BaseChatModel` that records the messages it
received and streams a scripted reply in small pieces; everything after it
(marker parsing, citations, number guard, Assistant fallback) is the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from rag.answer.llm.stream import stream_llm_answer
from rag.index.filters import Filters
from rag.model.hashing import HashEmbedder
from rag.types import Answer, Chunk, Document, DocumentMeta, Hit, ReportCard, Turn


class CountingEmbedder:
    """HashEmbedder that records every text it embeds (to prove what was re-embedded) and, with
    `stop_at`, dies at that embed_passages call (a kill in the middle of an index run)."""

    def __init__(self, dim: int = 64, name: str | None = None, stop_at: int | None = None) -> None:
        self._inner = HashEmbedder(dim)
        self.name = name or self._inner.name
        self.dim = dim
        self.stop_at = stop_at
        self.calls = 0
        self.texts: list[str] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.stop_at is not None and self.calls >= self.stop_at:
            raise Interrupted(f"killed at call {self.calls}")
        self.texts.extend(texts)
        return self._inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._inner.embed_query(text)


class Interrupted(Exception):
    """What `CountingEmbedder(stop_at=n)` raises."""


SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt"
TITLE = "苏州市科技局2024年度法治政府建设情况报告"
PART_ONE = "一、主要负责人履行推进法治政府建设工作第一责任人职责情况"
PART_TWO = "二、推进法治建设工作的举措成效"


# --- fixtures: a small document cut from the sample report, a fake index, scripted models ----------------


def corpus(extra: str | None = None) -> tuple[Document, list[Chunk]]:
    """Three paragraphs of the sample report (plus `extra`) as a Document with exact chunks.

    Chunk offsets are recorded while the text is assembled, so
    `doc.text[c.start:c.end] == c.text` holds by construction.
    """
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()

    def line(prefix: str) -> str:
        return next(ln for ln in lines if ln.startswith(prefix)).strip()

    paragraphs: list[tuple[tuple[str, ...], str]] = [
        ((PART_ONE, "1.深入贯彻落实党的二十届三中全会精神"), line("1.深入贯彻")),
        ((PART_TWO, "5.积极推进“综合查一次”改革"), line("5.积极推进")),
        ((PART_TWO, "7.督促指导科技类校外培训机构准入审核及管理工作"), line("7.督促指导")),
    ]
    if extra is not None:
        paragraphs.append(((PART_TWO, "8.其他工作"), extra))
    text, chunks, doc_id = "", [], "suzhou2024test00"
    for section, body in paragraphs:
        if section[0] not in text:
            text += section[0] + "\n\n"
        start = len(text)
        text += body
        chunks.append(
            Chunk(f"{doc_id}-{len(chunks):04d}", doc_id, body, start, len(text), section, len(chunks))
        )
        text += "\n\n"
    meta = DocumentMeta(publisher="苏州市科学技术局", published="2025-02-12", year=2024, place="苏州")
    doc = Document(doc_id, TITLE, text.rstrip(), "suzhou-kjj-2024-fzzf.txt", meta)
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    return doc, chunks


def hits_of(chunks: list[Chunk], doc: Document) -> list[Hit]:
    return [Hit(c, 1.0 / (i + 1), i + 1, doc.title, doc.source) for i, c in enumerate(chunks)]


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


@dataclass
class FakeIndex:
    """A small in-memory search backend (`rag.index.protocol.SearchBackend`): keyword search
    ranks chunks by character-bigram overlap with the query, dense search finds nothing
    (no model), filters select documents."""

    documents: dict[str, Document]
    chunks: list[Chunk]
    queries: list[str] = None  # type: ignore[assignment]
    embedder: HashEmbedder = HashEmbedder(64)

    def __post_init__(self) -> None:
        self.queries = []

    def mask(self, filters: Filters) -> np.ndarray | None:
        if filters.doc_ids is None:
            return None
        return np.array([c.doc_id in filters.doc_ids for c in self.chunks])

    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)

    def keyword_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        self.queries.append(query)
        wanted = _bigrams(query)
        scored = [
            (len(wanted & _bigrams(c.text)), i)
            for i, c in enumerate(self.chunks)
            if allowed is None or allowed[i]
        ]
        ranked = sorted((t for t in scored if t[0] > 0), key=lambda t: (-t[0], t[1]))[:k]
        return np.array([i for _, i in ranked], np.int64), np.array([s for s, _ in ranked], np.float32)

    def catalog(self) -> tuple[ReportCard, ...]:
        return tuple(ReportCard.of(d) for d in self.documents.values())


def fake_index(extra: str | None = None) -> FakeIndex:
    doc, chunks = corpus(extra)
    return FakeIndex({doc.doc_id: doc}, chunks)


class ScriptedChatModel(BaseChatModel):
    """Streams scripted replies (one per call) in pieces of `piece` characters; records its inputs."""

    replies: list[str]
    piece: int = 3
    received: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next(self, messages: list[BaseMessage]) -> str:
        self.received.append(list(messages))
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._next(messages)))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        text = self._next(messages)
        for i in range(0, len(text), self.piece):
            yield ChatGenerationChunk(message=AIMessageChunk(content=text[i : i + self.piece]))


class BrokenChatModel(BaseChatModel):
    """Fails like a client whose server is down."""

    @property
    def _llm_type(self) -> str:
        return "broken"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        raise ConnectionRefusedError("[Errno 111] Connection refused")


def run(model: BaseChatModel, question: str, hits: list[Hit], doc: Document, history=()) -> tuple[list[str], Answer]:
    events = list(stream_llm_answer(model, question, hits, {doc.doc_id: doc}, history))
    assert isinstance(events[-1], Answer)
    deltas = events[:-1]
    assert all(isinstance(e, str) for e in deltas)
    return deltas, events[-1]


def assert_exact(answer: Answer, doc: Document) -> None:
    for c in answer.citations:
        assert doc.text[c.start : c.end] == c.quote
        chunk = next(h.chunk for h in answer.hits if h.chunk.chunk_id == c.chunk_id)
        assert chunk.start <= c.start < c.end <= chunk.end


# A first exchange that follow-up questions lean on.
HISTORY = [Turn("2024年检查了多少家企业？", "涉及企业11家[1];入库登记54家[2]。")]
