"""Document → section-aware, sentence-aligned, token-budgeted chunks.

Pure. Offsets come from the splitter itself: every chunk is a slice
`document.text[start:end]`, never found by searching the text afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .errors import IndexMismatchError
from .sections import Section, split_sections
from .tokens import count_tokens
from .types import Chunk, Document

__all__ = ["chunk_document", "sentence_spans", "check_chunker", "CHUNKER_VERSION"]

CHUNKER_VERSION = 1


def check_chunker(recorded: Mapping[str, int], max_tokens: int | None, overlap: int | None, where: str, rebuild: str) -> None:
    """IndexMismatchError unless new chunks would match the ones an index holds (`recorded`:
    its manifest's chunker entry). `max_tokens=None` checks the chunker version only;
    `where` names the index ("the database index"), `rebuild` says how to start over."""
    if recorded.get("chunker_version") != CHUNKER_VERSION:
        raise IndexMismatchError(
            f"{where} was chunked by chunker version {recorded.get('chunker_version')}, "
            f"this PolicyQA chunks with version {CHUNKER_VERSION}: {rebuild}"
        )
    if max_tokens is not None and (max_tokens, overlap) != (recorded["max_tokens"], recorded["overlap"]):
        raise IndexMismatchError(
            f"{where} was chunked with max_tokens={recorded['max_tokens']}, overlap={recorded['overlap']}; "
            f"the settings ask for max_tokens={max_tokens}, overlap={overlap}: {rebuild} or set "
            f"POLICYQA_CHUNK_TOKENS={recorded['max_tokens']} POLICYQA_CHUNK_OVERLAP={recorded['overlap']}"
        )
# A sentence ends at 。!?; (closing quotes/brackets stay with it) or a line break.
_SENTENCE = re.compile(r"[^。!?;\n]*(?:[。!?;]+[”’\"')\]》]*|\n+|$)")
_CLAUSE = re.compile(r"[^,、:]*(?:[,、:]+|$)")


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    tokens: int


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets in text[start:end], whitespace trimmed.

    >>> sentence_spans("甲。乙!\\n丙")
    [(0, 2), (2, 4), (5, 6)]
    """
    end = len(text) if end is None else end
    spans = []
    for m in _SENTENCE.finditer(text, start, end):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


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
    pieces = [(m.start(), m.end()) for m in _CLAUSE.finditer(text, start, end) if m.end() > m.start()]
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
