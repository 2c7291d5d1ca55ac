"""What every backend indexes for a chunk, and how keyword scores are computed.

The stored chunk text stays exactly the document slice; the text that is
embedded and BM25-indexed adds the report title and the section path, since a
chunk rarely repeats its report's subject.
"""

from __future__ import annotations

from ..types import Chunk

__all__ = ["EMBED_TEXT_VERSION", "BM25_K1", "BM25_B", "passage_text"]

EMBED_TEXT_VERSION = 1  # bump when passage_text changes: stored vectors no longer match
# Lucene BM25 parameters, the same in every backend (bm25s's defaults).
BM25_K1 = 1.5
BM25_B = 0.75


def passage_text(title: str, chunk: Chunk) -> str:
    """What gets embedded and BM25-indexed for a chunk: title, section path, text.

    >>> passage_text("报告", Chunk("c", "d", "正文", 0, 2, ("一、总体", "(一)细则"), 0))
    '报告\\n一、总体 > (一)细则\\n正文'
    """
    parts = [title]
    if chunk.section:
        parts.append(" > ".join(chunk.section))
    parts.append(chunk.text)
    return "\n".join(parts)
