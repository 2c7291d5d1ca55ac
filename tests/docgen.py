"""Build test documents (gov-style HTML, DOCX, PDF) from a report's paragraphs.

Every generator returns bytes and writes nothing, so tests decide where (and
whether) a file lands. The sample report is real; the page furniture around it
(navigation, breadcrumbs, footer, running headers) imitates what Chinese
government sites and Word/PDF exports put around a report, so loaders can be
tested against the noise they meet in practice.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

__all__ = [
    "CJK_FONT",
    "SAMPLE_REPORT",
    "is_cn_heading",
    "make_docx",
    "make_gov_html",
    "make_pdf",
    "make_scanned_pdf",
    "report_parts",
    "sample_text",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_REPORT = REPO_ROOT / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt"
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

_CN_HEADING = re.compile(r"^[一二三四五六七八九十]+、")


def sample_text() -> str:
    """The real sample report, as stored (UTF-8)."""
    return SAMPLE_REPORT.read_text(encoding="utf-8")


def is_cn_heading(paragraph: str) -> bool:
    """True for top-level Chinese section headings such as '一、主要…'."""
    return bool(_CN_HEADING.match(paragraph))


def report_parts(text: str) -> tuple[str, list[str]]:
    """Split the web-scraped sample into (title, body paragraphs).

    The sample was copied from a web page, so its first lines are the page's
    breadcrumbs and info line and its last line is the print/close links; a
    page or document generated from it puts those back in their own places.
    """
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    title = next(p for p in paragraphs if p.endswith("报告"))
    start = next(i for i, p in enumerate(paragraphs) if p.startswith("来源")) + 1
    end = next(i for i, p in enumerate(paragraphs) if p.startswith("打印此页"))
    return title, paragraphs[start:end]


# --------------------------------------------------------------------- HTML


def make_gov_html(
    title: str,
    paragraphs: Sequence[str],
    *,
    encoding: str = "gbk",
    declared: str | None = "gb2312",
    published: str = "2025-02-12 14:34",
    publisher: str = "苏州市科学技术局",
) -> bytes:
    """A government article page: nav bar, breadcrumbs, sidebar, share/print links, footer.

    Body paragraphs go in <p>; '一、' headings in <p><strong>, as such sites do.
    Characters the encoding lacks become numeric character references, which
    is what CMSs emit. `declared=None` leaves out the meta charset.
    """
    esc = html.escape
    body = "\n".join(
        f'<p style="text-indent:2em;"><strong>{esc(p)}</strong></p>'
        if is_cn_heading(p)
        else f'<p style="text-indent:2em;">{esc(p)}</p>'
        for p in paragraphs
    )
    charset = f'<meta http-equiv="Content-Type" content="text/html; charset={declared}">' if declared else ""
    page = f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html>
<head>
{charset}
<title>{esc(title)}_{esc(publisher)}</title>
<meta name="SiteName" content="{esc(publisher)}">
<meta name="ArticleTitle" content="{esc(title)}">
<meta name="PubDate" content="{esc(published)}">
<meta name="ContentSource" content="{esc(publisher)}">
<style type="text/css">.nav li {{ float:left; }} .footer {{ color:#666; }}</style>
<script type="text/javascript">
var siteNotice = "脚本里的中文不应出现在正文中";
function addHits() {{ document.getElementById("hits").innerHTML = "337"; }}
</script>
</head>
<body onload="addHits()">
<div class="header">
  <div class="logo"><img src="/images/logo.png" alt="{esc(publisher)}"></div>
  <div class="search"><form action="/search"><input type="text" name="q" value="请输入关键字"><input type="submit" value="搜索"></form></div>
</div>
<div class="nav">
  <ul>
    <li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li><li><a href="/kjdt/">科技动态</a></li>
    <li><a href="/zcfg/">政策法规</a></li><li><a href="/bsfw/">办事服务</a></li><li><a href="/hdjl/">互动交流</a></li>
  </ul>
</div>
<div class="main">
  <div class="position">您现在的位置: <a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="/zwgk/gggs/">公告公示</a></div>
  <div class="sidebar">
    <h3>相关链接</h3>
    <ul>
      <li><a href="/a1.html">关于开展2025年度科技计划项目申报工作的通知</a></li>
      <li><a href="/a2.html">市科技局召开全市科技工作会议部署年度重点任务</a></li>
      <li><a href="/a3.html">苏州市科技创新促进条例全文及解读材料汇编</a></li>
    </ul>
  </div>
  <div class="article">
    <h1 class="title">{esc(title)}</h1>
    <div class="info">来源:{esc(publisher)} 发布时间:{esc(published)}:40 浏览量:<span id="hits"></span> 字体:<a href="#">大</a> <a href="#">中</a> <a href="#">小</a></div>
    <div class="TRS_Editor" id="zoom">
{body}
    </div>
    <div class="share">分享到:<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
    <div class="print"><a href="javascript:window.print()">打印此页</a> <a href="javascript:window.close()">关闭窗口</a></div>
  </div>
</div>
<div class="footer">
  <p>主办单位:{esc(publisher)} 版权所有 地址:苏州市三香路998号</p>
  <p>备案号:<a href="https://beian.miit.gov.cn/">苏ICP备05010541号</a> 网站标识码:3205000019 苏公网安备 32050802010552号</p>
</div>
</body>
</html>
"""
    return page.encode(encoding, errors="xmlcharrefreplace")


# --------------------------------------------------------------------- DOCX


def make_docx(
    paragraphs: Sequence[str],
    *,
    title: str | None = None,
    table: Sequence[Sequence[str]] | None = None,
    created: datetime | None = None,
) -> bytes:
    """A Word document: '一、' lines as Heading 1, other lines as body paragraphs.

    `title` sets the core property only (the body is exactly `paragraphs`);
    `table` is appended after the paragraphs, one row per inner sequence.
    """
    import docx  # python-docx, imported here so importing docgen stays cheap

    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    if created is not None:
        document.core_properties.created = created
    for p in paragraphs:
        if is_cn_heading(p):
            document.add_heading(p, level=1)
        else:
            document.add_paragraph(p)
    if table:
        grid = document.add_table(rows=len(table), cols=max(len(r) for r in table))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=False):
                cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------- PDF


def make_pdf(
    paragraphs: Sequence[str],
    *,
    title: str | None = None,
    running_header: str | None = "苏州市科学技术局文件",
    page_numbers: bool = True,
    font: Path = CJK_FONT,
    metadata: dict[str, str] | None = None,
    user_password: str | None = None,
) -> bytes:
    """A PDF as Word exports it: first-line indents, a running header, '- N -' page numbers.

    `title` is rendered as a large centred first line and stored as metadata.
    `metadata` entries (e.g. {"/CreationDate": "D:20250212143440+08'00'"})
    and `user_password` (RC4, no extra dependency) are applied with pypdf.
    Needs the CJK TrueType font at `font` (fonts-wqy-microhei).
    """
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("WQY", str(font), subfontIndex=0))
    body_style = ParagraphStyle(
        "body", fontName="WQY", fontSize=12, leading=20, firstLineIndent=24, spaceAfter=6, wordWrap="CJK"
    )
    heading_style = ParagraphStyle(
        "heading", parent=body_style, fontSize=14, leading=22, spaceBefore=8, spaceAfter=8, firstLineIndent=0
    )
    title_style = ParagraphStyle(
        "title",
        parent=body_style,
        fontSize=18,
        leading=28,
        alignment=TA_CENTER,
        spaceAfter=18,
        firstLineIndent=0,
    )

    def decorate(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("WQY", 9)
        if running_header:
            canvas.drawCentredString(A4[0] / 2, A4[1] - 40, running_header)
        if page_numbers:
            canvas.drawCentredString(A4[0] / 2, 30, f"- {doc.page} -")
        canvas.restoreState()

    story = []
    if title:
        story.append(Paragraph(html.escape(title), title_style))
    for p in paragraphs:
        style = heading_style if is_cn_heading(p) else body_style
        story.append(Paragraph(html.escape(p), style))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=title or "", author="", invariant=1).build(
        story, onFirstPage=decorate, onLaterPages=decorate
    )
    data = out.getvalue()
    if metadata is None and user_password is None:
        return data

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    if metadata:
        writer.add_metadata(metadata)
    if user_password is not None:
        writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_scanned_pdf(pages: int = 2) -> bytes:
    """A PDF whose pages hold only drawings, like a scan: no text layer at all."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    for _ in range(pages):
        canvas.rect(72, 72, A4[0] - 144, A4[1] - 144, fill=1)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
