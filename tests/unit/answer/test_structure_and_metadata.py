"""Answers read off a report's structure and header, over a report written here (not a gold
question's): a numbered part's title, an announced list whose points run over several chunks,
the points of an enumeration, and the report's own delivery date, meeting, speaker and 文号,
each cited with the report's own offsets."""

from __future__ import annotations

import pytest

from rag.answer.extractive import compose_extractive
from rag.index.folder.bm25 import KeywordIndex
from rag.ingest.chunk import chunk_document
from rag.ingest.load import load_bytes
from rag.types import Answer, Document, Hit

FILLER = "各级政府坚持稳中求进工作总基调，统筹发展和安全，扎实推进各项工作，取得了新的进展。" * 6

REPORT = f"""政府工作报告
——2026年1月20日在某某省第十四届人民代表大会第四次会议上
某某省省长　王某某

各位代表：

现在，我代表省人民政府，向大会报告工作，请予审议。

一、2025年工作回顾

{FILLER}
全年完成造林面积120万亩，新建乡村公路3600公里。

二、2026年主要目标和任务

今年工作要着力把握好三个方面。

一是坚持创新驱动。{FILLER}

二是坚持绿色转型。{FILLER}

三是坚持改革开放。{FILLER}

三、加强政府自身建设

持续优化营商环境，主要做法：一是深化“一网通办”，二是推进“综合查一次”，三是规范涉企检查。
"""


@pytest.fixture(scope="module")
def report() -> tuple[Document, list, KeywordIndex]:
    doc = load_bytes(REPORT.encode("utf-8"), "某某省2026年政府工作报告.txt")
    chunks = chunk_document(doc)
    return doc, chunks, KeywordIndex.build([c.text for c in chunks])


def ask(report: tuple[Document, list, KeywordIndex], question: str) -> Answer:
    doc, chunks, keyword = report
    positions, scores = keyword.search(question, 8)
    hits = [
        Hit(chunks[p], float(s), rank, doc.title, doc.source)
        for rank, (p, s) in enumerate(zip(positions.tolist(), scores.tolist(), strict=True), start=1)
    ]
    answer = compose_extractive(question, hits, {doc.doc_id: doc})
    for c in answer.citations:
        assert c.end > c.start and doc.text[c.start : c.end] == c.quote  # real offsets, never 0/0
    return answer


def test_the_chunks_split_the_announced_points(report) -> None:
    doc, chunks, _ = report
    assert len({c.chunk_id for c in chunks if "坚持" in c.text}) >= 2  # the list spans chunks


def test_a_numbered_parts_title(report) -> None:
    answer = ask(report, "第二部分的标题是什么？")
    assert "2026年主要目标和任务" in answer.text and answer.citations[0].quote.startswith("二、")


def test_an_announced_list_gives_each_point_cited_across_chunks(report) -> None:
    answer = ask(report, "今年工作要把握好哪三个方面？")
    quotes = [c.quote for c in answer.citations]
    for point in ("坚持创新驱动", "坚持绿色转型", "坚持改革开放"):
        assert point in answer.text and sum(point in q for q in quotes) == 1  # each point cited once
    assert len({c.chunk_id for c in answer.citations}) >= 2


def test_an_enumerations_points_are_all_given(report) -> None:
    answer = ask(report, "优化营商环境有哪些主要做法？")
    assert all(p in answer.text for p in ("一网通办", "综合查一次", "规范涉企检查"))


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("这份报告是哪天作的？", "2026年1月20日"),
        ("报告是在哪次会议上作的？", "第十四届人民代表大会第四次会议"),
        ("报告是谁作的？", "王某某"),
    ],
)
def test_questions_about_the_report_quote_its_header(report, question: str, fact: str) -> None:
    answer = ask(report, question)
    assert fact in answer.text and any(fact in c.quote for c in answer.citations)
