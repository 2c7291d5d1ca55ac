"""HTML for answers, citation cards and the full-report view.

Pure functions from our types to HTML strings. Every piece of report or user
text goes through `html.escape` here, and markup is built only from our own
literals: a report containing `<script>` shows the characters, never runs them.
Markdown is not involved either — the chat page shows these fragments as one
HTML block (no blank lines inside), so `*`, `_` and `#` in a report stay literal.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from rag.answer.arithmetic import CALCULATION_LEAD
from rag.answer.extractive import CLOSEST_PASSAGES
from rag.types import Answer, Citation, Document, DocumentMeta, Hit

__all__ = [
    "NOT_FOUND_TITLE",
    "CLOSEST_LABEL",
    "SECTION_SEP",
    "IDENTITY_SEP",
    "escape",
    "identity_line",
    "paragraph_around",
    "report_href",
    "render_text",
    "render_citation_card",
    "render_hit_card",
    "not_found_message",
    "render_answer",
    "render_error",
    "render_report_page",
    "render_missing_report_page",
]

NOT_FOUND_TITLE = "报告中未找到相关信息"
CLOSEST_LABEL = "最接近的段落（仅供参考）"
SECTION_SEP = " › "
IDENTITY_SEP = " · "
# Context shown around a quote, each side, when its paragraph is long.
CONTEXT_CHARS = 90


def escape(text: str) -> str:
    """HTML-escape text, quotes included (safe in element content and attribute values).

    >>> escape('<img src=x onerror="a()">')
    '&lt;img src=x onerror=&quot;a()&quot;&gt;'
    """
    return html.escape(text, quote=True)


def identity_line(meta: DocumentMeta) -> str:
    """Who issued the report, what it is and its year, as far as the report says ("" when it says none).

    Who: the issuer, else the place it governs, else 国务院 for a State Council document.
    >>> identity_line(DocumentMeta(issuer="江苏省人民政府", genre="政府工作报告", year=2026))
    '江苏省人民政府 · 政府工作报告 · 2026年'
    >>> identity_line(DocumentMeta(place="江苏省", year=2025)), identity_line(DocumentMeta())
    ('江苏省 · 2025年', '')
    """
    who = meta.issuer or meta.place or ("国务院" if meta.level == "国务院" else None)
    year = f"{meta.year}年" if meta.year is not None else None
    return IDENTITY_SEP.join(part for part in (who, meta.genre, year) if part)


def render_text(text: str) -> str:
    """Escaped text with line breaks as <br>, never a raw newline (the message stays one HTML block).

    >>> render_text("一、情况\\n\\n<b>甲</b>")
    '一、情况<br>&lt;b&gt;甲&lt;/b&gt;'
    """
    return "<br>".join(escape(line.strip()) for line in text.splitlines() if line.strip())


def paragraph_around(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> tuple[str, str, str]:
    """(before, quote, after) for the paragraph holding text[start:end].

    Paragraphs are separated by blank lines; a long paragraph is cut to
    `context` characters either side, with an ellipsis.
    >>> paragraph_around("甲。\\n\\n乙丙丁。\\n\\n戊。", 5, 6)
    ('乙', '丙', '丁。')
    """
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    left = text.rfind("\n\n", 0, start)
    left = 0 if left < 0 else left + 2
    right = text.find("\n\n", end)
    right = len(text) if right < 0 else right
    before, after = text[left:start], text[end:right]
    if len(before) > context:
        before = "…" + before[-context:]
    if len(after) > context:
        after = after[:context] + "…"
    return before.lstrip(), text[start:end], after.rstrip()


def report_href(doc_id: str, start: int, end: int) -> str:
    """Link to the full report with [start, end) highlighted and scrolled into view.

    Relative, so the page works behind a proxy that serves it under a sub-path.
    >>> report_href("ab12", 10, 20)
    'report/ab12?start=10&end=20#c-10'
    """
    return f"report/{quote(doc_id, safe='')}?start={int(start)}&end={int(end)}#c-{int(start)}"


def _section(section: Sequence[str]) -> str:
    return escape(SECTION_SEP.join(section)) if section else "（导语）"


def _identity(document: Document | None) -> str:
    """The card's identity line, or nothing when the report is gone or states no identity."""
    line = identity_line(document.meta) if document is not None else ""
    return f'<div class="pq-identity">{escape(line)}</div>' if line else ""


def _card(
    marker: str,
    title: str,
    document: Document | None,
    section: Sequence[str],
    before: str,
    quote_: str,
    after: str,
    href: str,
) -> str:
    return (
        '<div class="pq-card">'
        f'<div class="pq-card-head"><span class="pq-marker">{marker}</span>'
        f'<span class="pq-title">{escape(title)}</span></div>'
        f"{_identity(document)}"
        f'<div class="pq-section">{_section(section)}</div>'
        f'<div class="pq-context">{render_text(before)}<mark>{render_text(quote_)}</mark>{render_text(after)}</div>'
        f'<a class="pq-open" href="{escape(href)}" target="_blank" rel="noopener noreferrer">查看原文 ↗</a>'
        "</div>"
    )


def render_citation_card(citation: Citation, document: Document | None) -> str:
    """A numbered card: title, the report's identity line, section path, the quote highlighted
    inside its paragraph, a link."""
    if document is not None and document.text[citation.start : citation.end] == citation.quote:
        before, quote_, after = paragraph_around(document.text, citation.start, citation.end)
    else:  # report removed since, or offsets from another version: show the quote alone
        before, quote_, after = "", citation.quote, ""
    href = report_href(citation.doc_id, citation.start, citation.end)
    return _card(f"[{citation.marker}]", citation.title, document, citation.section, before, quote_, after, href)


def render_hit_card(hit: Hit, document: Document | None = None) -> str:
    """A passage offered as context (not evidence): the chunk text, no highlight inside."""
    chunk = hit.chunk
    text = chunk.text
    if chunk.section and text.startswith(chunk.section[-1]):  # the heading is on the card already
        text = text[len(chunk.section[-1]) :].lstrip()
    if len(text) > 2 * CONTEXT_CHARS:
        text = text[: 2 * CONTEXT_CHARS] + "…"
    href = report_href(chunk.doc_id, chunk.start, chunk.end)
    return (
        '<div class="pq-card pq-hit">'
        f'<div class="pq-card-head"><span class="pq-marker">{hit.rank}</span>'
        f'<span class="pq-title">{escape(hit.title)}</span></div>'
        f"{_identity(document)}"
        f'<div class="pq-section">{_section(chunk.section)}</div>'
        f'<div class="pq-context">{render_text(text)}</div>'
        f'<a class="pq-open" href="{escape(href)}" target="_blank" rel="noopener noreferrer">查看原文 ↗</a>'
        "</div>"
    )


def not_found_message(text: str) -> str:
    """What a not-found answer says, without its lead-in to the closest passages (shown as cards).

    The assistant may say what is missing ("报告中未找到江苏省2024年统计公报。"); the default says only
    that nothing was found.
    >>> not_found_message("报告中未找到江苏省2024年统计公报。以下是最接近的段落，仅供参考：")
    '报告中未找到江苏省2024年统计公报。'
    >>> not_found_message("")
    '报告中未找到相关信息'
    """
    message = text.split(CLOSEST_PASSAGES, 1)[0].strip()  # the cards below say it with CLOSEST_LABEL
    return message or NOT_FOUND_TITLE


def render_answer(answer: Answer, documents: Mapping[str, Document], max_hits: int = 3) -> str:
    """The whole assistant message: notice, answer text, then citation cards (or closest passages)."""
    parts = ['<div class="pq-answer">']
    if answer.notice:
        parts.append(f'<div class="pq-notice">⚠ {escape(answer.notice)}</div>')
    if answer.mode == "not_found":
        parts.append(f'<div class="pq-not-found"><strong>{render_text(not_found_message(answer.text))}</strong></div>')
        hits = answer.hits[:max_hits]
        if hits:
            parts.append(f'<div class="pq-cards-label">{CLOSEST_LABEL}</div><div class="pq-cards">')
            parts.extend(render_hit_card(h, documents.get(h.chunk.doc_id)) for h in hits)
            parts.append("</div>")
    else:
        if len(answer.parts) > 1:
            parts.append(render_parts_table(answer))
        else:
            said = answer.text.split(CALCULATION_LEAD)[0] if answer.calculation is not None else answer.text
            parts.append(f'<div class="pq-text">{render_text(said.rstrip("；"))}</div>')
        if answer.calculation is not None:
            parts.append(render_calculation(answer))
        if answer.citations:
            parts.append('<div class="pq-cards-label">出处</div><div class="pq-cards">')
            parts.extend(render_citation_card(c, documents.get(c.doc_id)) for c in answer.citations)
            parts.append("</div>")
    if answer.rewritten_query:
        parts.append(f'<div class="pq-rewritten">检索用语：{escape(answer.rewritten_query)}</div>')
    parts.append("</div>")
    return "".join(parts)


def render_parts_table(answer: Answer) -> str:
    """A question of several parts (a comparison of reports) as a table: what each part is about,
    its answer with its [n] markers (a part nothing answers says so)."""
    rows = "".join(
        f'<tr class="pq-part{"" if p.found else " pq-part-missing"}"><th scope="row">{escape(p.label)}</th>'
        f"<td>{render_text(p.text)}</td></tr>"
        for p in answer.parts
    )
    return f'<table class="pq-parts"><thead><tr><th>对象</th><th>回答</th></tr></thead><tbody>{rows}</tbody></table>'


def render_calculation(answer: Answer) -> str:
    """The figure computed from cited ones, with the markers of its operands' citations."""
    calc = answer.calculation
    assert calc is not None
    markers = "".join(f"[{m}]" for m in calc.markers)
    return f'<div class="pq-calc">{CALCULATION_LEAD}<strong>{escape(calc.expression)}</strong>{markers}</div>'


def render_error(message: str) -> str:
    return f'<div class="pq-answer"><div class="pq-error">⚠ {escape(message)}</div></div>'


_PAGE_STYLE = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;
max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.8;color:#1f2328;background:#fff}
h1{font-size:1.4rem;line-height:1.4}.meta{color:#59636e;font-size:.9rem;margin-bottom:1.5rem}
.text{white-space:pre-wrap;word-break:break-word}
mark{background:#ffe58f;padding:.1em 0;scroll-margin-top:30vh;outline:2px solid #fadb14}
"""


def render_report_page(document: Document, start: int | None = None, end: int | None = None) -> str:
    """The full report as an HTML page; [start, end) wrapped in <mark id="c-{start}">.

    Offsets outside the text are ignored (the page still shows the report).
    """
    text = document.text
    valid = start is not None and end is not None and 0 <= start < end <= len(text)
    if valid:
        assert start is not None and end is not None
        body = f'{escape(text[:start])}<mark id="c-{start}">{escape(text[start:end])}</mark>{escape(text[end:])}'
    else:
        body = escape(text)
    meta = [
        escape(identity_line(document.meta)),
        f"文号：{escape(document.meta.doc_number)}" if document.meta.doc_number else "",
        f"来源：{escape(document.meta.publisher)}" if document.meta.publisher else "",
        f"发布时间：{escape(document.meta.published)}" if document.meta.published else "",
        f"文件：{escape(document.source)}",
    ]
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(document.title)}</title><style>{_PAGE_STYLE}</style></head><body>"
        f"<h1>{escape(document.title)}</h1>"
        f'<div class="meta">{" · ".join(m for m in meta if m)}</div>'
        f'<div class="text">{body}</div></body></html>'
    )


def render_missing_report_page(doc_id: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>未找到报告</title>'
        f"<style>{_PAGE_STYLE}</style></head><body><h1>未找到报告</h1>"
        f"<p>索引中没有编号为 <code>{escape(doc_id)}</code> 的报告，可能已被删除或重建。</p></body></html>"
    )
