"""`PgIndex`: the PostgreSQL + pgvector backend's storage and search primitives.

Selected when `Settings.database_url` (`POLICYQA_DATABASE_URL`) is set; see
`rag.index.open`. Stateless: positions are chunk row ids, nothing but caches
lives in the process (chunks by id and documents by content hash never change;
places for a minute). Writers take a transaction-level advisory lock, readers
never wait. Schema in `schema.py`, SQL search in `search.py`, writes in `write.py`.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...config import Settings
from ...errors import ConfigError, IndexCorruptError, IndexMismatchError, RagError
from ...model.embedder import get_embedder
from ...text.tokenize import tokenize, tokenizer_fingerprint
from ...types import Chunk, Document, DocumentMeta, ReportCard
from ..checkpoints import Checkpoints
from ..filters import Filters
from ..manifest import check_model
from ..prepare import vector_identity
from ..protocol import Changes, Origin
from ..update import PipelineUpdates
from . import write
from .lookups import ChunkView, DocumentView, Lookups
from .rows import meta_from_json, redact
from .schema import (
    DEFAULT_SCHEMA,
    LOCK_KEY,
    PG_FORMAT_VERSION,
    create_schema,
    new_manifest,
    qualify,
    read_manifest,
)
from .search import CANDIDATE_BUDGET, PgFilter, dense_rows, keyword_rows

if TYPE_CHECKING:
    import psycopg

    from ...model.protocol import Embedder

__all__ = ["PgIndex", "PgFilter", "PG_FORMAT_VERSION", "DEFAULT_SCHEMA"]

CATALOG_TTL_S = 60.0
_REBUILD = "re-index into a new schema"


class PgIndex(PipelineUpdates):
    """Documents, chunks, vectors and BM25 statistics in PostgreSQL.

    `PgIndex(url)` opens (and with `create=True` initialises) the schema; the
    embedding model is the configured one, checked against the stored manifest.
    `candidate_budget` trades keyword-search latency for recall (`rag.index.pg.search`).
    Safe to share between threads (one connection per thread).
    """

    rebuild_hint = _REBUILD

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
        if candidate_budget < 1:
            raise ConfigError(f"candidate_budget must be at least 1, got {candidate_budget}")
        self.url = url
        self.schema = schema
        self.candidate_budget = candidate_budget
        self.settings = settings or Settings.from_env()
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._connections_lock = threading.Lock()
        self._catalog: tuple[float, tuple[ReportCard, ...]] | None = None
        self._lookups = Lookups(self._conn, schema)
        self.documents = DocumentView(self._lookups)
        self.chunks = ChunkView(self._lookups)
        self._embedder = embedder
        self.manifest = self._open(create)

    @property
    def where(self) -> str:
        return f"the database index (schema {self.schema!r})"

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
                f"cannot connect to PostgreSQL at {redact(self.url)}: {str(exc).strip()[:300]}; "
                "check POLICYQA_DATABASE_URL and that the server is running"
            ) from exc
        # without the extension (a new database) _open creates it and registers then
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
        return qualify(sql, self.schema)

    # -- schema and manifest ----------------------------------------------------------

    def _open(self, create: bool) -> dict[str, Any]:
        import psycopg
        from pgvector.psycopg import register_vector

        conn = self._conn()
        try:
            stored = read_manifest(conn, self.schema)
        except psycopg.errors.UndefinedTable:
            stored = None
        if stored is None:
            if not create:
                raise IndexCorruptError(
                    f"no PolicyQA index in schema {self.schema!r} of {redact(self.url)}: index reports with "
                    "`policyqa index <paths>` (with POLICYQA_DATABASE_URL set) first"
                )
            embedder = self._embedder or self._configured_embedder(self.settings.model)
            stored = create_schema(conn, self.schema, new_manifest(embedder.name, int(embedder.dim), self.settings))
            register_vector(conn)
            if self._embedder is None:
                self._embedder = embedder
        if int(stored.get("format_version", -1)) != PG_FORMAT_VERSION:
            raise IndexMismatchError(
                f"schema {self.schema!r} holds PolicyQA database format {stored.get('format_version')}, this "
                f"version reads {PG_FORMAT_VERSION}: re-index into a new schema or database"
            )
        if stored.get("tokenizer_fingerprint") != tokenizer_fingerprint():
            raise IndexMismatchError(
                f"schema {self.schema!r} stores keyword terms from another tokenizer "
                f"({stored.get('tokenizer_fingerprint')}, this version {tokenizer_fingerprint()}): "
                "re-index the reports into a new schema"
            )
        if self._embedder is not None:
            check_model(self.where, stored, self._embedder.name, int(self._embedder.dim), _REBUILD)
        else:
            check_model(self.where, stored, self.settings.model, None, _REBUILD)
        return stored

    def _configured_embedder(self, model: str) -> Embedder:
        return get_embedder(model, self.settings.cache_dir, self.settings.runtime, self.settings.precision)

    # -- the SearchBackend surface ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self.chunks)

    def __repr__(self) -> str:
        return f"PgIndex({redact(self.url)!r}, schema={self.schema!r}, model={self.manifest['model']!r})"

    @property
    def embedder(self) -> Embedder:
        """The embedder of the stored model (obtained on first use), checked against the manifest."""
        if self._embedder is None:
            embedder = self._configured_embedder(self.manifest["model"])
            check_model(self.where, self.manifest, embedder.name, int(embedder.dim), _REBUILD)
            self._embedder = embedder
        return self._embedder

    def mask(self, filters: Filters) -> PgFilter | None:
        """A filter for `dense_search`/`keyword_search`; None when `filters` restricts nothing."""
        return None if filters.empty else PgFilter(filters, self._filter_any)

    def _filter_any(self, allowed: PgFilter) -> bool:
        where, params = allowed.sql()
        sql = self._q(f"SELECT EXISTS (SELECT 1 FROM {{s}}.chunks c WHERE {where})")
        return bool(self._conn().execute(sql, params).fetchone()[0])

    def catalog(self) -> tuple[ReportCard, ...]:
        """Every report without its text (cached for a minute: another process may add reports)."""
        now = time.monotonic()
        cached = self._catalog
        if cached is not None and now - cached[0] < CATALOG_TTL_S:
            return cached[1]
        rows = self._conn().execute(self._q("SELECT doc_id, title, source, meta FROM {s}.documents ORDER BY doc_id"))
        cards = tuple(ReportCard(d, title, source, meta_from_json(meta)) for d, title, source, meta in rows)
        self._catalog = (now, cards)
        return cards

    def dense_search(self, qvec: np.ndarray, k: int, allowed: PgFilter | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine scores for a query vector, best first."""
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if q.shape[0] != int(self.manifest["dim"]):
            raise IndexMismatchError(
                f"query vector has dim {q.shape[0]}, the database index has dim {self.manifest['dim']} "
                f"(model {self.manifest['model']})"
            )
        if k <= 0:
            return _empty()
        return self._positions(dense_rows(self._conn(), self.schema, q, k, allowed))

    def keyword_search(self, query: str, k: int, allowed: PgFilter | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and BM25 scores (> 0) for a query, best first; ties by id."""
        terms = sorted(set(tokenize(query)))
        if k <= 0 or not terms:
            return _empty()
        return self._positions(keyword_rows(self._conn(), self.schema, terms, k, allowed, self.candidate_budget))

    def _positions(self, rows: Sequence[tuple[Any, ...]]) -> tuple[np.ndarray, np.ndarray]:
        if not rows:
            return _empty()
        self._lookups.remember(rows)
        positions = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((float(r[-1]) for r in rows), dtype=np.float32, count=len(rows))
        return positions, scores

    def sources(self, doc_id: str) -> tuple[str, ...]:
        """File names a document was loaded from (several for identical copies)."""
        row = self._conn().execute(self._q("SELECT origins FROM {s}.documents WHERE doc_id = %s"), (doc_id,)).fetchone()
        if row is None:
            raise KeyError(doc_id)
        return tuple(sorted({source for source, _ in row[0]}))

    # -- storage primitives of the update pipeline (each update commits when it returns) --

    def save(self) -> None:
        """Nothing to do: every update is committed when it returns (present for the UI's sake)."""
        return None

    def chunk_settings(self) -> tuple[int, int] | None:
        return self.settings.chunk_tokens, self.settings.chunk_overlap

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, DocumentMeta]]:
        if not doc_ids:
            return {}
        rows = self._conn().execute(
            self._q("SELECT doc_id, title, meta FROM {s}.documents WHERE doc_id = ANY(%s::text[])"), (list(doc_ids),)
        ).fetchall()
        return {doc_id: (title, meta_from_json(meta)) for doc_id, title, meta in rows}

    @contextlib.contextmanager
    def writing(self) -> Iterator[_Writer]:
        conn = self._conn()
        writer = _Writer(self, conn)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            yield writer
        self._forget(writer.touched)
        self.checkpoints.discard(writer.touched)  # committed: an interrupted update's vectors are no longer needed

    @property
    def checkpoints(self) -> Checkpoints:
        """Embedded reports of an update not yet committed, in this machine's cache, per database and schema."""
        place = hashlib.sha256(f"{self.url}|{self.schema}".encode()).hexdigest()[:16]
        return Checkpoints(self.settings.cache_dir / "partial" / place, lambda: vector_identity(self.embedder))

    def _forget(self, doc_ids: set[str]) -> None:
        self._lookups.forget(doc_ids)  # origins/source may have changed
        self._catalog = None

    # -- bulk loading and size --------------------------------------------------------------

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

        For large first loads (benchmarks, migrations from a folder index). `vectors[i]`
        and `tokens[i]` belong to `chunks[i]`.
        """
        if not (len(chunks) == len(vectors) == len(tokens)):
            raise ValueError(f"got {len(chunks)} chunks, {len(vectors)} vectors and {len(tokens)} token lists")
        if self._lookups.count("chunks") or self._lookups.count("documents"):
            raise RagError("bulk_load needs an empty database index; use add() to update an existing one")
        write.bulk_copy(self._conn(), self.schema, documents, chunks, vectors, tokens, batch)

    def database_bytes(self) -> int:
        """Bytes the schema's tables and indexes take on disk."""
        row = self._conn().execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (self.schema,),
        ).fetchone()
        return int(row[0])


class _Writer:
    """An update's view of the database, inside one transaction holding the writer lock."""

    def __init__(self, index: PgIndex, conn: psycopg.Connection[Any]) -> None:
        self._index = index
        self._conn = conn
        self.touched: set[str] = set()

    def origins(self) -> dict[str, frozenset[Origin]]:
        rows = self._conn.execute(self._index._q("SELECT doc_id, origins FROM {s}.documents")).fetchall()
        return {doc_id: frozenset((str(s), str(p)) for s, p in pairs) for doc_id, pairs in rows}

    def write(self, changes: Changes) -> tuple[int, int]:
        schema = self._index.schema
        write.delete_documents(self._conn, schema, sorted(changes.dropped))
        for _, new in sorted(changes.added.items()):
            write.insert_document(self._conn, schema, new.document, new.chunks, new.vectors, new.tokens)
        for doc_id, origins in sorted(changes.origins.items()):
            write.set_origins(self._conn, schema, doc_id, origins)
        for _, doc in sorted(changes.redescribed.items()):
            write.set_meta(self._conn, schema, doc)
        self.touched |= set(changes.dropped) | set(changes.origins) | set(changes.redescribed)
        documents = int(self._conn.execute(self._index._q("SELECT count(*) FROM {s}.documents")).fetchone()[0])
        chunks = int(self._conn.execute(self._index._q("SELECT n_chunks FROM {s}.stats")).fetchone()[0])
        return documents, chunks


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros(0, np.float32)
