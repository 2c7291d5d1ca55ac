"""Document → section-aware, sentence-aligned, token-budgeted chunks.

Pure. Offsets come from the splitter itself: every chunk is a slice
`document.text[start:end]`, never found by searching the text afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..text.sentences import PIECE, sentence_spans
from ..text.token_count import count_tokens
from ..types import Chunk, Document
from .sections import Section, split_sections

__all__ = ["chunk_document", "CHUNKER_VERSION"]

CHUNKER_VERSION = 1


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    tokens: int


def chunk_document(doc: Document, max_tokens: int = 300, overlap: int = 40) -> list[Chunk]:
    """Split a document into chunks that never cross a section boundary.

    A heading with no body of its own (e.g. "一、…" directly followed by "1.…")
    joins the first chunk of its first subsection, so it is never a lonely chunk.
    """
    chunks: list[Chunk] = []
    pending_start: int | None = None  # start of a body-less heading to carry forward
    sections = split_sections(doc.text)
    for i, section in enumerate(sections):
        spans = _sentences(doc.text, section, max_tokens)
        if not spans:
            continue
        next_section = sections[i + 1] if i + 1 < len(sections) else None
        if _heading_only(doc.text, section) and _is_parent(section, next_section):
            pending_start = spans[0].start if pending_start is None else pending_start
            continue
        for start, end in _pack(spans, max_tokens, overlap):
            if pending_start is not None:
                start, pending_start = pending_start, None
            text = doc.text[start:end]
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}-{len(chunks):04d}",
                    doc_id=doc.doc_id,
                    text=text,
                    start=start,
                    end=end,
                    section=section.path,
                    ordinal=len(chunks),
                )
            )
    return chunks


def _heading_only(text: str, section: Section) -> bool:
    return section.heading is not None and not text[section.heading.end : section.end].strip()


def _is_parent(section: Section, following: Section | None) -> bool:
    return (
        following is not None
        and len(following.path) > len(section.path)
        and following.path[: len(section.path)] == section.path
    )


def _sentences(text: str, section: Section, max_tokens: int) -> list[_Span]:
    """Sentences of a section; a sentence longer than the budget is cut at clauses."""
    out: list[_Span] = []
    for start, end in sentence_spans(text, section.start, section.end):
        tokens = count_tokens(text[start:end])
        if tokens <= max_tokens:
            out.append(_Span(start, end, tokens))
        else:
            out.extend(_split_long(text, start, end, max_tokens))
    return out


def _split_long(text: str, start: int, end: int, max_tokens: int) -> Iterator[_Span]:
    """Cut an over-long sentence at commas, or by characters when it has none."""
    pieces = [(m.start(), m.end()) for m in PIECE.finditer(text, start, end) if m.end() > m.start()]
    for s, e in pieces:
        tokens = count_tokens(text[s:e])
        if tokens <= max_tokens:
            yield _Span(s, e, tokens)
            continue
        step = max(1, (e - s) * max_tokens // (tokens + 1))
        for cut in range(s, e, step):
            piece_end = min(cut + step, e)
            yield _Span(cut, piece_end, count_tokens(text[cut:piece_end]))


def _pack(spans: list[_Span], max_tokens: int, overlap: int) -> Iterator[tuple[int, int]]:
    """Greedy packing of sentences into chunks; a new chunk repeats the previous
    chunk's last sentences up to `overlap` tokens so a fact split across the
    boundary is still whole in one chunk."""
    first = 0
    while first < len(spans):
        last, used = first, spans[first].tokens
        while last + 1 < len(spans) and used + spans[last + 1].tokens <= max_tokens:
            last += 1
            used += spans[last].tokens
        yield spans[first].start, spans[last].end
        if last + 1 >= len(spans):
            return
        nxt, carried = last + 1, 0
        while nxt - 1 > first and carried + spans[nxt - 1].tokens <= overlap:
            nxt -= 1
            carried += spans[nxt].tokens
        first = nxt
