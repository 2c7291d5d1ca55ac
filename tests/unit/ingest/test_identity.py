"""Report identity read off real reports of each genre (files under evals/real/corpus) and small texts."""

from __future__ import annotations

import pytest

from rag.ingest.identity import read_identity
from rag.ingest.load import load_document
from rag.types import Document
from tests.conftest import ROOT, SAMPLE

REAL = ROOT / "evals" / "real" / "corpus"


def load(relative: str) -> Document:
    return load_document(REAL / relative)


def quoted(doc: Document, name: str) -> str:
    span = doc.meta.span_of(name)
    assert span is not None, f"no span for {name}"
    return doc.text[span.start : span.end]


def test_national_work_report_with_its_delivery_header() -> None:
    doc = load("national/gov-work-report-2022.txt")
    m = doc.meta
    assert (m.genre, m.issuer, m.level, m.place) == ("政府工作报告", "国务院", "国务院", None)
    assert (m.year, m.reports_on, m.issued, m.delivered) == (2022, 2021, 2022, "2022-03-05")
    assert (m.meeting, m.speaker, m.speaker_role) == ("第十三届全国人民代表大会第五次会议", "李克强", "国务院总理")
    assert doc.title == "2022年国务院政府工作报告"  # the page's title line was only "政府工作报告"
    assert quoted(doc, "meeting") == m.meeting and quoted(doc, "speaker") == "李克强"


def test_national_work_report_without_a_header_is_dated_by_its_review() -> None:
    doc = load("national/gov-work-report-2010.txt")  # starts at 各位代表; reviews 2009
    assert doc.title == "2010年国务院政府工作报告" and doc.title != doc.source
    assert (doc.meta.year, doc.meta.reports_on, doc.meta.issued) == (2010, 2009, 2010)


def test_national_report_reviewing_five_years_is_dated_by_the_year_it_mentions_most() -> None:
    doc = load("national/gov-work-report-2013.txt")  # 一、过去五年工作回顾 … 二、今年…
    assert (doc.meta.year, doc.meta.reports_on) == (2013, 2012)


def test_provincial_docx_report_with_an_acting_chairman() -> None:
    doc = load("provincial-2025/2025年西藏政府工作报告.docx")
    m = doc.meta
    assert (m.place, m.issuer, m.level) == ("西藏自治区", "西藏自治区人民政府", "省")  # 西藏 in the title, in full
    assert (m.speaker, m.delivered) == ("嘎玛泽登", "2025-01-19") and "代理主席" in (m.speaker_role or "")
    assert m.meeting == "西藏自治区第十二届人民代表大会第三次会议"


def test_provincial_web_text_with_page_chrome_and_a_date_in_chinese_numerals() -> None:
    doc = load("provincial-2026/2026年甘肃省政府工作报告.txt")
    m = doc.meta
    assert (m.delivered, m.meeting) == ("2026-01-27", "甘肃省十四届人民代表大会第四次会议")
    assert quoted(doc, "delivered") == "二〇二六年一月二十七日"
    assert not doc.text.startswith(("下载", "打印"))  # the site's tool bar is gone


def test_speaker_written_before_the_role_or_representing_the_government() -> None:
    shanghai = load("provincial-2025/2025年上海市政府工作报告.docx")  # ----2025年1月15日龚正市长在…
    assert (shanghai.meta.speaker, shanghai.meta.delivered) == ("龚正", "2025-01-15")
    xinjiang = load("provincial-2026/2026年新疆维吾尔自治区政府工作报告.txt")
    assert xinjiang.meta.speaker == "艾尔肯·吐尼亚孜"


def test_department_annual_report_on_the_rule_of_law() -> None:
    m = load_document(SAMPLE).meta
    assert (m.genre, m.issuer, m.level, m.place) == ("法治政府建设报告", "苏州市科学技术局", "部门", "苏州市")
    assert (m.year, m.reports_on, m.issued) == (2024, 2024, 2025)


def test_state_council_opinion_page_with_its_metadata_table() -> None:
    doc = load("policies/1-joint-random-inspection.html")
    m = doc.meta
    assert (m.genre, m.issuer, m.level, m.place) == ("意见", "国务院", "国务院", None)
    assert (m.doc_number, m.delivered, m.year) == ("国发〔2019〕5号", "2019-01-27", 2019)
    assert quoted(doc, "doc_number") == "国发〔2019〕5号" and quoted(doc, "delivered") == "2019年01月27日"
    assert "成文日期" in doc.text  # the table stays in the text: answers cite it


def test_regulation_takes_effect_on_its_date() -> None:
    m = load("policies/58-patent-agency-regulations.html").meta
    assert (m.genre, m.doc_number, m.effective) == ("条例", "国令第706号", "2019-03-01")


def test_general_office_notice_is_a_state_council_document() -> None:
    m = load("policies/8-drug-centralized-procurement.html").meta
    assert (m.issuer, m.level, m.genre) == ("国务院办公厅", "国务院", "通知")


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("太仓市2025年政府工作报告", "——2025年1月6日在太仓市第十七届人民代表大会第五次会议上\n\n市长 汪香元\n\n各位代表:\n\n现在,我代表市人民政府向大会报告工作",
         ("太仓市", "太仓市人民政府", "市", "汪香元")),
        ("吴江区2024年度法治政府建设情况报告", "来源:苏州市吴江区司法局\n\n一、主要举措", ("吴江区", "苏州市吴江区司法局", "部门", None)),
        ("南通市科技创新券管理办法", "第一条 为了…\n\n第三十条 本办法自2024年3月1日起施行。", ("南通市", None, None, None)),
    ],
)  # fmt: skip
def test_small_texts(title: str, text: str, expected: tuple) -> None:
    i = read_identity(text, title, publisher="苏州市吴江区司法局" if "吴江" in title else None)
    assert (i.place, i.issuer, i.level, i.speaker) == expected


def test_effective_date_of_a_measure() -> None:
    i = read_identity("第一条 为了…\n\n第三十条 本办法自2024年3月1日起施行。", "南通市科技创新券管理办法")
    assert (i.genre, i.effective) == ("办法", "2024-03-01")
