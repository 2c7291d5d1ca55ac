"""PDF with a text layer: lines from pypdf's text visitor with their positions, page
numbers and running headers dropped, wrapped lines joined into paragraphs by layout.

Scanned (image-only) and password-protected PDFs are refused with the reason.
"""

from __future__ import annotations

import io
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ...errors import LoadError
from ...text.markers import STRONG_LINE_MARKER
from .common import EDGE_SPACE, Extracted, glue, join_paragraphs, squash

__all__ = ["extract_pdf"]

_PAGE_NUMBER = re.compile(
    r"""^(?:
        [-—–－~\s]*\d{1,4}[-—–－~\s]*                        # 3, - 3 -, —3—
      | 第\s*\d{1,4}\s*页(?:\s*[,，、/]?\s*共\s*\d{1,4}\s*页)?  # 第 3 页, 第3页 共10页
      | 共\s*\d{1,4}\s*页\s*第\s*\d{1,4}\s*页
      | \d{1,4}\s*/\s*\d{1,4}                              # 3/10
      | (?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?    # Page 3 of 10
    )$""",
    re.X | re.I,
)
_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])[ \t]+(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])"
)
_PDF_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class _PdfLine:
    text: str
    x: float  # start of the line, page space
    y: float  # baseline
    size: float  # effective font size
    page: int


def extract_pdf(data: bytes, name: str) -> Extracted:
    if b"%PDF-" not in data[:1024]:
        raise LoadError(name, f"not a PDF file: no '%PDF-' header (it starts with {data[:16]!r})")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs only restrict editing: empty user password
            except DependencyError as exc:
                raise LoadError(name, f"PDF is encrypted with AES and cannot be opened here ({exc})") from exc
            if not opened:
                raise LoadError(
                    name, "PDF is password-protected; open it with its password and save an unprotected copy"
                )
        pages = [_pdf_page_lines(page, number) for number, page in enumerate(reader.pages)]
        title, published = _pdf_metadata(reader)
    except LoadError:
        raise
    except FileNotDecryptedError as exc:
        raise LoadError(name, f"PDF is password-protected: {exc}") from exc
    except Exception as exc:  # pypdf raises many types on malformed files; all mean "corrupt"
        raise LoadError(name, f"corrupt or unreadable PDF: {type(exc).__name__}: {exc}") from exc
    if not any(line.text.strip() for lines in pages for line in lines):
        raise LoadError(
            name,
            f"PDF has no extractable text ({len(pages)} page(s), probably scanned images); "
            "OCR is not supported: supply a text PDF, DOCX or TXT version",
        )
    lines = _drop_running_lines(pages)
    out = join_paragraphs(_pdf_paragraphs(lines))
    if not out:
        raise LoadError(name, "PDF has no text besides page numbers and running headers")
    return Extracted(text=out, format="pdf", encoding=None, title=title, published=published)


def _pdf_metadata(reader) -> tuple[str | None, str | None]:
    meta = reader.metadata
    if meta is None:
        return None, None
    title = squash(str(meta.title or "")) or None
    if title:
        # Word's PDF printer names the document after the file.
        title = re.sub(r"^Microsoft Word\s*-\s*", "", title)
        title = re.sub(r"\.(?:docx?|wps|pdf)$", "", title, flags=re.I).strip() or None
    published = None
    try:
        created = meta.creation_date
    except Exception:  # a malformed date string must not make the whole PDF unreadable
        created = None
    if isinstance(created, datetime):
        published = created.date().isoformat()
    return title, published


def _pdf_page_lines(page, number: int) -> list[_PdfLine]:
    """Lines of one page with their position, from pypdf's text visitor.

    pypdf reports each text run with the text matrix of the line it belongs to
    and ends a line with '\n'; a jump in y also ends one.
    """
    lines: list[_PdfLine] = []
    parts: list[str] = []
    sizes: Counter = Counter()  # characters per font size in the open line
    start: tuple[float, float, float] | None = None  # x, y, size of the open line

    def close() -> None:
        nonlocal start
        if start is not None:
            text = _PDF_CONTROLS.sub("", "".join(parts))  # unmapped glyphs come out as NUL
            text = _CJK_GAP.sub("", text).strip(EDGE_SPACE)  # spacing artefacts between CJK glyphs
            if text:
                # The line's size is that of most of its characters: generators often
                # set the font after emitting an indent or a stray run.
                size = sizes.most_common(1)[0][0] if sizes else start[2]
                lines.append(_PdfLine(text, start[0], start[1], size, number))
        parts.clear()
        sizes.clear()
        start = None

    def visit(text: str, cm, tm, _font, font_size) -> None:
        nonlocal start
        if not text:
            return
        # Position and size in page space: the text matrix times the CTM.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        a, b = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3]
        size = float(font_size or 1.0) * ((a * a + b * b) ** 0.5 or 1.0)
        for i, part in enumerate(text.split("\n")):
            if i > 0:
                close()
            if not part:
                continue
            if start is not None and abs(start[1] - y) > 0.6 * max(size, start[2]):
                close()
            if start is None:
                start = (x, y, size)
            parts.append(part)
            sizes[round(size, 1)] += len(part.strip())

    page.extract_text(visitor_text=visit)
    close()
    return lines


def _drop_running_lines(pages: Sequence[list[_PdfLine]]) -> list[_PdfLine]:
    """Remove page numbers and running headers/footers.

    Candidates are the two top-most and two bottom-most lines of each page
    (by position, not content order: many generators draw the footer first).
    A candidate goes if it looks like a page number, or if its text (digits
    ignored) is a candidate on at least two pages and 40% of them.
    """

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))

    edges: list[set[int]] = []
    for lines in pages:
        order = sorted(range(len(lines)), key=lambda i: lines[i].y)
        edges.append(set(order[:2]) | set(order[-2:]))
    seen = Counter(
        k for lines, idx in zip(pages, edges, strict=True) for k in {key(lines[i].text) for i in idx}
    )
    repeated = {k for k, n in seen.items() if n >= 2 and n >= 0.4 * len(pages)}
    kept: list[_PdfLine] = []
    for lines, idx in zip(pages, edges, strict=True):
        for i, line in enumerate(lines):
            if i in idx and (_PAGE_NUMBER.match(line.text) or key(line.text) in repeated):
                continue
            kept.append(line)
    return kept


def _est_width(text: str, size: float) -> float:
    """Rough printed width: wide and ambiguous characters (CJK fonts print “” full width) one em, others half."""
    return size * sum(1.0 if unicodedata.east_asian_width(c) in "WFA" else 0.5 for c in text)


def _pdf_margins(body: Sequence[_PdfLine]) -> dict[int, tuple[float, float]]:
    """Left edge and (estimated) right edge of the text, per page (-1: the whole document).

    Per page because printed documents mirror their margins on odd and even
    pages; pages with few lines use the document-wide values.
    """

    def edges(lines: Sequence[_PdfLine]) -> tuple[float, float]:
        ends = sorted(line.x + _est_width(line.text, line.size) for line in lines)
        return min(line.x for line in lines), ends[int(0.75 * (len(ends) - 1))]

    by_page: dict[int, list[_PdfLine]] = {}
    for line in body:
        by_page.setdefault(line.page, []).append(line)
    margins = {page: edges(lines) for page, lines in by_page.items() if len(lines) >= 5}
    margins[-1] = edges(body)
    return margins


def _pdf_paragraphs(lines: Sequence[_PdfLine]) -> list[str]:
    """Join wrapped lines into paragraphs.

    A line starts a new paragraph when it starts with a heading marker
    (一、 （一） 第X章), the font size
    changes, the vertical gap is clearly larger than the usual line pitch, it is
    indented past the left margin, or the previous line stops well short of the
    right margin.
    """
    if not lines:
        return []
    body_size = statistics.median(line.size for line in lines)
    body = [line for line in lines if abs(line.size - body_size) < 0.5] or list(lines)
    margins = _pdf_margins(body)
    pitches = [
        round(a.y - b.y, 1)
        for a, b in zip(lines, lines[1:], strict=False)
        if a.page == b.page and abs(a.size - b.size) < 0.5 and 0 < a.y - b.y < 3 * a.size
    ]
    pitch = statistics.median(pitches) if pitches else body_size * 1.5

    paragraphs: list[str] = []
    prev: _PdfLine | None = None
    for line in lines:
        if prev is None:
            paragraphs.append(line.text)
        else:
            # Layout decides here: a line can end with 。 or start with 二是 by chance.
            new = (
                bool(STRONG_LINE_MARKER.match(line.text))
                or abs(line.size - prev.size) >= 0.5
                or (
                    line.page == prev.page
                    and (prev.y - line.y > 1.2 * pitch or line.y > prev.y + 0.5 * pitch)
                )
                or line.x > margins.get(line.page, margins[-1])[0] + 0.9 * line.size
                or prev.x + _est_width(prev.text, prev.size)
                < margins.get(prev.page, margins[-1])[1] - 2 * prev.size
            )
            if new:
                paragraphs.append(line.text)
            else:
                paragraphs[-1] = glue(paragraphs[-1], line.text)
        prev = line
    return paragraphs
