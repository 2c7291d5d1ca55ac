"""Writing documents, chunks and BM25 statistics into the PostgreSQL schema.

Every function runs inside the caller's transaction, which holds the writer
advisory lock (`schema.LOCK_KEY`): term document frequencies and the corpus
statistics are kept exact by the writers themselves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...types import Chunk, Document
from ..protocol import Origin
from .rows import meta_to_json
from .schema import LOCK_KEY, create_search_indexes, qualify

if TYPE_CHECKING:
    import psycopg

__all__ = ["insert_document", "copy_chunks", "delete_documents", "set_origins", "set_meta", "bulk_copy"]

_DOCUMENT_INSERT_COLUMNS = "doc_id, title, source, origins, text, meta, publisher, year, place, genre, level, chunk_count"


def insert_document(
    conn: psycopg.Connection[Any],
    schema: str,
    doc: Document,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    tokens: Sequence[Sequence[str]],
) -> None:
    """Insert one document and its chunks, and count their terms (origins are set by `set_origins`)."""
    conn.execute(
        qualify(
            f"INSERT INTO {{s}}.documents ({_DOCUMENT_INSERT_COLUMNS}) "
            "VALUES (%s, %s, %s, '[]', %s, %s, %s, %s, %s, %s, %s, %s)",
            schema,
        ),
        (doc.doc_id, doc.title, doc.source, doc.text, *_meta_columns(doc), len(chunks)),
    )
    copy_chunks(conn, schema, chunks, vectors, [Counter(t) for t in tokens])


def _meta_columns(doc: Document) -> tuple[Any, ...]:
    """meta jsonb, then the copies filters read: publisher, year, place, genre, level."""
    m = doc.meta
    return meta_to_json(m), m.publisher, m.year, m.place, m.genre, m.level


def set_meta(conn: psycopg.Connection[Any], schema: str, doc: Document) -> None:
    """Record a document's identity anew (its text, title and chunks are unchanged)."""
    conn.execute(
        qualify("UPDATE {s}.documents SET meta = %s, publisher = %s, year = %s, place = %s, genre = %s, level = %s "
                "WHERE doc_id = %s", schema),
        (*_meta_columns(doc), doc.doc_id),
    )  # fmt: skip


def set_origins(conn: psycopg.Connection[Any], schema: str, doc_id: str, origins: frozenset[Origin]) -> None:
    """Record a document's origins; its source is its first file name."""
    pairs = sorted(origins)
    conn.execute(
        qualify("UPDATE {s}.documents SET origins = %s, source = %s WHERE doc_id = %s", schema),
        (json.dumps([list(p) for p in pairs]), pairs[0][0], doc_id),
    )


def copy_chunks(
    conn: psycopg.Connection[Any],
    schema: str,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    counts: Sequence[Counter[str]],
) -> None:
    """COPY chunks and their term counts, and add them to the statistics."""
    if not chunks:
        return
    df: Counter[str] = Counter()
    for count in counts:
        df.update(count.keys())
    ids = _term_ids(conn, schema, df)
    positions = [
        int(r[0])
        for r in conn.execute(
            qualify("SELECT nextval(pg_get_serial_sequence('{s}.chunks', 'id')) FROM generate_series(1, %s)", schema),
            (len(chunks),),
        ).fetchall()
    ]
    chunk_columns = "id, chunk_id, doc_id, ordinal, start_offset, end_offset, section, text, embedding"
    with conn.cursor() as cur, cur.copy(qualify(f"COPY {{s}}.chunks ({chunk_columns}) FROM STDIN", schema)) as copy:
        for position, chunk, vector in zip(positions, chunks, vectors, strict=True):
            copy.write_row(
                (position, chunk.chunk_id, chunk.doc_id, chunk.ordinal, chunk.start, chunk.end,
                 list(chunk.section), chunk.text, vector)
            )  # fmt: skip
    total = 0
    with conn.cursor() as cur, cur.copy(
        qualify("COPY {s}.chunk_terms (id, doc_id, length, term_ids, tfs) FROM STDIN", schema)
    ) as copy:
        for position, chunk, count in zip(positions, chunks, counts, strict=True):
            pairs = sorted((ids[t], c) for t, c in count.items())
            length = sum(count.values())
            total += length
            copy.write_row((position, chunk.doc_id, length, [p[0] for p in pairs], [p[1] for p in pairs]))
    conn.execute(
        qualify("UPDATE {s}.stats SET n_chunks = n_chunks + %s, total_length = total_length + %s", schema),
        (len(chunks), total),
    )


def _term_ids(conn: psycopg.Connection[Any], schema: str, df: Mapping[str, int]) -> dict[str, int]:
    """Add `df` to the terms' document frequencies (creating new terms); their ids."""
    if not df:
        return {}
    terms = sorted(df)  # a fixed order: concurrent writers lock rows alike (they also hold the lock)
    rows = conn.execute(
        qualify(
            "INSERT INTO {s}.terms (term, df) SELECT * FROM unnest(%s::text[], %s::int[]) "
            "ON CONFLICT (term) DO UPDATE SET df = {s}.terms.df + EXCLUDED.df RETURNING term, id",
            schema,
        ),
        (terms, [int(df[t]) for t in terms]),
    ).fetchall()
    return {term: int(term_id) for term, term_id in rows}


def delete_documents(conn: psycopg.Connection[Any], schema: str, doc_ids: list[str]) -> None:
    """Delete documents with their chunks and take their terms out of the statistics."""
    if not doc_ids:
        return
    conn.execute(
        qualify(
            """UPDATE {s}.terms t SET df = t.df - g.n
            FROM (SELECT u.id, count(*) AS n FROM {s}.chunk_terms k, unnest(k.term_ids) AS u(id)
                  WHERE k.doc_id = ANY(%s::text[]) GROUP BY u.id) AS g
            WHERE t.id = g.id""",
            schema,
        ),
        (doc_ids,),
    )
    conn.execute(qualify("DELETE FROM {s}.terms WHERE df <= 0", schema))
    n, total = conn.execute(
        qualify("SELECT count(*), coalesce(sum(length), 0) FROM {s}.chunk_terms WHERE doc_id = ANY(%s::text[])", schema),
        (doc_ids,),
    ).fetchone()
    conn.execute(
        qualify("UPDATE {s}.stats SET n_chunks = n_chunks - %s, total_length = total_length - %s", schema),
        (int(n), int(total)),
    )
    conn.execute(qualify("DELETE FROM {s}.documents WHERE doc_id = ANY(%s::text[])", schema), (doc_ids,))


def bulk_copy(
    conn: psycopg.Connection[Any],
    schema: str,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    tokens: Sequence[Sequence[str]],
    batch: int,
) -> None:
    """COPY pre-chunked, pre-embedded, pre-tokenised documents into an EMPTY schema, then build
    HNSW and GIN once (far faster than maintaining them row by row)."""
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_doc.setdefault(c.doc_id, []).append(i)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(qualify("DROP INDEX IF EXISTS {s}.chunks_embedding", schema))
        conn.execute(qualify("DROP INDEX IF EXISTS {s}.chunk_terms_ids", schema))
        with conn.cursor() as cur, cur.copy(
            qualify(f"COPY {{s}}.documents ({_DOCUMENT_INSERT_COLUMNS}) FROM STDIN", schema)
        ) as copy:
            for doc in documents:
                origins = json.dumps([[doc.source, ""]])
                copy.write_row(
                    (doc.doc_id, doc.title, doc.source, origins, doc.text, *_meta_columns(doc), len(by_doc.get(doc.doc_id, ())))
                )
        for lo in range(0, len(chunks), batch):
            hi = min(lo + batch, len(chunks))
            copy_chunks(
                conn, schema, chunks[lo:hi], np.asarray(vectors[lo:hi], dtype=np.float32),
                [Counter(t) for t in tokens[lo:hi]],
            )  # fmt: skip
    # build the search indexes with room to work (outside the load transaction: they take long)
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    create_search_indexes(conn, schema)
    for table in ("chunks", "documents", "terms", "chunk_terms"):
        conn.execute(qualify(f"ANALYZE {{s}}.{table}", schema))
    conn.execute("RESET maintenance_work_mem")
    conn.execute("RESET max_parallel_maintenance_workers")
