"""What every format reader shares: the `Extracted` result and paragraph layout rules.

Headings that a format marks (HTML <h1>-<h6>, DOCX heading styles, Markdown '#')
become their own paragraph; unless the heading already starts with a Chinese
numbering marker (一、 （一） 1. 第X章 …) it gets Markdown '#'s by level, so the
section parser sees it either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ...text.markers import LINE_MARKER

__all__ = [
    "Format",
    "Extracted",
    "EDGE_SPACE",
    "heading_line",
    "breaks_before",
    "glue",
    "join_paragraphs",
    "cjk_count",
    "squash",
    "human_size",
]

Format = Literal["txt", "md", "html", "pdf", "docx"]
EDGE_SPACE = " \t\r\n\f\v\u3000\xa0\u200b\ufeff"
# A line ending like this ends its paragraph. A closing quote only counts after
# sentence-final punctuation: '“苏科创十八条”' at a line end is mid-sentence.
_ENDS_PARAGRAPH = re.compile(r"(?:[。！？；：!?;:…]|[。！？!?…][”’」』）)])$")


@dataclass(frozen=True, slots=True)
class Extracted:
    """Text of one report file, before cleaning.

    `text` has one paragraph per line, paragraphs separated by a blank line and
    no trailing spaces. `encoding` is the detected encoding of text formats
    (None for PDF/DOCX). `title` and `published` (ISO date) are what the file's
    own metadata says (<title>/<h1>/meta tags, DOCX core properties, PDF info),
    or None.
    """

    text: str
    format: Format
    encoding: str | None = None
    title: str | None = None
    published: str | None = None


def heading_line(text: str, level: int) -> str:
    """A heading as its own paragraph: '#'s by level unless Chinese numbering already marks it.

    >>> heading_line("总体情况", 2), heading_line("一、总体情况", 2)
    ('## 总体情况', '一、总体情况')
    """
    text = text.strip(EDGE_SPACE)
    if not text or LINE_MARKER.match(text):
        return text
    return "#" * max(1, min(level, 6)) + " " + text


def breaks_before(prev: str, nxt: str) -> bool:
    """Whether `nxt` starts a new paragraph after the wrapped line `prev`, by text alone."""
    return bool(_ENDS_PARAGRAPH.search(prev) or LINE_MARKER.match(nxt))


def glue(a: str, b: str) -> str:
    """Join a wrapped line to the next: no space between CJK, one between Latin words.

    >>> glue("中国特", "色社会主义"), glue("open", "source")
    ('中国特色社会主义', 'open source')
    """
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return f"{a} {b}"
    return a + b


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    """One paragraph per line, blank lines between, edges stripped, empty lines dropped."""
    lines: list[str] = []
    for paragraph in paragraphs:
        for line in paragraph.splitlines():
            line = line.strip(EDGE_SPACE)
            if line:
                lines.append(line)
    return "\n\n".join(lines)


def cjk_count(text: str) -> int:
    """Chinese characters in `text` (how much report text a block holds)."""
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf")


def squash(text: str) -> str:
    """Whitespace runs to one space, edges stripped."""
    return re.sub(r"[ \t\r\n\f]+", " ", text).strip(EDGE_SPACE)


def human_size(n: int) -> str:
    """Bytes as a short human figure.

    >>> human_size(3 * 2**20), human_size(1536), human_size(12)
    ('3 MB', '1.5 KB', '12 bytes')
    """
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"
