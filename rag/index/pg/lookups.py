"""Reading chunks and documents back from PostgreSQL: by row id and doc_id, with LRU caches.

Chunks (by row id) and documents (by content hash) never change once written,
so caching them is safe; a document's origins and source can change, and
`forget` drops those documents after an update.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ...types import Chunk, Document
from .rows import CHUNK_COLUMNS, DOCUMENT_COLUMNS, chunk_from_row, document_from_row
from .schema import qualify

if TYPE_CHECKING:
    import psycopg

__all__ = ["Lookups", "ChunkView", "DocumentView", "CHUNK_CACHE", "DOCUMENT_CACHE"]

CHUNK_CACHE = 50_000
DOCUMENT_CACHE = 2_048


class Lookups:
    """Chunk and document reads of one schema, cached; safe to share between threads."""

    def __init__(self, connection: Callable[[], psycopg.Connection[Any]], schema: str) -> None:
        self._connection = connection
        self._schema = schema
        self._cache_lock = threading.Lock()
        self._chunk_cache: OrderedDict[int, Chunk] = OrderedDict()
        self._doc_cache: OrderedDict[str, Document] = OrderedDict()

    def _sql(self, sql: str) -> str:
        return qualify(sql, self._schema)

    def remember(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Cache the chunks of search result rows (CHUNK_COLUMNS first) and fetch their documents."""
        with self._cache_lock:
            for row in rows:
                self._remember_chunk(chunk_from_row(row))
            missing = sorted({str(row[2]) for row in rows} - self._doc_cache.keys())
        self._prefetch_documents(missing)

    def forget(self, doc_ids: set[str]) -> None:
        """Drop cached documents (their origins or source changed)."""
        with self._cache_lock:
            for d in doc_ids:
                self._doc_cache.pop(d, None)

    def _remember_chunk(self, chunk_and_id: tuple[int, Chunk]) -> None:
        position, chunk = chunk_and_id
        self._chunk_cache[position] = chunk
        self._chunk_cache.move_to_end(position)
        while len(self._chunk_cache) > CHUNK_CACHE:
            self._chunk_cache.popitem(last=False)

    # -- lookups (used by _Chunks and _Documents) -----------------------------------------

    def chunk(self, position: int) -> Chunk:
        """The chunk at a row id (IndexError when there is none)."""
        with self._cache_lock:
            chunk = self._chunk_cache.get(position)
        if chunk is not None:
            return chunk
        row = self._connection().execute(
            self._sql(f"SELECT {CHUNK_COLUMNS} FROM {{s}}.chunks c WHERE c.id = %s"), (int(position),)
        ).fetchone()
        if row is None:
            raise IndexError(f"no chunk at position {position} (it was removed, or never existed)")
        found = chunk_from_row(row)
        with self._cache_lock:
            self._remember_chunk(found)
        return found[1]

    def document(self, doc_id: str) -> Document | None:
        """The document with this doc_id, or None."""
        with self._cache_lock:
            doc = self._doc_cache.get(doc_id)
            if doc is not None:
                self._doc_cache.move_to_end(doc_id)
                return doc
        row = self._connection().execute(
            self._sql(f"SELECT {DOCUMENT_COLUMNS} FROM {{s}}.documents WHERE doc_id = %s"), (doc_id,)
        ).fetchone()
        if row is None:
            return None
        doc = document_from_row(row)
        with self._cache_lock:
            self._remember_document(doc)
        return doc

    def _prefetch_documents(self, doc_ids: list[str]) -> None:
        """Load the documents of retrieved chunks in one query (retrieval and answers read them all)."""
        if not doc_ids:
            return
        rows = self._connection().execute(
            self._sql(f"SELECT {DOCUMENT_COLUMNS} FROM {{s}}.documents WHERE doc_id = ANY(%s::text[])"), (doc_ids,)
        ).fetchall()
        with self._cache_lock:
            for row in rows:
                self._remember_document(document_from_row(row))

    def _remember_document(self, doc: Document) -> None:
        self._doc_cache[doc.doc_id] = doc
        self._doc_cache.move_to_end(doc.doc_id)
        while len(self._doc_cache) > DOCUMENT_CACHE:
            self._doc_cache.popitem(last=False)

    def iter_documents(self) -> Iterator[Document]:
        """Every document in doc_id order, fetched in pages (no transaction held between pages)."""
        last = ""
        while True:
            rows = self._connection().execute(
                self._sql(f"SELECT {DOCUMENT_COLUMNS} FROM {{s}}.documents WHERE doc_id > %s ORDER BY doc_id LIMIT 256"),
                (last,),
            ).fetchall()
            for row in rows:
                doc = document_from_row(row)
                with self._cache_lock:
                    self._remember_document(doc)
                yield doc
            if len(rows) < 256:
                return
            last = rows[-1][0]

    def count(self, what: Literal["chunks", "documents"]) -> int:
        """How many chunks or documents the schema holds."""
        if what == "chunks":
            return int(self._connection().execute(self._sql("SELECT n_chunks FROM {s}.stats")).fetchone()[0])
        return int(self._connection().execute(self._sql("SELECT count(*) FROM {s}.documents")).fetchone()[0])

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk in (doc_id, ordinal) order, fetched in pages."""
        last: tuple[str, int] = ("", -1)
        while True:
            rows = self._connection().execute(
                self._sql(
                    f"SELECT {CHUNK_COLUMNS} FROM {{s}}.chunks c WHERE (c.doc_id, c.ordinal) > (%s, %s) "
                    "ORDER BY c.doc_id, c.ordinal LIMIT 1024"
                ),
                last,
            ).fetchall()
            for row in rows:
                yield chunk_from_row(row)[1]
            if len(rows) < 1024:
                return
            last = (rows[-1][2], int(rows[-1][3]))


class ChunkView:
    """Chunks by position (row id): cached lookups, `len`, and iteration in document order."""

    def __init__(self, lookups: Lookups) -> None:
        self._lookups = lookups

    def __len__(self) -> int:
        return self._lookups.count("chunks")

    def __getitem__(self, position: int) -> Chunk:
        return self._lookups.chunk(int(position))

    def __iter__(self) -> Iterator[Chunk]:
        return self._lookups.iter_chunks()


class DocumentView(Mapping[str, Document]):
    """Documents by doc_id, read through to the database with an LRU cache."""

    def __init__(self, lookups: Lookups) -> None:
        self._lookups = lookups

    def __getitem__(self, doc_id: str) -> Document:
        doc = self._lookups.document(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        return doc

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self._lookups.document(doc_id) is not None

    def __iter__(self) -> Iterator[str]:
        # callers that iterate mostly read the documents next (dict(index.documents) in the UI):
        # fetch them page by page into the cache instead of one query per document afterwards
        return (d.doc_id for d in self._lookups.iter_documents())

    def __len__(self) -> int:
        return self._lookups.count("documents")

    def values(self) -> Iterator[Document]:  # type: ignore[override]
        """Every document, streamed in one query (not one query per document)."""
        return self._lookups.iter_documents()

    def items(self) -> Iterator[tuple[str, Document]]:  # type: ignore[override]
        return ((d.doc_id, d) for d in self._lookups.iter_documents())
