"""Rows of the PostgreSQL tables as PolicyQA's types, and the database URL as shown in messages."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...types import Chunk, Document, DocumentMeta, FactSpan

__all__ = ["CHUNK_COLUMNS", "DOCUMENT_COLUMNS", "chunk_from_row", "document_from_row", "meta_to_json", "meta_from_json", "redact"]

CHUNK_COLUMNS = "c.id, c.chunk_id, c.doc_id, c.ordinal, c.start_offset, c.end_offset, c.section, c.text"
DOCUMENT_COLUMNS = "doc_id, title, text, source, meta"


def chunk_from_row(row: Sequence[Any]) -> tuple[int, Chunk]:
    """(position, chunk) from a row that starts with CHUNK_COLUMNS."""
    position, chunk_id, doc_id, ordinal, start, end, section, text = row[:8]
    return int(position), Chunk(chunk_id, doc_id, text, int(start), int(end), tuple(section), int(ordinal))


def document_from_row(row: Sequence[Any]) -> Document:
    """A document from a row of DOCUMENT_COLUMNS."""
    doc_id, title, text, source, meta = row
    return Document(doc_id=doc_id, title=title, text=text, source=source, meta=meta_from_json(meta))


def meta_to_json(meta: DocumentMeta) -> str:
    """The identity as stored in the `meta` jsonb column."""
    return json.dumps(dataclasses.asdict(meta), ensure_ascii=False)


def meta_from_json(raw: Mapping[str, Any] | None) -> DocumentMeta:
    """The identity from the `meta` column (fields this version does not know are ignored)."""
    known = {f.name for f in dataclasses.fields(DocumentMeta)}
    fields = {k: v for k, v in (raw or {}).items() if k in known}
    fields["spans"] = tuple(FactSpan(str(s["name"]), int(s["start"]), int(s["end"])) for s in fields.get("spans") or ())
    return DocumentMeta(**fields)


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
