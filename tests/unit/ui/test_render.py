"""ui.render: the report's identity line on citation and hit cards and on the report page."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from rag.types import Answer, Chunk, Citation, Document, DocumentMeta, Hit
from ui.render import (
    NOT_FOUND_TITLE,
    identity_line,
    render_answer,
    render_citation_card,
    render_hit_card,
    render_report_page,
)

TEXT = "2026年江苏省政府工作报告\n\n一、目标\n\n今年经济社会发展主要预期目标是：地区生产总值按增长5%安排。"
QUOTE = "地区生产总值按增长5%安排"
JIANGSU = DocumentMeta(issuer="江苏省人民政府", level="省", place="江苏省", genre="政府工作报告", year=2026)


def _doc(meta: DocumentMeta, text: str = TEXT) -> Document:
    return Document("d1", "2026年江苏省政府工作报告", text, "2026年江苏省政府工作报告.txt", meta)


def _citation(doc: Document) -> Citation:
    start = doc.text.index(QUOTE)
    return Citation(1, "d1-0001", doc.doc_id, doc.title, doc.source, ("一、目标",), start, start + len(QUOTE), QUOTE)


def _hit(doc: Document) -> Hit:
    start = doc.text.index("今年")
    chunk = Chunk("d1-0001", doc.doc_id, doc.text[start:], start, len(doc.text), ("一、目标",), 1)
    return Hit(chunk, 1.0, 1, doc.title, doc.source)


def _identity_of(html: str) -> str | None:
    m = re.search(r'<div class="pq-identity">(.*?)</div>', html)
    return m.group(1) if m else None


@pytest.mark.parametrize(
    ("meta", "line"),
    [
        (JIANGSU, "江苏省人民政府 · 政府工作报告 · 2026年"),
        (DocumentMeta(issuer="国务院", level="国务院", genre="意见", year=2019), "国务院 · 意见 · 2019年"),
        (DocumentMeta(level="国务院", year=2022), "国务院 · 2022年"),  # national, issuer not read
        (DocumentMeta(place="苏州市", genre="法治政府建设报告"), "苏州市 · 法治政府建设报告"),
        (DocumentMeta(genre="通知"), "通知"),
        (DocumentMeta(year=2024), "2024年"),
        (DocumentMeta(publisher="新华日报"), ""),  # a newspaper is where it was printed, not who issued it
        (DocumentMeta(), ""),
    ],
)
def test_identity_line_leaves_out_what_the_report_does_not_say(meta: DocumentMeta, line: str) -> None:
    assert identity_line(meta) == line
    assert "None" not in identity_line(meta)


def test_citation_card_shows_the_identity_before_the_section() -> None:
    doc = _doc(JIANGSU)
    html = render_citation_card(_citation(doc), doc)
    assert _identity_of(html) == "江苏省人民政府 · 政府工作报告 · 2026年"
    assert html.index("pq-title") < html.index("pq-identity") < html.index("pq-section")
    assert f"<mark>{QUOTE}</mark>" in html


def test_hit_cards_of_a_not_found_answer_show_the_identity() -> None:
    doc = _doc(JIANGSU)
    answer = Answer("2026年江苏省的粮食产量目标？", "", (), (_hit(doc),), "not_found")
    html = render_answer(answer, {doc.doc_id: doc})
    assert 'class="pq-card pq-hit"' in html
    assert _identity_of(html) == "江苏省人民政府 · 政府工作报告 · 2026年"
    assert _identity_of(render_hit_card(_hit(doc), doc)) == _identity_of(html)


@pytest.mark.parametrize("meta", [DocumentMeta(), DocumentMeta(publisher=None, year=None, genre=None)])
def test_no_identity_line_and_no_none_when_nothing_is_known(meta: DocumentMeta) -> None:
    doc = _doc(meta)
    for html in (render_citation_card(_citation(doc), doc), render_hit_card(_hit(doc), doc)):
        assert "pq-identity" not in html and "None" not in html


def test_a_removed_report_has_no_identity_line() -> None:
    doc = _doc(JIANGSU)
    assert "pq-identity" not in render_citation_card(_citation(doc), None)
    assert "pq-identity" not in render_hit_card(_hit(doc), None)


def test_identity_is_escaped() -> None:
    meta = DocumentMeta(issuer='<img src=x onerror="alert(1)">', genre="<script>x</script>", year=2026)
    doc = _doc(meta)
    for html in (render_citation_card(_citation(doc), doc), render_hit_card(_hit(doc), doc), render_report_page(doc)):
        assert "<img" not in html and "<script>x" not in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; · &lt;script&gt;x&lt;/script&gt; · 2026年" in html


def test_report_page_heads_with_the_identity_and_doc_number() -> None:
    meta = DocumentMeta(issuer="国务院", level="国务院", genre="意见", year=2019, doc_number="国发〔2019〕5号")
    page = render_report_page(_doc(meta))
    assert '<div class="meta">国务院 · 意见 · 2019年 · 文号：国发〔2019〕5号 · 文件：' in page
    assert "None" not in render_report_page(_doc(DocumentMeta()))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("报告中未找到相关信息。以下是最接近的段落，仅供参考：", "报告中未找到相关信息。"),
        ("报告中未找到江苏省2024年统计公报。索引中没有与之相近的报告。以下是最接近的段落，仅供参考：",
         "报告中未找到江苏省2024年统计公报。索引中没有与之相近的报告。"),
        ("", NOT_FOUND_TITLE),
        ("<b>未找到</b>", "&lt;b&gt;未找到&lt;/b&gt;"),
    ],
)
def test_not_found_says_what_the_assistant_says_is_missing(text: str, shown: str) -> None:
    doc = _doc(JIANGSU)
    html = render_answer(Answer("2024年江苏省统计公报里GDP是多少？", text, (), (_hit(doc),), "not_found"), {})
    assert f'<div class="pq-not-found"><strong>{shown}</strong></div>' in html
    assert html.count("最接近的段落") == 1  # the cards' label only


def test_a_comparison_is_a_table_row_per_part_and_a_computation_is_shown_with_its_markers() -> None:
    from rag.types import AnswerPart, Calculation

    doc = _doc(JIANGSU)
    c1, c2 = _citation(doc), replace(_citation(doc), marker=2)
    parts = (
        AnswerPart("甲的目标？", "《甲》<b>", "地区生产总值按增长5%安排[1]", (1,), True),
        AnswerPart("乙的目标？", "乙", "报告中未找到", (), False),
    )
    calc = Calculation("difference", "5.5% − 5% = 约0.5个百分点", "约0.5个百分点", (1, 2))
    answer = Answer("…", "…按报告数字计算：5.5% − 5% = 约0.5个百分点[1][2]。", (c1, c2), (), "extractive", parts=parts, calculation=calc)
    html = render_answer(answer, {"d1": doc})
    rows = re.findall(r'<tr class="pq-part[^"]*"><th scope="row">(.*?)</th><td>(.*?)</td></tr>', html)
    assert rows == [("《甲》&lt;b&gt;", "地区生产总值按增长5%安排[1]"), ("乙", "报告中未找到")]
    assert "pq-part-missing" in html and '<div class="pq-text">' not in html  # the table replaces the text
    assert re.search(r'<div class="pq-calc">按报告数字计算：<strong>5.5% − 5% = 约0.5个百分点</strong>\[1\]\[2\]</div>', html)


def test_a_single_answers_computation_is_said_once() -> None:
    from rag.types import Calculation

    doc = _doc(JIANGSU)
    calc = Calculation("sum", "11 + 54 = 65家", "65家", (1, 2))
    answer = Answer("…", "涉及企业11家[1]；入库登记54家[2]。按报告数字计算：11 + 54 = 65家[1][2]。", (_citation(doc),), (), "extractive", calculation=calc)
    html = render_answer(answer, {"d1": doc})
    assert html.count("11 + 54 = 65家") == 1 and "涉及企业11家[1]" in html
