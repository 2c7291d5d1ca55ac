"""Chinese official-document heading grammar → section paths.

Pure functions over cleaned text (full-width punctuation already half-width).
The marker styles are `rag.text.markers`'s, outermost first: Markdown `#`, 第X章,
第X节, 第X条, 一、, (一), 1. / 1、, (1), ①, and paragraph-initial 一是/二是….
Nesting follows that order: a heading closes every open heading of the same or
a deeper kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..text.markers import INLINE_HEADING_END, MARKDOWN_MARKER, SECTION_MARKERS, HeadingKind
from ..text.sentences import SENTENCE_END

__all__ = ["HeadingKind", "Heading", "Section", "find_headings", "split_sections"]

MAX_HEADING_CHARS = 60


@dataclass(frozen=True, slots=True)
class Heading:
    """A recognised heading line: its style, display title and offsets in the text."""

    kind: HeadingKind
    title: str  # as shown in section paths, e.g. "1.深入贯彻落实党的二十届三中全会精神"
    start: int  # start of the heading's paragraph in the text
    end: int  # end of the heading text itself (the body may follow on the same line)


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading path: [start, end) in the document."""

    path: tuple[str, ...]
    start: int
    end: int
    heading: Heading | None  # None for text before the first heading


def find_headings(text: str) -> list[Heading]:
    """Headings in document order; each starts a paragraph (line).

    >>> [h.title for h in find_headings("一、总体情况\\n1.加强领导。成立小组。")]
    ['一、总体情况', '1.加强领导']
    """
    headings = []
    pos = 0
    for line in text.splitlines(keepends=True):
        heading = _parse_heading(line.rstrip("\n"), pos)
        if heading is not None:
            headings.append(heading)
        pos += len(line)
    return headings


def split_sections(text: str) -> list[Section]:
    """Partition the text into sections, each with its full heading path."""
    headings = find_headings(text)
    sections: list[Section] = []
    if not headings or headings[0].start > 0:
        first = headings[0].start if headings else len(text)
        if text[:first].strip():
            sections.append(Section((), 0, first, None))
    stack: list[Heading] = []
    for i, heading in enumerate(headings):
        while stack and stack[-1].kind >= heading.kind:
            stack.pop()
        stack.append(heading)
        end = headings[i + 1].start if i + 1 < len(headings) else len(text)
        sections.append(Section(tuple(h.title for h in stack), heading.start, end, heading))
    return sections


def _parse_heading(line: str, offset: int) -> Heading | None:
    indent = len(line) - len(line.lstrip())
    body = line[indent:]
    if not body:
        return None
    md = MARKDOWN_MARKER.match(body)
    if md:
        level = len(md.group(1))
        rest = body[md.end() :]
        title, length = _heading_title(rest)
        return Heading(HeadingKind(level), title, offset, offset + indent + md.end() + length)
    for kind, marker in SECTION_MARKERS:
        m = marker.match(body)
        if m and _plausible(kind, body, m.end()):
            title, length = _heading_title(body)
            return Heading(kind, title, offset, offset + indent + length)
    return None


def _plausible(kind: HeadingKind, body: str, marker_end: int) -> bool:
    """Reject numbered lines that are not headings (e.g. '1.5亿元…', a bare '一、')."""
    rest = body[marker_end:].lstrip()
    if not rest:
        return False
    return not (kind is HeadingKind.ARABIC and rest[0].isdigit())


def _heading_title(body: str) -> tuple[str, int]:
    """The heading string and its length in `body`.

    A heading alone on its line is the whole line; a heading sharing its line
    with a paragraph ends at the first sentence end or inline 一是/(一).
    """
    cut = len(body)
    for pattern in (SENTENCE_END, INLINE_HEADING_END):
        m = pattern.search(body, 1)
        if m and m.start() < cut:
            cut = m.start()
    title = body[:cut].rstrip(" :")
    if len(title) > MAX_HEADING_CHARS:
        comma = title.find(",", 8, MAX_HEADING_CHARS)
        title = title[:comma] if comma > 0 else title[: MAX_HEADING_CHARS - 20] + "…"
    return title, min(cut, len(body))
