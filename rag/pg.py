"""PostgreSQL + pgvector backend: one database serves any number of PolicyQA processes.

Selected when `Settings.database_url` (`POLICYQA_DATABASE_URL`) is set; see
`rag.backend.open_index`. Everything lives in one schema (default `policyqa`):

    meta(key, value jsonb)            the manifest: format version, model, dim, chunker, tokenizer
    documents(doc_id PK, title, text, origins jsonb, publisher, year, place, …)
    chunks(id PK, chunk_id, doc_id → documents ON DELETE CASCADE, ordinal,
           start_offset, end_offset, section text[], text,
           embedding vector(dim))                   HNSW index (vector_ip_ops)
    chunk_terms(id → chunks ON DELETE CASCADE, doc_id, length,
           term_ids int[], tfs int[])               BM25: sorted term ids, their counts; GIN (term_ids)
    terms(term PK, id, df)            jieba terms, document frequencies (kept by writers)
    stats(n_chunks, total_length)     for idf and the average length

Dense search: inner product on unit vectors (= cosine) through the HNSW index;
a metadata filter that leaves fewer than k rows in the graph walk falls back
to an exact scan of the allowed rows, as the FAISS backend does.

Keyword search: the same BM25 as `rag.keyword` (Lucene idf and length
normalisation, k1=1.5, b=0.75, the same jieba tokenizer), evaluated in SQL
over the stored term counts. Candidates are the chunks that hold one of the
query's selective terms, the rarest ones whose postings add up to at most
`CANDIDATE_BUDGET` (at least the rarest one), found through the GIN index;
each candidate is scored with ALL query terms. Chunks that hold only common
terms (工作, 建设: in most chunks) are not scored: the top k is exact when the
query's postings fit the budget (small corpora), BM25 with candidate pruning
beyond (recall@50 against exact BM25 is measured by the benchmark). Scoring
every chunk that holds some query term cost ~1 s a query at 100k chunks; the
keyword columns live in their own narrow table, uncompressed, because reading
them out of TOAST per candidate tripled the cost.

Stateless: positions are chunk row ids, nothing but caches lives in the
process (chunks by id and documents by content hash never change; places for
a minute). Writers take a transaction-level advisory lock, readers never wait.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError, IndexCorruptError, IndexMismatchError, RagError
from .types import Chunk, Document, DocumentMeta

if TYPE_CHECKING:
    import psycopg

    from .config import Settings
    from .embed import Embedder
    from .index import UpdateSummary
    from .retrieve import Filters
    from .types import Hit

__all__ = ["PgIndex", "PgFilter", "PG_FORMAT_VERSION", "DEFAULT_SCHEMA"]

log = logging.getLogger(__name__)

PG_FORMAT_VERSION = 1
DEFAULT_SCHEMA = "policyqa"
K1, B = 1.5, 0.75  # as rag.keyword.KeywordIndex
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64  # pgvector's defaults
MIN_EF_SEARCH = 100
# Keyword candidates: the rarest query terms whose postings add up to at most this many rows
# (measured at 100k synthetic chunks: 5k → 34 ms, recall@50 0.80 against exact BM25; 10k → 65 ms,
# 0.91; 20k → 102 ms, 1.00).
CANDIDATE_BUDGET = 10_000
CHUNK_CACHE = 50_000
DOCUMENT_CACHE = 2_048
PLACES_TTL_S = 60.0
_LOCK_KEY = 0x706F6C6963797161  # "policyqa": serialises writers of one database


@dataclass(frozen=True)
class PgFilter:
    """A metadata filter as SQL over `chunks c`; `any()` asks the database whether a row passes."""

    doc_ids: tuple[str, ...] | None
    years: tuple[int, ...] | None
    publishers: tuple[str, ...] | None
    index: PgIndex = field(repr=False, compare=False)

    def sql(self, alias: str = "c") -> tuple[str, dict[str, Any]]:
        """A condition on `<alias>.doc_id` and its parameters."""
        conditions = []
        params: dict[str, Any] = {}
        if self.doc_ids is not None:
            conditions.append("d.doc_id = ANY(%(f_doc_ids)s::text[])")
            params["f_doc_ids"] = list(self.doc_ids)
        if self.years is not None:
            conditions.append("d.year = ANY(%(f_years)s::int[])")
            params["f_years"] = [y for y in self.years if -(2**31) < y < 2**31]  # others match nothing
        if self.publishers is not None:
            # substring match, as Index.mask: 科技局 matches 苏州市科技局
            conditions.append(
                "EXISTS (SELECT 1 FROM unnest(%(f_publishers)s::text[]) AS p(name) "
                "WHERE p.name <> '' AND strpos(coalesce(d.publisher, ''), p.name) > 0)"
            )
            params["f_publishers"] = list(self.publishers)
        where = " AND ".join(conditions) or "TRUE"
        return f"{alias}.doc_id IN (SELECT d.doc_id FROM {{s}}.documents d WHERE {where})", params

    def any(self) -> bool:
        return self.index._filter_any(self)


class PgIndex:
    """Documents, chunks, vectors and BM25 statistics in PostgreSQL (see the module docstring).

    `PgIndex(url)` opens (and with `create=True` initialises) the schema; the
    embedding model is the configured one, checked against the stored manifest.
    `candidate_budget` trades keyword-search latency for recall (module docstring).
    Safe to share between threads (one connection per thread).
    """

    def __init__(
        self,
        url: str,
        *,
        embedder: Embedder | None = None,
        settings: Settings | None = None,
        schema: str = DEFAULT_SCHEMA,
        create: bool = True,
        candidate_budget: int = CANDIDATE_BUDGET,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                f"database_url must be a postgresql:// URL, got {url!r}: set POLICYQA_DATABASE_URL="
                "postgresql://user:password@host:5432/dbname"
            )
        if not schema.isidentifier():
            raise ConfigError(f"schema must be a plain identifier, got {schema!r}")
        from .config import Settings

        if candidate_budget < 1:
            raise ConfigError(f"candidate_budget must be at least 1, got {candidate_budget}")
        self.url = url
        self.schema = schema
        self.candidate_budget = candidate_budget
        self.settings = settings or Settings.from_env()
        self.last_summary: UpdateSummary | None = None
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._connections_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._chunk_cache: OrderedDict[int, Chunk] = OrderedDict()
        self._doc_cache: OrderedDict[str, Document] = OrderedDict()
        self._places: tuple[float, frozenset[str]] | None = None
        self.documents = _Documents(self)
        self.chunks = _Chunks(self)
        self._embedder = embedder
        self.manifest = self._open(create)

    # -- connections --------------------------------------------------------------------

    def _conn(self) -> psycopg.Connection[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._connect()
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            import psycopg
            from pgvector.psycopg import register_vector
        except ImportError as exc:  # pragma: no cover - both are dependencies
            raise ConfigError(f"the PostgreSQL backend needs psycopg and pgvector ({exc})") from exc
        try:
            conn = psycopg.connect(self.url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ConfigError(
                f"cannot connect to PostgreSQL at {_redact(self.url)}: {str(exc).strip()[:300]}; "
                "check POLICYQA_DATABASE_URL and that the server is running"
            ) from exc
        # without the extension (a new database) _create_schema creates it and registers then
        with contextlib.suppress(psycopg.ProgrammingError):
            register_vector(conn)
        return conn

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> PgIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _q(self, sql: str) -> str:
        """SQL with `{s}` replaced by the quoted schema name."""
        return sql.replace("{s}", f'"{self.schema}"')

    # -- schema and manifest ----------------------------------------------------------

    def _open(self, create: bool) -> dict[str, Any]:
        import psycopg

        conn = self._conn()
        try:
            stored = self._read_manifest(conn)
        except psycopg.errors.UndefinedTable:
            stored = None
        if stored is None:
            if not create:
                raise IndexCorruptError(
                    f"no PolicyQA index in schema {self.schema!r} of {_redact(self.url)}: index reports with "
                    "`policyqa index <paths>` (with POLICYQA_DATABASE_URL set) first"
                )
            stored = self._create_schema(conn, self._embedder or self._configured_embedder(self.settings.model))
        if int(stored.get("format_version", -1)) != PG_FORMAT_VERSION:
            raise IndexMismatchError(
                f"schema {self.schema!r} holds PolicyQA database format {stored.get('format_version')}, this "
                f"version reads {PG_FORMAT_VERSION}: re-index into a new schema or database"
            )
        from .keyword import tokenizer_fingerprint

        if stored.get("tokenizer_fingerprint") != tokenizer_fingerprint():
            raise IndexMismatchError(
                f"schema {self.schema!r} stores keyword terms from another tokenizer "
                f"({stored.get('tokenizer_fingerprint')}, this version {tokenizer_fingerprint()}): "
                "re-index the reports into a new schema"
            )
        if self._embedder is not None:
            self._check_embedder(stored, self._embedder.name, int(self._embedder.dim))
        elif self.settings.model != stored["model"]:
            self._check_embedder(stored, self.settings.model, None)
        return stored

    def _read_manifest(self, conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
        rows = conn.execute(self._q("SELECT key, value FROM {s}.meta")).fetchall()
        if not rows:
            return None
        return {key: value for key, value in rows}

    def _check_embedder(self, stored: Mapping[str, Any], model: str, dim: int | None) -> None:
        if model != stored["model"] or (dim is not None and dim != int(stored["dim"])):
            shown = f"{model} (dim {dim})" if dim is not None else model
            raise IndexMismatchError(
                f"the database index (schema {self.schema!r}) was built with model {stored['model']} "
                f"(dim {stored['dim']}); the configured model is {shown}: set POLICYQA_MODEL={stored['model']} "
                "or re-index into a new schema"
            )

    def _configured_embedder(self, model: str) -> Embedder:
        from .embed import get_embedder

        return get_embedder(model, self.settings.cache_dir, self.settings.runtime)

    def _create_schema(self, conn: psycopg.Connection[Any], embedder: Embedder) -> dict[str, Any]:
        from pgvector.psycopg import register_vector

        from .chunk import CHUNKER_VERSION
        from .index import EMBED_TEXT_VERSION
        from .keyword import tokenizer_fingerprint

        dim = int(embedder.dim)
        manifest = {
            "format_version": PG_FORMAT_VERSION,
            "model": embedder.name,
            "dim": dim,
            "chunker": {
                "max_tokens": self.settings.chunk_tokens,
                "overlap": self.settings.chunk_overlap,
                "chunker_version": CHUNKER_VERSION,
            },
            "embed_text_version": EMBED_TEXT_VERSION,
            "tokenizer_fingerprint": tokenizer_fingerprint(),
            "bm25": {"k1": K1, "b": B, "method": "lucene"},
            "hnsw": {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ops": "vector_ip_ops"},
        }
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute(self._q("CREATE SCHEMA IF NOT EXISTS {s}"))
            conn.execute(self._q("CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value jsonb NOT NULL)"))
            existing = self._read_manifest(conn)
            if existing is not None:  # another process created it meanwhile (checked by the caller)
                return existing
            statements = [
                """CREATE TABLE {s}.documents (
                    doc_id text PRIMARY KEY,
                    title text NOT NULL,
                    source text NOT NULL,
                    origins jsonb NOT NULL DEFAULT '[]',
                    text text NOT NULL,
                    publisher text, published text, year int, place text,
                    format text NOT NULL DEFAULT 'txt', encoding text,
                    chunk_count int NOT NULL,
                    added_at timestamptz NOT NULL DEFAULT now())""",
                f"""CREATE TABLE {{s}}.chunks (
                    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                    chunk_id text NOT NULL UNIQUE,
                    doc_id text NOT NULL REFERENCES {{s}}.documents ON DELETE CASCADE,
                    ordinal int NOT NULL,
                    start_offset int NOT NULL,
                    end_offset int NOT NULL,
                    section text[] NOT NULL,
                    text text NOT NULL,
                    embedding vector({dim}) NOT NULL)""",
                """CREATE TABLE {s}.chunk_terms (
                    id bigint PRIMARY KEY REFERENCES {s}.chunks ON DELETE CASCADE,
                    doc_id text NOT NULL,
                    length int NOT NULL,
                    term_ids int[] NOT NULL,
                    tfs int[] NOT NULL)""",
                # read per candidate: keep them in the row, uncompressed (not in TOAST)
                "ALTER TABLE {s}.chunk_terms ALTER COLUMN term_ids SET STORAGE PLAIN, "
                "ALTER COLUMN tfs SET STORAGE PLAIN",
                "CREATE INDEX chunk_terms_doc_id ON {s}.chunk_terms (doc_id)",
                "CREATE INDEX chunks_doc_id ON {s}.chunks (doc_id, ordinal)",
                "CREATE TABLE {s}.terms (term text PRIMARY KEY, id int GENERATED BY DEFAULT AS IDENTITY UNIQUE, "
                "df int NOT NULL)",
                """CREATE TABLE {s}.stats (id int PRIMARY KEY CHECK (id = 1),
                    n_chunks bigint NOT NULL, total_length bigint NOT NULL)""",
                "INSERT INTO {s}.stats VALUES (1, 0, 0)",
                "CREATE INDEX documents_year ON {s}.documents (year)",
            ]
            for statement in statements:
                conn.execute(self._q(statement))
            self._create_search_indexes(conn)
            for key, value in manifest.items():
                conn.execute(self._q("INSERT INTO {s}.meta VALUES (%s, %s)"), (key, json.dumps(value)))
        register_vector(conn)
        if self._embedder is None:
            self._embedder = embedder
        return manifest

    def _create_search_indexes(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            self._q(
                "CREATE INDEX IF NOT EXISTS chunks_embedding ON {s}.chunks USING hnsw (embedding vector_ip_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
            )
        )
        conn.execute(self._q("CREATE INDEX IF NOT EXISTS chunk_terms_ids ON {s}.chunk_terms USING gin (term_ids)"))

    # -- the SearchBackend surface ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self.chunks)

    def __repr__(self) -> str:
        return f"PgIndex({_redact(self.url)!r}, schema={self.schema!r}, model={self.manifest['model']!r})"

    @property
    def embedder(self) -> Embedder:
        """The embedder of the stored model (obtained on first use), checked against the manifest."""
        if self._embedder is None:
            embedder = self._configured_embedder(self.manifest["model"])
            self._check_embedder(self.manifest, embedder.name, int(embedder.dim))
            self._embedder = embedder
        return self._embedder

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """Hybrid search (see `rag.retrieve.search`)."""
        from .retrieve import search

        return search(self, query, k, filters)

    def mask(
        self,
        doc_ids: set[str] | None = None,
        years: set[int] | None = None,
        publishers: set[str] | None = None,
    ) -> PgFilter | None:
        """A filter for `dense_search`/`keyword_search`; None when no filter is given (AND of those given)."""
        if doc_ids is None and years is None and publishers is None:
            return None
        return PgFilter(
            tuple(sorted(doc_ids)) if doc_ids is not None else None,
            tuple(sorted(years)) if years is not None else None,
            tuple(sorted(publishers)) if publishers is not None else None,
            self,
        )

    def _filter_any(self, allowed: PgFilter) -> bool:
        where, params = allowed.sql()
        sql = self._q(f"SELECT EXISTS (SELECT 1 FROM {{s}}.chunks c WHERE {where})")
        return bool(self._conn().execute(sql, params).fetchone()[0])

    def places(self) -> frozenset[str]:
        """Places of the indexed reports (cached for a minute: another process may add reports)."""
        now = time.monotonic()
        cached = self._places
        if cached is not None and now - cached[0] < PLACES_TTL_S:
            return cached[1]
        rows = self._conn().execute(self._q("SELECT DISTINCT place FROM {s}.documents WHERE place IS NOT NULL"))
        places = frozenset(r[0] for r in rows if r[0])
        self._places = (now, places)
        return places

    def dense_search(
        self, qvec: np.ndarray, k: int, allowed: PgFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine scores for a query vector, best first."""
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if q.shape[0] != int(self.manifest["dim"]):
            raise IndexMismatchError(
                f"query vector has dim {q.shape[0]}, the database index has dim {self.manifest['dim']} "
                f"(model {self.manifest['model']})"
            )
        if k <= 0:
            return _empty()
        where, params = allowed.sql() if allowed is not None else ("TRUE", {})
        params = {**params, "q": q, "k": int(k)}
        conn = self._conn()
        with conn.transaction():
            conn.execute(f"SET LOCAL hnsw.ef_search = {max(MIN_EF_SEARCH, 2 * int(k))}")
            rows = conn.execute(
                self._q(
                    f"SELECT {_CHUNK_COLUMNS}, -(c.embedding <#> %(q)s) AS score FROM {{s}}.chunks c "
                    f"WHERE {where} ORDER BY c.embedding <#> %(q)s LIMIT %(k)s"
                ),
                params,
            ).fetchall()
            if allowed is not None and len(rows) < k:
                # the graph walk met too few allowed rows (pgvector filters after the walk):
                # score every allowed row exactly, so a filter never silently shrinks results
                rows = conn.execute(
                    self._q(
                        f"WITH c AS MATERIALIZED (SELECT * FROM {{s}}.chunks c WHERE {where}) "
                        f"SELECT {_CHUNK_COLUMNS}, -(c.embedding <#> %(q)s) AS score FROM c "
                        "ORDER BY score DESC, c.id LIMIT %(k)s"
                    ),
                    params,
                ).fetchall()
        return self._positions(rows)

    def keyword_search(
        self, query: str, k: int, allowed: PgFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and BM25 scores (> 0) for a query, best first; ties by id."""
        from .keyword import tokenize

        terms = sorted(set(tokenize(query)))
        if k <= 0 or not terms:
            return _empty()
        conn = self._conn()
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            n, total = conn.execute(self._q("SELECT n_chunks, total_length FROM {s}.stats")).fetchone()
            found = conn.execute(
                self._q("SELECT term, id, df FROM {s}.terms WHERE term = ANY(%s::text[]) AND df > 0"), (terms,)
            ).fetchall()
            if not found or not n:
                return _empty()
            avgdl = total / n
            # rarest first; idf as bm25s computes it (float64 log, stored as float32)
            found.sort(key=lambda row: (row[2], row[0]))
            idf = [float(np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))) for _, _, df in found]
            # Candidates: chunks holding one of the rarest terms whose postings fit the budget.
            selective, postings = 1, found[0][2]
            while selective < len(found) and postings + found[selective][2] <= self.candidate_budget:
                postings += found[selective][2]
                selective += 1
            where, params = allowed.sql("k") if allowed is not None else ("TRUE", {})
            # w·tf/(tf+K) written as w - w·K/(tf+K): one array lookup per term; NULL (absent) → 0
            score = " + ".join(
                f"coalesce(%(w{i})s::float8 - %(w{i})s::float8 * k.norm "
                f"/ (k.tfs[array_position(k.term_ids, %(t{i})s::int)] + k.norm), 0)"
                for i in range(len(found))
            )
            sql = self._q(
                f"""WITH top AS (
                    SELECT k.id, {score} AS score
                    FROM (SELECT k.id, k.term_ids, k.tfs,
                                 %(k1)s::float8 * (1 - %(b)s::float8 + %(b)s::float8 * k.length / %(avgdl)s::float8)
                                 AS norm
                          FROM {{s}}.chunk_terms k
                          WHERE k.term_ids && %(selective)s::int[] AND {where}
                          OFFSET 0) AS k
                    ORDER BY score DESC, k.id LIMIT %(k)s)
                SELECT {_CHUNK_COLUMNS}, top.score FROM top JOIN {{s}}.chunks c ON c.id = top.id
                ORDER BY top.score DESC, c.id"""
            )
            values: dict[str, Any] = {
                **params,
                "k1": K1,
                "b": B,
                "avgdl": avgdl,
                "selective": [row[1] for row in found[:selective]],
                "k": int(k),
            }
            for i, (_, term_id, _) in enumerate(found):
                values[f"t{i}"] = int(term_id)
                values[f"w{i}"] = idf[i]
            rows = conn.execute(sql, values).fetchall()
        return self._positions(rows)

    def _positions(self, rows: Sequence[tuple[Any, ...]]) -> tuple[np.ndarray, np.ndarray]:
        if not rows:
            return _empty()
        with self._cache_lock:
            for row in rows:
                self._remember_chunk(_chunk_from_row(row))
            missing = sorted({str(row[2]) for row in rows} - self._doc_cache.keys())
        self._prefetch_documents(missing)
        positions = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((float(r[-1]) for r in rows), dtype=np.float32, count=len(rows))
        return positions, scores

    def _remember_chunk(self, chunk_and_id: tuple[int, Chunk]) -> None:
        position, chunk = chunk_and_id
        self._chunk_cache[position] = chunk
        self._chunk_cache.move_to_end(position)
        while len(self._chunk_cache) > CHUNK_CACHE:
            self._chunk_cache.popitem(last=False)

    # -- lookups (used by _Chunks and _Documents) -----------------------------------------

    def _chunk(self, position: int) -> Chunk:
        with self._cache_lock:
            chunk = self._chunk_cache.get(position)
        if chunk is not None:
            return chunk
        row = self._conn().execute(
            self._q(f"SELECT {_CHUNK_COLUMNS} FROM {{s}}.chunks c WHERE c.id = %s"),
            (int(position),),
        ).fetchone()
        if row is None:
            raise IndexError(f"no chunk at position {position} (it was removed, or never existed)")
        found = _chunk_from_row(row)
        with self._cache_lock:
            self._remember_chunk(found)
        return found[1]

    def _document(self, doc_id: str) -> Document | None:
        with self._cache_lock:
            doc = self._doc_cache.get(doc_id)
            if doc is not None:
                self._doc_cache.move_to_end(doc_id)
                return doc
        row = self._conn().execute(
            self._q(f"SELECT {_DOCUMENT_COLUMNS} FROM {{s}}.documents WHERE doc_id = %s"),
            (doc_id,),
        ).fetchone()
        if row is None:
            return None
        doc = _document_from_row(row)
        with self._cache_lock:
            self._remember_document(doc)
        return doc

    def _prefetch_documents(self, doc_ids: list[str]) -> None:
        """Load the documents of retrieved chunks in one query (retrieval and answers read them all)."""
        if not doc_ids:
            return
        rows = self._conn().execute(
            self._q(f"SELECT {_DOCUMENT_COLUMNS} FROM {{s}}.documents WHERE doc_id = ANY(%s::text[])"), (doc_ids,)
        ).fetchall()
        with self._cache_lock:
            for row in rows:
                self._remember_document(_document_from_row(row))

    def _remember_document(self, doc: Document) -> None:
        self._doc_cache[doc.doc_id] = doc
        self._doc_cache.move_to_end(doc.doc_id)
        while len(self._doc_cache) > DOCUMENT_CACHE:
            self._doc_cache.popitem(last=False)

    def _iter_documents(self) -> Iterator[Document]:
        """Every document in doc_id order, fetched in pages (no transaction held between pages)."""
        last = ""
        while True:
            rows = self._conn().execute(
                self._q(f"SELECT {_DOCUMENT_COLUMNS} FROM {{s}}.documents WHERE doc_id > %s ORDER BY doc_id LIMIT 256"),
                (last,),
            ).fetchall()
            for row in rows:
                doc = _document_from_row(row)
                with self._cache_lock:
                    self._remember_document(doc)
                yield doc
            if len(rows) < 256:
                return
            last = rows[-1][0]

    def _count(self, what: str) -> int:
        if what == "chunks":
            return int(self._conn().execute(self._q("SELECT n_chunks FROM {s}.stats")).fetchone()[0])
        return int(self._conn().execute(self._q("SELECT count(*) FROM {s}.documents")).fetchone()[0])

    def _iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk in (doc_id, ordinal) order, fetched in pages."""
        last: tuple[str, int] = ("", -1)
        while True:
            rows = self._conn().execute(
                self._q(
                    f"SELECT {_CHUNK_COLUMNS} FROM {{s}}.chunks c WHERE (c.doc_id, c.ordinal) > (%s, %s) "
                    "ORDER BY c.doc_id, c.ordinal LIMIT 1024"
                ),
                last,
            ).fetchall()
            for row in rows:
                yield _chunk_from_row(row)[1]
            if len(rows) < 1024:
                return
            last = (rows[-1][2], int(rows[-1][3]))

    def sources(self, doc_id: str) -> tuple[str, ...]:
        """File names a document was loaded from (several for identical copies)."""
        row = self._conn().execute(self._q("SELECT origins FROM {s}.documents WHERE doc_id = %s"), (doc_id,)).fetchone()
        if row is None:
            raise KeyError(doc_id)
        return tuple(sorted({source for source, _ in row[0]}))

    # -- updates ----------------------------------------------------------------------------

    def add(self, paths: Sequence[Path | str], progress: bool = False) -> UpdateSummary:
        """Load files and folders and bring the database up to date with them (committed at once).

        As `rag.index.Index.add`: new reports are added, a file whose content changed
        is re-chunked and re-embedded, unchanged content (same doc_id) is skipped
        without embedding, and reports indexed from a file under one of the given
        folders that no longer exists are removed.
        """
        from .load import load_files

        start = time.perf_counter()
        files, loaded, errors = load_files(paths)
        present = {str(p.resolve()) for p in files}
        folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
        summary = self._apply(loaded, present=present, folders=folders, progress=progress)
        summary = dataclasses.replace(summary, errors=tuple(errors), seconds=time.perf_counter() - start)
        self.last_summary = summary
        return summary

    def add_documents(
        self, documents: Sequence[Document], paths: Sequence[str | None] | None = None, progress: bool = False
    ) -> UpdateSummary:
        """Add already-loaded documents (e.g. an upload); `paths[i]` is where documents[i] lives, if anywhere."""
        start = time.perf_counter()
        from .load import with_paths

        pairs = with_paths(documents, paths)
        summary = self._apply(pairs, present=None, folders=[], progress=progress)
        summary = dataclasses.replace(summary, seconds=time.perf_counter() - start)
        self.last_summary = summary
        return summary

    def save(self) -> None:
        """Nothing to do: every update is committed when it returns (present for the UI's sake)."""
        return None

    def _apply(
        self,
        loaded: Sequence[tuple[Document, str | None]],
        *,
        present: set[str] | None,
        folders: Sequence[Path],
        progress: bool,
    ) -> UpdateSummary:
        from .index import UpdateSummary

        self._check_chunker()
        conn = self._conn()
        # Chunk and embed outside the transaction (slow); content already stored is skipped.
        incoming: dict[str, Document] = {}
        for doc, _ in loaded:
            incoming.setdefault(doc.doc_id, doc)
        stored = self._existing(list(incoming))
        fresh = {d: doc for d, doc in incoming.items() if d not in stored}
        prepared = self._prepare(fresh, progress)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            origins: dict[str, set[tuple[str, str]]] = {
                d: {tuple(o) for o in origins_json}  # type: ignore[misc]
                for d, origins_json in conn.execute(self._q("SELECT doc_id, origins FROM {s}.documents")).fetchall()
            }
            owner = {path: d for d, os_ in origins.items() for _, path in os_ if path}
            touched: set[str] = set()
            gone: set[str] = set()
            if present is not None:
                gone = {
                    path
                    for path in owner
                    if path not in present and any(_is_under(path, folder) for folder in folders)
                }
            for path in gone:
                d = owner.pop(path)
                origins[d] = {o for o in origins[d] if o[1] != path}
                touched.add(d)
            added: set[str] = set()
            replaced: dict[str, str] = {}
            known: set[str] = set()
            for doc, path in loaded:
                previous = owner.get(path) if path else None
                if path and previous is not None and previous != doc.doc_id:
                    origins[previous] = {o for o in origins[previous] if o[1] != path}
                    touched.add(previous)
                if doc.doc_id in origins and doc.doc_id not in added:
                    known.add(doc.doc_id)
                elif doc.doc_id not in added:
                    if doc.doc_id not in prepared:  # stored by another writer since we looked
                        prepared.update(self._prepare({doc.doc_id: doc}, progress=False))
                    self._insert(conn, doc, *prepared[doc.doc_id])
                    added.add(doc.doc_id)
                    origins[doc.doc_id] = set()
                    if previous is not None and previous != doc.doc_id:
                        replaced[doc.doc_id] = previous
                origins[doc.doc_id].add((doc.source, path or ""))
                touched.add(doc.doc_id)
                if path:
                    owner[path] = doc.doc_id
            dropped = {d for d in touched if not origins[d] and d not in added and d not in known}
            self._delete(conn, sorted(dropped))
            for d in sorted(touched - dropped):
                pairs = sorted(origins[d])
                conn.execute(
                    self._q("UPDATE {s}.documents SET origins = %s, source = %s WHERE doc_id = %s"),
                    (json.dumps([list(p) for p in pairs]), pairs[0][0], d),
                )
            total_docs = int(conn.execute(self._q("SELECT count(*) FROM {s}.documents")).fetchone()[0])
            total_chunks = int(conn.execute(self._q("SELECT n_chunks FROM {s}.stats")).fetchone()[0])
        self._forget(dropped | touched)
        updated = {d for d, old in replaced.items() if old in dropped}
        return UpdateSummary(
            added=len(added) - len(updated),
            updated=len(updated),
            removed=len(dropped) - len(updated),
            skipped=len(known),
            chunks=sum(len(prepared[d][0]) for d in added),
            seconds=0.0,
            total_documents=total_docs,
            total_chunks=total_chunks,
        )

    def remove(self, doc_ids_or_sources: Sequence[str]) -> int:
        """Remove documents by doc_id, file name (source) or path; returns how many were removed."""
        wanted = {w for w in doc_ids_or_sources if w}
        resolved = {str(Path(w).resolve()) for w in wanted}
        conn = self._conn()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            victims = [
                d
                for d, origins in conn.execute(self._q("SELECT doc_id, origins FROM {s}.documents")).fetchall()
                if d in wanted or any(s in wanted or (p and p in resolved) for s, p in origins)
            ]
            self._delete(conn, sorted(victims))
        self._forget(set(victims))
        return len(victims)

    def _existing(self, doc_ids: list[str]) -> set[str]:
        if not doc_ids:
            return set()
        rows = self._conn().execute(
            self._q("SELECT doc_id FROM {s}.documents WHERE doc_id = ANY(%s::text[])"), (doc_ids,)
        ).fetchall()
        return {r[0] for r in rows}

    def _prepare(
        self, documents: Mapping[str, Document], progress: bool
    ) -> dict[str, tuple[list[Chunk], np.ndarray, list[Counter[str]]]]:
        """Chunks, unit vectors and term counts of new documents (no database access)."""
        from .chunk import chunk_document
        from .index import passage_text
        from .keyword import tokenize

        per_doc = {
            d: chunk_document(doc, self.manifest["chunker"]["max_tokens"], self.manifest["chunker"]["overlap"])
            for d, doc in sorted(documents.items())
        }
        texts = [passage_text(documents[d].title, c) for d, cs in per_doc.items() for c in cs]
        vectors = self._embed(texts, progress)
        counts = [Counter(tokenize(t)) for t in texts]
        out: dict[str, tuple[list[Chunk], np.ndarray, list[Counter[str]]]] = {}
        offset = 0
        for d, chunks in per_doc.items():
            out[d] = (chunks, vectors[offset : offset + len(chunks)], counts[offset : offset + len(chunks)])
            offset += len(chunks)
        return out

    def _embed(self, texts: list[str], progress: bool) -> np.ndarray:
        from .embed import embed_in_batches

        done = 0

        def report(n: int) -> None:
            nonlocal done
            done += n
            log.info("embedded %d/%d chunks", done, len(texts))

        dim = int(self.manifest["dim"])
        if not texts:  # nothing to embed: do not load the model
            return np.zeros((0, dim), dtype=np.float32)
        return embed_in_batches(self.embedder, texts, dim, "the database index", report if progress else None)

    def _insert(
        self,
        conn: psycopg.Connection[Any],
        doc: Document,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        counts: Sequence[Counter[str]],
    ) -> None:
        """Insert one document and its chunks, and count their terms (inside the caller's transaction)."""
        meta = doc.meta
        conn.execute(
            self._q(
                "INSERT INTO {s}.documents (doc_id, title, source, origins, text, publisher, published, year, "
                "place, format, encoding, chunk_count) VALUES (%s, %s, %s, '[]', %s, %s, %s, %s, %s, %s, %s, %s)"
            ),
            (doc.doc_id, doc.title, doc.source, doc.text, meta.publisher, meta.published, meta.year, meta.place,
             meta.format, meta.encoding, len(chunks)),
        )  # fmt: skip
        self._copy_chunks(conn, chunks, vectors, counts)

    def _copy_chunks(
        self,
        conn: psycopg.Connection[Any],
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        counts: Sequence[Counter[str]],
    ) -> None:
        """COPY chunks and their term counts, and add them to the statistics (caller's transaction)."""
        if not chunks:
            return
        df: Counter[str] = Counter()
        for count in counts:
            df.update(count.keys())
        ids = self._term_ids(conn, df)
        positions = [
            int(r[0])
            for r in conn.execute(
                self._q("SELECT nextval(pg_get_serial_sequence('{s}.chunks', 'id')) FROM generate_series(1, %s)"),
                (len(chunks),),
            ).fetchall()
        ]
        chunk_columns = "id, chunk_id, doc_id, ordinal, start_offset, end_offset, section, text, embedding"
        with conn.cursor() as cur, cur.copy(self._q(f"COPY {{s}}.chunks ({chunk_columns}) FROM STDIN")) as copy:
            for position, chunk, vector in zip(positions, chunks, vectors, strict=True):
                copy.write_row(
                    (position, chunk.chunk_id, chunk.doc_id, chunk.ordinal, chunk.start, chunk.end,
                     list(chunk.section), chunk.text, vector)
                )  # fmt: skip
        total = 0
        with conn.cursor() as cur, cur.copy(
            self._q("COPY {s}.chunk_terms (id, doc_id, length, term_ids, tfs) FROM STDIN")
        ) as copy:
            for position, chunk, count in zip(positions, chunks, counts, strict=True):
                pairs = sorted((ids[t], c) for t, c in count.items())
                length = sum(count.values())
                total += length
                copy.write_row((position, chunk.doc_id, length, [p[0] for p in pairs], [p[1] for p in pairs]))
        conn.execute(
            self._q("UPDATE {s}.stats SET n_chunks = n_chunks + %s, total_length = total_length + %s"),
            (len(chunks), total),
        )

    def _term_ids(self, conn: psycopg.Connection[Any], df: Mapping[str, int]) -> dict[str, int]:
        """Add `df` to the terms' document frequencies (creating new terms); their ids."""
        if not df:
            return {}
        terms = sorted(df)  # a fixed order: concurrent writers lock rows alike (they also hold the lock)
        rows = conn.execute(
            self._q(
                "INSERT INTO {s}.terms (term, df) SELECT * FROM unnest(%s::text[], %s::int[]) "
                "ON CONFLICT (term) DO UPDATE SET df = {s}.terms.df + EXCLUDED.df RETURNING term, id"
            ),
            (terms, [int(df[t]) for t in terms]),
        ).fetchall()
        return {term: int(term_id) for term, term_id in rows}

    def _delete(self, conn: psycopg.Connection[Any], doc_ids: list[str]) -> None:
        """Delete documents with their chunks and take their terms out of the statistics."""
        if not doc_ids:
            return
        conn.execute(
            self._q(
                """UPDATE {s}.terms t SET df = t.df - g.n
                FROM (SELECT u.id, count(*) AS n FROM {s}.chunk_terms k, unnest(k.term_ids) AS u(id)
                      WHERE k.doc_id = ANY(%s::text[]) GROUP BY u.id) AS g
                WHERE t.id = g.id"""
            ),
            (doc_ids,),
        )
        conn.execute(self._q("DELETE FROM {s}.terms WHERE df <= 0"))
        n, total = conn.execute(
            self._q("SELECT count(*), coalesce(sum(length), 0) FROM {s}.chunk_terms WHERE doc_id = ANY(%s::text[])"),
            (doc_ids,),
        ).fetchone()
        conn.execute(
            self._q("UPDATE {s}.stats SET n_chunks = n_chunks - %s, total_length = total_length - %s"),
            (int(n), int(total)),
        )
        conn.execute(self._q("DELETE FROM {s}.documents WHERE doc_id = ANY(%s::text[])"), (doc_ids,))

    def _forget(self, doc_ids: set[str]) -> None:
        with self._cache_lock:
            for d in doc_ids:
                self._doc_cache.pop(d, None)  # origins/source may have changed
            self._places = None

    def _check_chunker(self) -> None:
        from .chunk import check_chunker

        settings = self.settings
        where, rebuild = "the database index", "re-index into a new schema"
        check_chunker(self.manifest["chunker"], settings.chunk_tokens, settings.chunk_overlap, where, rebuild)

    # -- bulk loading -----------------------------------------------------------------------

    def bulk_load(
        self,
        documents: Sequence[Document],
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        tokens: Sequence[Sequence[str]],
        *,
        batch: int = 5_000,
    ) -> None:
        """Load pre-chunked, pre-embedded, pre-tokenised documents into an EMPTY database index.

        For large first loads (benchmarks, migrations from a folder index): drops the
        search indexes, COPYs the rows, then builds HNSW and GIN once, which is far
        faster than maintaining them row by row. `vectors[i]` and `tokens[i]`
        belong to `chunks[i]`.
        """
        if not (len(chunks) == len(vectors) == len(tokens)):
            raise ValueError(f"got {len(chunks)} chunks, {len(vectors)} vectors and {len(tokens)} token lists")
        if self._count("chunks") or self._count("documents"):
            raise RagError("bulk_load needs an empty database index; use add() to update an existing one")
        by_doc: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            by_doc.setdefault(c.doc_id, []).append(i)
        conn = self._conn()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(self._q("DROP INDEX IF EXISTS {s}.chunks_embedding"))
            conn.execute(self._q("DROP INDEX IF EXISTS {s}.chunk_terms_ids"))
            with conn.cursor() as cur, cur.copy(
                self._q(
                    "COPY {s}.documents (doc_id, title, source, origins, text, publisher, published, year, place, "
                    "format, encoding, chunk_count) FROM STDIN"
                )
            ) as copy:
                for doc in documents:
                    m = doc.meta
                    copy.write_row(
                        (doc.doc_id, doc.title, doc.source, json.dumps([[doc.source, ""]]), doc.text, m.publisher,
                         m.published, m.year, m.place, m.format, m.encoding, len(by_doc.get(doc.doc_id, ())))
                    )  # fmt: skip
            for lo in range(0, len(chunks), batch):
                hi = min(lo + batch, len(chunks))
                self._copy_chunks(
                    conn,
                    chunks[lo:hi],
                    np.asarray(vectors[lo:hi], dtype=np.float32),
                    [Counter(t) for t in tokens[lo:hi]],
                )
        # build the search indexes with room to work (outside the load transaction: they take long)
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        self._create_search_indexes(conn)
        conn.execute(self._q("ANALYZE {s}.chunks"))
        conn.execute(self._q("ANALYZE {s}.documents"))
        conn.execute(self._q("ANALYZE {s}.terms"))
        conn.execute(self._q("ANALYZE {s}.chunk_terms"))
        conn.execute("RESET maintenance_work_mem")
        conn.execute("RESET max_parallel_maintenance_workers")

    def database_bytes(self) -> int:
        """Bytes the schema's tables and indexes take on disk."""
        row = self._conn().execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (self.schema,),
        ).fetchone()
        return int(row[0])


class _Chunks:
    """Chunks by position (row id): cached lookups, `len`, and iteration in document order."""

    def __init__(self, index: PgIndex) -> None:
        self._index = index

    def __len__(self) -> int:
        return self._index._count("chunks")

    def __getitem__(self, position: int) -> Chunk:
        return self._index._chunk(int(position))

    def __iter__(self) -> Iterator[Chunk]:
        return self._index._iter_chunks()


class _Documents(Mapping[str, Document]):
    """Documents by doc_id, read through to the database with an LRU cache."""

    def __init__(self, index: PgIndex) -> None:
        self._index = index

    def __getitem__(self, doc_id: str) -> Document:
        doc = self._index._document(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        return doc

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self._index._document(doc_id) is not None

    def __iter__(self) -> Iterator[str]:
        # callers that iterate mostly read the documents next (dict(index.documents) in the UI):
        # fetch them page by page into the cache instead of one query per document afterwards
        return (d.doc_id for d in self._index._iter_documents())

    def __len__(self) -> int:
        return self._index._count("documents")

    def values(self) -> Iterator[Document]:  # type: ignore[override]
        """Every document, streamed in one query (not one query per document)."""
        return self._index._iter_documents()

    def items(self) -> Iterator[tuple[str, Document]]:  # type: ignore[override]
        return ((d.doc_id, d) for d in self._index._iter_documents())


# -- rows ----------------------------------------------------------------------------------

_CHUNK_COLUMNS = "c.id, c.chunk_id, c.doc_id, c.ordinal, c.start_offset, c.end_offset, c.section, c.text"
_DOCUMENT_COLUMNS = "doc_id, title, text, source, publisher, published, year, place, format, encoding"


def _chunk_from_row(row: Sequence[Any]) -> tuple[int, Chunk]:
    position, chunk_id, doc_id, ordinal, start, end, section, text = row[:8]
    return int(position), Chunk(chunk_id, doc_id, text, int(start), int(end), tuple(section), int(ordinal))


def _document_from_row(row: Sequence[Any]) -> Document:
    doc_id, title, text, source, publisher, published, year, place, fmt, encoding = row
    meta = DocumentMeta(publisher=publisher, published=published, year=year, place=place, format=fmt, encoding=encoding)
    return Document(doc_id=doc_id, title=title, text=text, source=source, meta=meta)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros(0, np.float32)


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<database url>"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _is_under(path: str, folder: Path) -> bool:
    try:
        return Path(path).is_relative_to(folder)
    except ValueError:
        return False
