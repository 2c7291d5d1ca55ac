"""rag.extract: the same real report in every format gives the same text; bad files give clear errors."""

from __future__ import annotations

import codecs
import io
import random
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from rag.errors import LoadError
from rag.ingest.encoding import decode_text
from rag.ingest.extract import Extracted, extract, extract_bytes
from tests import docgen
from tests.conftest import SAMPLE

RAW = SAMPLE.read_text(encoding="utf-8")
TITLE, BODY = docgen.report_parts(RAW)
FIRST, LAST = "2024年,在市委市政府领导下", "推进科技领域“综合查一次”改革工作。"
PAGE_NOISE = (
    "脚本里的中文",
    "备案号",
    "苏ICP备",
    "您现在的位置",
    "首页",
    "分享到",
    "打印此页",
    "相关链接",
    "版权所有",
)

needs_font = pytest.mark.skipif(
    not docgen.CJK_FONT.exists(),
    reason=f"CJK font {docgen.CJK_FONT} missing: apt-get install fonts-wqy-microhei",
)


def squash(text: str) -> str:
    """Text without whitespace or Markdown heading marks, for format-independent comparison."""
    return re.sub(r"[\s#]", "", text)


def body(text: str) -> str:
    """The report body (first to last sentence), whitespace removed."""
    flat = squash(text)
    start, end = flat.index(squash(FIRST)), flat.index(squash(LAST)) + len(squash(LAST))
    return flat[start:end]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_well_formed(text: str) -> None:
    assert text == text.strip()
    assert "\n\n\n" not in text
    for line in text.split("\n\n"):
        assert line and "\n" not in line, repr(line[:40])
        assert line == line.strip(), repr(line[:40])


# ------------------------------------------------------------------ text files

ENCODINGS = {
    "utf-8": RAW.encode("utf-8"),
    "gb18030": RAW.encode("gb18030"),
    "utf-8-sig": codecs.BOM_UTF8 + RAW.encode("utf-8"),
    "utf-16-le": codecs.BOM_UTF16_LE + RAW.encode("utf-16-le"),  # with BOM
    "utf-16-be": RAW.encode("utf-16-be"),  # no BOM: found by its NUL pattern
    "utf-32-le": codecs.BOM_UTF32_LE + RAW.encode("utf-32-le"),
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_txt_in_any_encoding_gives_the_report(tmp_path: Path, encoding: str) -> None:
    got = extract(write(tmp_path, "report.txt", ENCODINGS[encoding]))
    assert got.format == "txt"
    assert got.encoding == encoding
    assert squash(got.text) == squash(RAW)
    assert_well_formed(got.text)
    # one paragraph per line of the original
    assert got.text.split("\n\n") == [line.strip() for line in RAW.splitlines() if line.strip()]


def test_utf16_le_without_bom_and_gbk_text_are_detected() -> None:
    text, encoding = decode_text(RAW.encode("utf-16-le"), "x.txt")
    assert (encoding, text) == ("utf-16-le", RAW)
    gbk = "一、总体情况\n镕基与喆的名字只在GBK里。\n".encode("gbk")  # 镕/喆 are outside GB2312
    assert decode_text(gbk, "x.txt") == ("一、总体情况\n镕基与喆的名字只在GBK里。\n", "gb18030")


def test_extract_bytes_matches_extract(tmp_path: Path) -> None:
    data = RAW.encode("gb18030")
    assert extract_bytes(data, "upload.TXT") == extract(write(tmp_path, "report.txt", data))


def test_text_suffix_and_crlf(tmp_path: Path) -> None:
    got = extract(write(tmp_path, "r.text", "一、总体\r\n\r\n  正文第一段。  \r\n正文第二段。\r\n".encode()))
    assert got.text == "一、总体\n\n正文第一段。\n\n正文第二段。"


# ------------------------------------------------------------------------ HTML


def test_gov_html_page_gives_the_body_without_page_furniture(tmp_path: Path) -> None:
    page = docgen.make_gov_html(TITLE, BODY, encoding="gbk", declared="gb2312")
    got = extract(write(tmp_path, "report.html", page))
    assert got.format == "html"
    assert got.encoding == "gb18030"  # declared gb2312, read with its superset
    assert got.title == TITLE
    assert got.published == "2025-02-12"
    assert body(got.text) == body(RAW)
    for noise in PAGE_NOISE:
        assert noise not in got.text, noise
    lines = got.text.split("\n\n")
    assert "一、主要负责人履行推进法治政府建设工作第一责任人职责情况" in lines
    assert lines[-2:] == ["苏州市科学技术局", "2025212"]
    assert_well_formed(got.text)


def test_html_utf8_without_declaration_and_br_paragraphs() -> None:
    page = (
        "<html><head><title>测试报告_某市人民政府</title></head><body>"
        "<div class='nav'><a href='/'>首页</a> <a href='/x'>政务公开</a></div>"
        "<div id='zoom'>一、总体情况<br>　　今年以来，各项工作稳步推进。<br><br>二、下一步打算<br>抓好落实。</div>"
        "<div class='footer'>版权所有：某市人民政府 备案号：苏ICP备1号</div></body></html>"
    )
    got = extract_bytes(page.encode("utf-8"), "p.htm")
    assert got.encoding == "utf-8"
    assert got.title == "测试报告"
    assert got.text == "一、总体情况\n\n今年以来，各项工作稳步推进。\n\n二、下一步打算\n\n抓好落实。"


def test_html_headings_get_hashes_unless_chinese_numbered() -> None:
    paragraphs = "".join(
        f"<p>第{i}段正文内容，用于保证正文足够长，内容不会被当作页面杂项。</p>" for i in range(6)
    )
    page = (
        "<html><head><meta charset='utf-8'><meta name='PubDate' content='2024/3/5 10:00'></head><body>"
        f"<article><h1>年度报告</h1><h2>一、总体情况</h2>{paragraphs}<h2>工作概述</h2>"
        f"<h3>（一）主要做法</h3><h3>具体措施</h3>{paragraphs}"
        "<table><tr><th>项目</th><th>金额</th></tr><tr><td>研发</td><td>10万元</td></tr></table>"
        "</article></body></html>"
    )
    got = extract_bytes(page.encode("utf-8"), "p.html")
    lines = got.text.split("\n\n")
    for expected in ("# 年度报告", "一、总体情况", "## 工作概述", "（一）主要做法", "### 具体措施"):
        assert expected in lines
    assert "项目 | 金额" in lines and "研发 | 10万元" in lines
    assert got.published == "2024-03-05"
    assert got.title == "年度报告"


def test_html_short_page_keeps_paragraphs_and_drops_furniture() -> None:
    page = docgen.make_gov_html(
        "短通知", ["一、总体情况", "现将有关情况报告如下:", "二、下一步打算", "抓好落实。"]
    )
    got = extract_bytes(page, "short.html")
    lines = got.text.split("\n\n")
    assert lines[-4:] == ["一、总体情况", "现将有关情况报告如下:", "二、下一步打算", "抓好落实。"]
    for noise in PAGE_NOISE:
        assert noise not in got.text, noise


def test_html_article_wrapper_with_a_furniture_like_id_is_kept() -> None:
    page = (
        docgen.make_gov_html(TITLE, BODY)
        .decode("gbk")
        .replace('<div class="TRS_Editor" id="zoom">', '<div id="print_content"><div class="TRS_Editor">')
        .replace('<div class="share">', '</div><div class="share">')
    )
    got = extract_bytes(page.encode("utf-8"), "wrapped.html")
    assert body(got.text) == body(RAW)


# -------------------------------------------------------------------- Markdown


def test_markdown_report_matches_and_keeps_headings() -> None:
    md = "\n\n".join(f"## {line}" if docgen.is_cn_heading(line) else line for line in BODY)
    got = extract_bytes(f"# {TITLE}\n\n{md}\n".encode(), "report.md")
    assert got.format == "md"
    assert got.title == TITLE
    assert body(got.text) == body(RAW)
    assert "## 一、主要负责人履行推进法治政府建设工作第一责任人职责情况" in got.text.split("\n\n")


def test_markdown_syntax_is_stripped() -> None:
    md = (
        "---\ntitle: 草稿\ndate: 2024-01-01\n---\n"
        "<!-- 内部备注，不要发布 -->\n"
        "# 年度报告\n\n"
        "##一、总体情况\n\n"
        "今年**重点**推进[数字政府](https://example.gov.cn/a)建设，"
        "完成`12345`热线整合，*按期*完成__全部__任务，\n"
        "这一行是同一段的续行\n\n"
        "![示意图](img/chart.png)\n\n"
        "- 第一项措施\n- 第二项措施\n\n"
        "| 项目 | 金额 |\n|---|---:|\n| 研发 | 10万元 |\n\n"
        "> 引用的文字\n\n"
        "二级标题\n--------\n\n"
        "file_name_here 保持原样，\\*星号\\* 也是。\n"
    )
    got = extract_bytes(md.encode(), "r.markdown")
    assert got.text.split("\n\n") == [
        "# 年度报告",
        "## 一、总体情况",
        "今年重点推进数字政府建设，完成12345热线整合，按期完成全部任务，这一行是同一段的续行",
        "第一项措施",
        "第二项措施",
        "项目 | 金额",
        "研发 | 10万元",
        "引用的文字",
        "## 二级标题",
        "file_name_here 保持原样，*星号* 也是。",
    ]


def test_markdown_one_paragraph_per_line_without_blank_lines_stays_split() -> None:
    md = "一、总体情况\n今年以来，工作稳步推进。\n二、下一步打算\n抓好落实。\n"
    got = extract_bytes(md.encode(), "r.md")
    assert got.text.split("\n\n") == [
        "一、总体情况",
        "今年以来，工作稳步推进。",
        "二、下一步打算",
        "抓好落实。",
    ]


# ------------------------------------------------------------------------ DOCX


def test_docx_report_matches_with_headings_and_metadata(tmp_path: Path) -> None:
    lines = [line.strip() for line in RAW.splitlines() if line.strip()]
    data = docgen.make_docx(lines, title=TITLE, created=datetime(2025, 2, 12, 14, 34))
    got = extract(write(tmp_path, "report.docx", data))
    assert got.format == "docx" and got.encoding is None
    assert got.title == TITLE
    assert got.published == "2025-02-12"
    assert squash(got.text) == squash(RAW)
    assert got.text.split("\n\n") == lines  # '一、' headings carry no '#'
    assert_well_formed(got.text)


def test_docx_heading_styles_and_tables() -> None:
    import docx

    document = docx.Document()
    document.add_heading("年度工作报告", 0)
    document.add_heading("工作概述", 2)
    document.add_heading("一、总体情况", 1)
    document.add_paragraph("正文第一段。")
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, [["项目", "金额", ""], ["研发", "10万元", "已完成"]], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("表后段落。")
    out = io.BytesIO()
    document.save(out)
    got = extract_bytes(out.getvalue(), "t.docx")
    assert got.text.split("\n\n") == [
        "# 年度工作报告",
        "## 工作概述",
        "一、总体情况",
        "正文第一段。",
        "项目 | 金额",
        "研发 | 10万元 | 已完成",
        "表后段落。",
    ]
    assert got.title == "年度工作报告"  # no core title: the Title paragraph
    assert got.published is None  # python-docx's template date is not a publication date


# ------------------------------------------------------------------------- PDF


@needs_font
def test_pdf_report_matches_without_page_furniture(tmp_path: Path) -> None:
    data = docgen.make_pdf(BODY, title=TITLE, metadata={"/CreationDate": "D:20250212143440+08'00'"})
    got = extract(write(tmp_path, "report.pdf", data))
    assert got.format == "pdf"
    assert got.title == TITLE
    assert got.published == "2025-02-12"
    # The CJK font has no braille glyphs (web-scrape debris in the sample): compare without them.
    no_braille = re.compile(r"[\u2800-\u28ff]")
    assert no_braille.sub("", body(got.text)) == no_braille.sub("", body(RAW))
    lines = got.text.split("\n\n")
    assert "苏州市科学技术局文件" not in got.text  # running header
    assert not any(re.fullmatch(r"-\s*\d+\s*-", line) for line in lines)  # page numbers
    # wrapped lines are joined without spaces; headings and paragraph starts stay separate
    assert BODY[0] in lines
    assert "一、主要负责人履行推进法治政府建设工作第一责任人职责情况" in lines
    assert "三、问题和不足" in lines
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", got.text)
    assert len(lines) < 2 * len(BODY)  # paragraphs, not printed lines
    assert_well_formed(got.text)


@needs_font
def test_pdf_with_empty_user_password_opens_and_with_password_is_refused() -> None:
    paragraphs = ["一、总体情况", "今年以来，各项工作稳步推进。"]
    opened = extract_bytes(docgen.make_pdf(paragraphs, user_password=""), "open.pdf")
    assert "今年以来，各项工作稳步推进。" in opened.text
    with pytest.raises(LoadError, match="password"):
        extract_bytes(docgen.make_pdf(paragraphs, user_password="secret"), "locked.pdf")


def test_scanned_pdf_says_ocr_is_not_supported(tmp_path: Path) -> None:
    path = write(tmp_path, "scan.pdf", docgen.make_scanned_pdf(pages=2))
    with pytest.raises(LoadError, match="OCR is not supported") as err:
        extract(path)
    assert err.value.path == str(path)


@needs_font
@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_pdf_is_corrupt(tmp_path: Path, cut: float) -> None:
    data = docgen.make_pdf(BODY[:5], title=TITLE)
    path = write(tmp_path, "cut.pdf", data[: int(len(data) * cut)])
    with pytest.raises(LoadError, match="corrupt or unreadable PDF") as err:
        extract(path)
    assert "cut.pdf" in str(err.value)


def test_pdf_that_is_not_a_pdf(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="not a PDF file"):
        extract(write(tmp_path, "page.pdf", b"<html><body>not a pdf</body></html>"))


# --------------------------------------------------------------- bad inputs


def test_truncated_docx_is_corrupt(tmp_path: Path) -> None:
    data = docgen.make_docx(BODY[:5])
    path = write(tmp_path, "cut.docx", data[: len(data) // 2])
    with pytest.raises(LoadError, match="corrupt or truncated DOCX") as err:
        extract(path)
    assert str(path) in str(err.value)


def test_zip_bomb_disguised_as_docx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/image1.bin", "w", force_zip64=True) as member:
            chunk = bytes(2**20)
            for _ in range(300):  # 300 MB of zeros, about 0.3 MB packed
                member.write(chunk)
    with pytest.raises(LoadError, match="suspicious compressed file") as err:
        extract(path)
    assert "bomb.docx" in str(err.value) and "300 MB" in str(err.value)


def test_zip_that_is_not_a_word_document() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(LoadError, match="not a Word document"):
        extract_bytes(out.getvalue(), "sheet.docx")


@pytest.mark.parametrize("name", ["empty.txt", "empty.html", "empty.md", "empty.pdf", "empty.docx"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, b"")
    with pytest.raises(LoadError, match="file is empty") as err:
        extract(path)
    assert err.value.path == str(path) and name in str(err.value)


@pytest.mark.parametrize(
    "data",
    [b" \n\t\r\n", "\u3000\u3000\n".encode(), codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")],
    ids=["ascii-space", "ideographic-space", "utf16-space"],
)
def test_whitespace_only_file_is_empty(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(LoadError, match="file is empty"):
        extract(write(tmp_path, "blank.txt", data))


def test_markdown_with_only_markup_is_empty() -> None:
    with pytest.raises(LoadError, match="file is empty"):
        extract_bytes(b"![logo](logo.png)\n\n<!-- nothing -->\n", "x.md")


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "PNG image"),
        (random.Random(7).randbytes(4096), "binary file, not text"),
        ("一、总体情况\n正文".encode() + b"\x00\x00\x00\x01\x02" + "更多正文".encode(), "NUL bytes"),
        (bytes(range(1, 9)) * 40 + "正文".encode(), "control characters"),
    ],
    ids=["png", "random", "nul", "controls"],
)
def test_binary_file_renamed_txt(tmp_path: Path, data: bytes, why: str) -> None:
    path = write(tmp_path, "notes.txt", data)
    with pytest.raises(LoadError, match="binary file, not text") as err:
        extract(path)
    assert why in str(err.value) and "notes.txt" in str(err.value)


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "report.xyz", b"text")
    with pytest.raises(LoadError, match=r"unsupported file type '\.xyz'; supported: \.txt, .*\.docx") as err:
        extract(path)
    assert "report.xyz" in str(err.value)
    with pytest.raises(LoadError, match=r"unsupported file type \(no extension\)"):
        extract_bytes(b"text", "README")


def test_oversize_file(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", RAW.encode())  # 13.2 KB
    with pytest.raises(LoadError, match=r"file is 13\.2 KB; the limit is 10 KB") as err:
        extract(path, max_bytes=10 * 1024)
    assert "big.txt" in str(err.value)
    with pytest.raises(LoadError, match=r"file is 52\.4 MB; the limit is 20 MB"):
        extract_bytes(b" " * int(52.4 * 2**20), "huge.pdf")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="file not found"):
        extract(tmp_path / "nope.txt")
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(LoadError, match="not a regular file"):
        extract(folder)


def test_extraction_only_reads(tmp_path: Path) -> None:
    files = {
        "a.txt": RAW.encode("gb18030"),
        "b.html": docgen.make_gov_html(TITLE, BODY),
        "c.docx": docgen.make_docx(BODY),
        "d.md": RAW.encode(),
    }
    if docgen.CJK_FONT.exists():
        files["e.pdf"] = docgen.make_pdf(BODY[:6])
    for name, data in files.items():
        write(tmp_path, name, data)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    results = [extract(tmp_path / name) for name in files]
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before
    assert all(isinstance(r, Extracted) and r.text for r in results)
