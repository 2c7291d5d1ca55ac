"""The JSON the HTTP API returns, as Pydantic models for the OpenAPI schema (/docs, /openapi.json).

The endpoints return plain dicts built from `rag.types` (`Answer.to_dict`, `Hit.to_dict`) plus the
report identity; these models document that shape and are not applied to responses.
tests/unit/ui/test_api.py checks that every documented field is in the live JSON and vice versa.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

from rag.types import AnswerMode, Level

__all__ = ["LEVELS", "ReportIdentity", "CitationOut", "ChunkOut", "AnswerHitOut", "AskResponse", "SearchHitOut",
           "DocumentOut"]

LEVELS: tuple[str, ...] = get_args(Level)


class ReportIdentity(BaseModel):
    """Who issued a report, what it is, for which place and year; null where the report does not say."""

    issuer: str | None = Field(description="e.g. 国务院, 江苏省人民政府, 苏州市科学技术局")
    level: Level | None = Field(description="国务院, 省, 市, 区县 or 部门")
    place: str | None = Field(description="full name of the place the issuer governs (江苏省); null for national documents")
    genre: str | None = Field(description="政府工作报告, 法治政府建设报告, 意见, 通知, 条例, 办法, 方案, 规划, 统计公报…")
    year: int | None = Field(description="the year in the report's name (2024年度法治政府建设情况报告 → 2024)")
    reports_on: int | None = Field(description="the year the report reviews")
    issued: int | None = Field(description="the year it was delivered or issued")
    delivered: str | None = Field(description="ISO date it was delivered or signed (成文日期)")
    meeting: str | None = Field(description="e.g. 第十四届全国人民代表大会第三次会议")
    speaker: str | None = Field(description="who delivered it, e.g. 李克强")
    speaker_role: str | None = Field(description="e.g. 国务院总理, 省长")
    doc_number: str | None = Field(description="发文字号 (文号), e.g. 国发〔2019〕5号")
    effective: str | None = Field(description="ISO date it takes effect (施行)")


_REPORT = Field(description="the identity of the cited report (null if it is no longer indexed)")


class CitationOut(BaseModel):
    """One piece of evidence: the quoted sentence(s), where they sit, and whose report it is."""

    marker: int = Field(description="shown as [marker] in the answer text")
    chunk_id: str
    doc_id: str
    title: str
    source: str = Field(description="the file the report was loaded from")
    section: list[str] = Field(description="heading path, outermost first")
    start: int = Field(description="offset of the quote in the report text")
    end: int
    quote: str
    report: ReportIdentity | None = _REPORT


class ChunkOut(BaseModel):
    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    section: list[str]
    ordinal: int


class AnswerHitOut(BaseModel):
    """A passage retrieved for the answer."""

    chunk: ChunkOut
    score: float
    rank: int
    title: str
    source: str
    dense_score: float | None
    keyword_score: float | None
    report: ReportIdentity | None = _REPORT


class AnswerPartOut(BaseModel):
    """One part of a question of several parts: a row of a comparison."""

    question: str = Field(description="the part's own wording")
    label: str = Field(description="what it is about: a report, a place, an item")
    text: str = Field(description="its answer, with the markers of the whole answer's citations")
    markers: list[int] = Field(description="the citations it rests on")
    found: bool


class CalculationOut(BaseModel):
    """A figure computed from cited figures."""

    operation: Literal["sum", "difference", "change"]
    expression: str = Field(description="the computation worked out, e.g. 11 + 54 = 65家")
    result: str
    markers: list[int] = Field(description="the citations holding the operands")


class AskResponse(BaseModel):
    """`POST /api/ask`: the answer, its citations, the passages behind it, each with its report's identity."""

    question: str
    text: str = Field(description="the answer, each fact followed by its [n] marker")
    citations: list[CitationOut]
    hits: list[AnswerHitOut]
    mode: AnswerMode
    notice: str | None = Field(description="e.g. the LLM was unreachable and the extractive answer is shown")
    rewritten_query: str | None = Field(description="the query actually searched, for follow-ups")
    parts: list[AnswerPartOut] = Field(description="a question of several parts (a comparison of reports), each answered; empty for one")
    calculation: CalculationOut | None = Field(description="a figure computed from cited ones (11 + 54 = 65家), also in `text`")


class SearchHitOut(BaseModel):
    """`GET /api/search`: one passage, flat, with its report's identity."""

    rank: int
    score: float
    dense_score: float | None
    keyword_score: float | None
    chunk_id: str
    doc_id: str
    title: str
    source: str
    section: list[str]
    start: int
    end: int
    text: str
    report: ReportIdentity | None = _REPORT


class DocumentOut(ReportIdentity):
    """`GET /api/documents`: one indexed report, its identity and its size."""

    doc_id: str
    title: str
    source: str
    publisher: str | None = Field(description="来源 as the page says (may be a newspaper)")
    published: str | None = Field(description="发布时间, ISO date")
    chunks: int
