"""Extractive answers over keyword-retrieved hits of the sample report (no model needed)."""

import json
import re

import pytest

from rag.answer.extractive import NOT_FOUND, compose_extractive
from rag.index.folder.bm25 import KeywordIndex
from rag.ingest.chunk import chunk_document
from rag.ingest.load import load_bytes, load_document
from rag.types import Hit
from tests.conftest import DEV_GOLD, SAMPLE


@pytest.fixture(scope="module")
def sample():
    doc = load_document(SAMPLE)
    chunks = chunk_document(doc)
    return doc, chunks, KeywordIndex.build([c.text for c in chunks])


def _answer(sample, question, k=8):
    doc, chunks, keyword = sample
    positions, scores = keyword.search(question, k)
    hits = [
        Hit(chunks[p], float(s), rank, doc.title, doc.source)
        for rank, (p, s) in enumerate(zip(positions.tolist(), scores.tolist(), strict=True), start=1)
    ]
    return compose_extractive(question, hits, {doc.doc_id: doc})


def test_two_facts_for_one_count_question_each_cited(sample):
    answer = _answer(sample, "2024年检查了多少家企业？")
    assert answer.mode == "extractive"
    assert "11" in answer.text and "54" in answer.text
    quotes = [c.quote for c in answer.citations]
    assert any("涉及企业11家" in q for q in quotes) and any("入库登记54家" in q for q in quotes)
    assert "[1]" in answer.text and "[2]" in answer.text


def test_citation_offsets_are_exact(sample):
    doc = sample[0]
    for question in ("2024年检查了多少家企业？", "市委第一巡察组什么时候进驻市科技局？", "2025年有哪些工作打算？"):
        for c in _answer(sample, question).citations:
            assert doc.text[c.start : c.end] == c.quote


def test_answer_is_cut_to_the_answering_clause(sample):
    answer = _answer(sample, "有多少家科技类校外培训机构已通过审批准入？")
    assert "35" in answer.text
    assert len(answer.citations[0].quote) < 40


def test_section_question_lists_the_section_points(sample):
    answer = _answer(sample, "2025年有哪些工作打算？")
    assert answer.text.count("·") == 4
    assert all(c.section[0] == "四、2025年工作打算" for c in answer.citations)


def test_unanswerable_question_is_not_found(sample):
    answer = _answer(sample, "苏州市2024年的GDP是多少？")
    assert answer.mode == "not_found"
    assert answer.text.startswith(NOT_FOUND)
    assert not answer.citations and answer.hits


def test_no_hits_is_not_found(sample):
    assert compose_extractive("2024年检查了多少家企业？", [], {}).mode == "not_found"


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def test_no_answer_has_a_number_absent_from_its_citations(sample):
    """Property over every dev question: numbers come only from what the citations show
    (the quote, its section heading and report title)."""
    for line in DEV_GOLD.read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["question"]
        answer = _answer(sample, question)
        quoted = " ".join(c.quote + "".join(c.section) + c.title for c in answer.citations)
        text = re.sub(r"\[\d+\]", "", answer.text)
        for number in _NUMBER.findall(text):
            assert number in quoted, (question, number, answer.text)


def test_a_question_naming_no_report_shows_other_reports_answers():
    """Two years of the same bureau's report: both counts are shown, each with its report."""
    from tests.conftest import ROOT

    docs = [load_document(SAMPLE), load_document(ROOT / "tests/data/distractors/suzhou-kjj-2023-fzzf.txt")]
    chunks = [c for d in docs for c in chunk_document(d)]
    keyword = KeywordIndex.build([c.text for c in chunks])
    by_id = {d.doc_id: d for d in docs}
    positions, scores = keyword.search("市科技局现有行政权力事项共几项？", 8)
    hits = [
        Hit(chunks[p], float(s), rank, by_id[chunks[p].doc_id].title, by_id[chunks[p].doc_id].source)
        for rank, (p, s) in enumerate(zip(positions.tolist(), scores.tolist(), strict=True), start=1)
    ]
    answer = compose_extractive("市科技局现有行政权力事项共几项？", hits, by_id)
    assert {c.doc_id for c in answer.citations} == set(by_id)
    assert "6项" in answer.text and "7项" in answer.text
    assert "其他报告也有相关记录" in answer.text
    for c in answer.citations:
        assert by_id[c.doc_id].text[c.start : c.end] == c.quote


WUJIANG = """吴江区水务局2024年工作总结和2025年工作思路

一、2024年工作总结
2024年，区水务局完成河道整治工程12项，新建幸福河湖10条。

二、存在的不足
水利工程管理水平有待提升。

三、2025年工作思路
2025年，区水务局将围绕以下重点开展工作。
一是全力保障防汛安全。加固堤防8公里。
二是持续改善水环境质量。新建幸福河湖15条。
三是深化水务改革。推进水利工程标准化管理。
"""
WUZHONG = """苏州市吴中区2024年法治政府建设年度报告

一、主要工作
全区推进依法行政，办理行政复议案件120件。

四、2025年工作打算
(一)高质量完成法治政府建设收官任务。
(二)持续提升行政执法质效。
(三)深化法治宣传教育。
"""


def test_a_section_answer_stays_with_the_report_the_question_is_about():
    """Another report's heading may match the question's words better (工作打算 vs 工作思路); when that
    report is retrieved clearly worse, the answer still lists the first report's section."""
    asked, other = (load_bytes(text.encode(), name) for text, name in ((WUJIANG, "wj.txt"), (WUZHONG, "wz.txt")))
    chunks = {doc.doc_id: chunk_document(doc) for doc in (asked, other)}
    plan = [c for c in chunks[asked.doc_id] if "工作思路" in "".join(c.section)]
    their_plan = [c for c in chunks[other.doc_id] if "工作打算" in "".join(c.section)]
    hits = [
        Hit(plan[0], 2.0, 1, asked.title, asked.source),
        Hit(their_plan[0], 1.2, 2, other.title, other.source),
    ]
    answer = compose_extractive("吴江区水务局2025年打算做哪些工作？", hits, {d.doc_id: d for d in (asked, other)})
    assert "防汛" in answer.text and "法治宣传" not in answer.text, answer.text
    assert {c.doc_id for c in answer.citations} == {asked.doc_id}
    # reports retrieved about as well still compete on their headings
    close = [hits[0], Hit(their_plan[0], 1.9, 2, other.title, other.source)]
    assert "法治宣传" in compose_extractive("2025年打算做哪些工作？", close, {d.doc_id: d for d in (asked, other)}).text


def test_markdown_heading_markers_are_not_quoted():
    report = "# 吴中区2024年法治政府建设年度报告\n\n## 四、2025年工作打算\n\n### (一)完成收官任务\n\n推进各项工作。\n\n### (二)提升执法质效\n\n规范执法。\n"
    doc = load_bytes(report.encode(), "wz.md")
    chunks = chunk_document(doc)
    hits = [Hit(c, 1.0 / i, i, doc.title, doc.source) for i, c in enumerate(chunks, start=1)]
    answer = compose_extractive("2025年有哪些工作打算？", hits, {doc.doc_id: doc})
    assert "完成收官任务" in answer.text and "#" not in answer.text, answer.text
    assert all(doc.text[c.start : c.end] == c.quote and not c.quote.startswith("#") for c in answer.citations)
