"""Rows of the PostgreSQL tables as PolicyQA's types, and the database URL as shown in messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...types import Chunk, Document, DocumentMeta

__all__ = ["CHUNK_COLUMNS", "DOCUMENT_COLUMNS", "chunk_from_row", "document_from_row", "redact"]

CHUNK_COLUMNS = "c.id, c.chunk_id, c.doc_id, c.ordinal, c.start_offset, c.end_offset, c.section, c.text"
DOCUMENT_COLUMNS = "doc_id, title, text, source, publisher, published, year, place, format, encoding"


def chunk_from_row(row: Sequence[Any]) -> tuple[int, Chunk]:
    """(position, chunk) from a row that starts with CHUNK_COLUMNS."""
    position, chunk_id, doc_id, ordinal, start, end, section, text = row[:8]
    return int(position), Chunk(chunk_id, doc_id, text, int(start), int(end), tuple(section), int(ordinal))


def document_from_row(row: Sequence[Any]) -> Document:
    """A document from a row of DOCUMENT_COLUMNS."""
    doc_id, title, text, source, publisher, published, year, place, fmt, encoding = row
    meta = DocumentMeta(publisher=publisher, published=published, year=year, place=place, format=fmt, encoding=encoding)
    return Document(doc_id=doc_id, title=title, text=text, source=source, meta=meta)


def redact(url: str) -> str:
    """The URL without its password, for messages.

    >>> redact("postgresql://u:secret@db:5432/x")
    'postgresql://u:***@db:5432/x'
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<database url>"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
