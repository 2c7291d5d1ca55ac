"""Quoting a span of a report: trimmed of markers and clause punctuation, cited with its offsets.

Pure. Offsets are always into the document's text; the citation's quote is
exactly `document.text[start:end]`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ingest.sections import Section, split_sections
from ..text.markers import ENUM_PREFIX, MARKDOWN_MARKER
from ..types import Chunk, Citation, Document, Hit

__all__ = ["trim_quote", "strip_span", "citation", "hit_lookup"]


def trim_quote(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading Markdown heading marker and enumeration marker (一是, (1)…) and trailing
    clause punctuation (a final 。 stays).

    >>> text = "二是加强培训,"
    >>> text[slice(*trim_quote(text, 0, len(text)))]
    '加强培训'
    """
    m = MARKDOWN_MARKER.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    m = ENUM_PREFIX.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    while end > start and text[end - 1] in ",;:、，；： ":
        end -= 1
    return start, end


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without trailing whitespace."""
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def citation(marker: int, doc: Document, hit: Hit, start: int, end: int) -> Citation:
    """Citation [marker] of doc.text[start:end], in the section of the hit it comes from."""
    return Citation(
        marker=marker,
        chunk_id=hit.chunk.chunk_id,
        doc_id=doc.doc_id,
        title=doc.title,
        source=doc.source,
        section=hit.chunk.section,
        start=start,
        end=end,
        quote=doc.text[start:end],
    )


def hit_lookup(hits: Sequence[Hit], doc: Document) -> Callable[[int], Hit]:
    """The hit whose chunk contains an offset (for the citation's chunk and section).

    An offset no retrieved chunk covers (a section point cited from the section
    list) gets its section from the heading grammar and no chunk id: re-cutting
    chunks here could name ids the index, cut with its own settings, never had.
    """
    own = [h for h in hits if h.chunk.doc_id == doc.doc_id]
    sections: list[Section] = []  # the document's sections, split at most once per answer

    def find(offset: int) -> Hit:
        for h in own:
            if h.chunk.start <= offset < h.chunk.end:
                return h
        if not sections:
            sections.extend(split_sections(doc.text))
        section = next((s for s in sections if s.start <= offset < s.end), None)
        if section is None:
            return own[0]
        chunk = Chunk(
            chunk_id="",
            doc_id=doc.doc_id,
            text=doc.text[section.start : section.end],
            start=section.start,
            end=section.end,
            section=section.path,
            ordinal=-1,
        )
        return Hit(chunk=chunk, score=0.0, rank=len(hits) + 1, title=doc.title, source=doc.source)

    return find
