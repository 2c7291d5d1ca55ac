"""The folder index: documents, chunks, vectors (FAISS) and BM25 of one index directory, in memory.

Storage and search primitives only (`rag.index.protocol`): updates go through
`rag.index.update`, searches through `rag.retrieve.hybrid`. `add`/`remove`
change the index in memory and `save` publishes a new generation atomically
(`persist` reads generations, `save` writes them, `layout` is the on-disk
layout). Writers are serialised (a lock per index directory in this
process, an fcntl lock across processes); readers never block.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...config import Settings
from ...errors import IndexMismatchError
from ...model.embedder import get_embedder
from ...stages import stage
from ...types import Chunk, Document, DocumentMeta, ReportCard
from ..checkpoints import Checkpoints
from ..filters import Filters
from ..manifest import check_model, chunker_entry
from ..passages import EMBED_TEXT_VERSION, passage_text
from ..prepare import vector_identity
from ..protocol import Changes, Origin
from ..update import PipelineUpdates
from . import layout
from .bm25 import KeywordIndex
from .dense import IndexType, build_dense, choose_index_type, default_params, search_dense
from .masks import DocTable
from .save import write_generation

if TYPE_CHECKING:
    import faiss

    from ...model.protocol import Embedder

__all__ = ["FolderIndex"]


def sources_of(origins: frozenset[Origin]) -> tuple[str, ...]:
    """File names a document was loaded from, sorted.

    >>> sources_of(frozenset({("b.txt", "/r/b.txt"), ("a.txt", "")}))
    ('a.txt', 'b.txt')
    """
    return tuple(sorted({source for source, _ in origins}))


class FolderIndex(PipelineUpdates):
    """Documents, chunks (positions 0..n-1), vectors and BM25 of one index directory.

    Build or open one with `rag.index.folder.persist.build_index` / `load_index`.
    """

    def __init__(
        self,
        index_dir: Path,
        manifest: dict[str, Any],
        documents: dict[str, Document],
        chunks: list[Chunk],
        embeddings: np.ndarray,
        *,
        origins: dict[str, frozenset[Origin]],
        dense: faiss.Index | None = None,
        keyword: KeywordIndex | None = None,
        embedder: Embedder | None = None,
        settings: Settings | None = None,
        generation: str | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.manifest = manifest
        self.documents = documents
        self.chunks = chunks
        self._embeddings = embeddings
        self._origins = origins
        self._dense = dense
        self._keyword = keyword
        self._embedder = embedder
        self._settings = settings
        self._generation = generation  # the generation this state was read from / last saved as
        self._dirty = generation is None
        self._doc_of_chunk: np.ndarray | None = None
        self._catalog: tuple[dict[str, Document], tuple[ReportCard, ...]] | None = None
        self._table: DocTable | None = None  # rebuilt when the documents change
        self._lock = layout.process_lock(self.index_dir)

    @classmethod
    def create(
        cls,
        index_dir: Path,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        index_type: str | None = None,
    ) -> FolderIndex:
        """An empty, unsaved index for `embedder` (default: the configured model)."""
        settings = settings or Settings.from_env()
        if embedder is None:
            embedder = get_embedder(settings.model, settings.cache_dir, settings.runtime, settings.precision)
        manifest: dict[str, Any] = {
            "format_version": layout.FORMAT_VERSION,
            "created_at": None,
            "model": embedder.name,
            "dim": int(embedder.dim),
            "chunker": chunker_entry(settings),
            "embed_text_version": EMBED_TEXT_VERSION,
            "embeddings_dtype": "float32",
            "index_type": choose_index_type(0, index_type),
            "index_type_override": index_type,
            "index_params": {},
            "chunk_count": 0,
            "document_count": 0,
            "documents": {},
            "files": {},
        }
        empty = np.zeros((0, int(embedder.dim)), dtype=np.float32)
        return cls(index_dir, manifest, {}, [], empty, origins={}, embedder=embedder, settings=settings)

    # -- properties -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.chunks)

    def __repr__(self) -> str:
        return (
            f"FolderIndex({str(self.index_dir)!r}, {len(self.documents)} documents, {len(self.chunks)} chunks, "
            f"model={self.manifest['model']!r}, {self.manifest['index_type']})"
        )

    @property
    def where(self) -> str:
        return f"the index at {self.index_dir}"

    @property
    def rebuild_hint(self) -> str:
        return layout.rebuild_hint(self.index_dir)

    @property
    def generation(self) -> str | None:
        """Name of the generation this index was loaded from or last saved as (None: never saved)."""
        return self._generation

    @property
    def dirty(self) -> bool:
        """Whether the index holds changes `save` has not published yet."""
        return self._dirty

    @property
    def embedder(self) -> Embedder:
        """The embedder of the index's model (obtained on first use); checked against the manifest."""
        if self._embedder is None:
            settings = self._settings or Settings.from_env()
            embedder = get_embedder(self.manifest["model"], settings.cache_dir, settings.runtime, settings.precision)
            check_model(self.where, self.manifest, embedder.name, int(embedder.dim), self.rebuild_hint)
            self._embedder = embedder
        return self._embedder

    @property
    def embeddings(self) -> np.ndarray:
        """(n_chunks, dim) float32; row i belongs to `chunks[i]` (may be memory-mapped)."""
        return self._embeddings

    @property
    def keyword(self) -> KeywordIndex:
        """The BM25 index over the chunks (built on first use if it was not stored)."""
        if self._keyword is None:
            self._keyword = KeywordIndex.build([self._passage(c) for c in self.chunks])
        return self._keyword

    @property
    def dense(self) -> faiss.Index:
        """The FAISS index over the embeddings (built on first use after an update)."""
        if self._dense is None:
            kind: IndexType = choose_index_type(len(self.chunks), self.manifest.get("index_type_override"))
            params = default_params(kind, len(self.chunks))
            self._dense = build_dense(self._embeddings, kind, params)
            self.manifest["index_type"] = kind
            self.manifest["index_params"] = params
        return self._dense

    def origins_of(self, doc_id: str) -> frozenset[Origin]:
        """(file name, resolved path or "") pairs a document was loaded from."""
        return self._origins[doc_id]

    def sources(self, doc_id: str) -> tuple[str, ...]:
        """File names a document was loaded from (several for identical copies)."""
        return sources_of(self._origins[doc_id])

    # -- search primitives --------------------------------------------------------------

    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk positions and cosine scores for a query vector, best first."""
        qvec = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if qvec.shape[0] != int(self.manifest["dim"]):
            raise IndexMismatchError(
                f"query vector has dim {qvec.shape[0]}, the index at {self.index_dir} has dim "
                f"{self.manifest['dim']} (model {self.manifest['model']})"
            )
        return search_dense(self.dense, qvec, k, allowed, vectors=self._embeddings)

    def keyword_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk positions and BM25 scores (> 0) for a query, best first."""
        return self.keyword.search(query, k, allowed)

    def catalog(self) -> tuple[ReportCard, ...]:
        """Every report without its text, computed once per document set (updates replace the dict).

        Retrieval reads it on every question; walking the documents each time cost 1.5 ms
        a query at 100k chunks (5k reports), ~15 ms at 1M.
        """
        cached = self._catalog
        if cached is None or cached[0] is not self.documents:
            cached = (self.documents, tuple(ReportCard.of(self.documents[d]) for d in sorted(self.documents)))
            self._catalog = cached
        return cached[1]

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask over chunk positions for `filters`; None when it restricts nothing."""
        if filters.empty:
            return None
        table = self._table
        if table is None or table.documents is not self.documents:  # updates replace the dict
            table = self._table = DocTable.of(self.documents)
        if self._doc_of_chunk is None or len(self._doc_of_chunk) != len(self.chunks):
            self._doc_of_chunk = table.positions(self.chunks)
        return table.passing(filters)[self._doc_of_chunk]

    def _passage(self, chunk: Chunk) -> str:
        return passage_text(self.documents[chunk.doc_id].title, chunk)

    # -- storage primitives of the update pipeline (rag.index.update.PipelineUpdates) -----

    def chunk_settings(self) -> tuple[int, int] | None:
        if not self.chunks:  # nothing chunked yet: adopt the current settings and chunker
            self.manifest["chunker"] = chunker_entry(self._settings or Settings.from_env())
            return None
        # Without explicit settings the index keeps chunking as it did (only the version must match).
        return (self._settings.chunk_tokens, self._settings.chunk_overlap) if self._settings else None

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, DocumentMeta]]:
        docs = self.documents
        return {d: (docs[d].title, docs[d].meta) for d in doc_ids if d in docs}

    @contextlib.contextmanager
    def writing(self) -> Iterator[_Writer]:
        with self._lock:
            yield _Writer(self)

    def set_index_type(self, index_type: str | None) -> None:
        """Force a FAISS index type (flat, hnsw, ivf) or go back to automatic (None)."""
        if index_type is not None:
            choose_index_type(0, index_type)
        with self._lock:
            if self.manifest.get("index_type_override") != index_type:
                self.manifest["index_type_override"] = index_type
                self._dense = None
                self._dirty = True

    def _replace(
        self,
        documents: dict[str, Document],
        origins: dict[str, frozenset[Origin]],
        added: Mapping[str, Any],
    ) -> None:
        """Lay out chunks in canonical order (doc_id, ordinal), reusing old rows where possible."""
        old_rows: dict[str, range] = {}
        for i, chunk in enumerate(self.chunks):  # a document's chunks are contiguous
            first = old_rows.get(chunk.doc_id, range(i, i)).start
            old_rows[chunk.doc_id] = range(first, i + 1)
        chunks: list[Chunk] = []
        blocks: list[np.ndarray] = []
        keyword_rows: list[int | Sequence[str]] = []
        for doc_id in sorted(documents):
            if doc_id in added:
                new = added[doc_id]
                doc_chunks = list(new.chunks)
                blocks.append(np.asarray(new.vectors, dtype=np.float32))
                keyword_rows.extend(new.tokens)
            else:
                rows = old_rows.get(doc_id, range(0))
                doc_chunks = self.chunks[rows.start : rows.stop]
                blocks.append(np.asarray(self._embeddings[rows.start : rows.stop], dtype=np.float32))
                keyword_rows.extend(rows)
            chunks.extend(doc_chunks)
        dim = int(self.manifest["dim"])
        embeddings = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
        self._keyword = self._keyword.derive(keyword_rows) if self._keyword is not None else None
        self.documents = documents
        self._origins = origins
        self.chunks = chunks
        self._embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self._dense = None
        self._doc_of_chunk = None
        self._dirty = True

    def save(self) -> str | None:
        """Publish the current state as a new generation; returns its name (None: nothing changed)."""
        with self._lock, layout.writer_lock(self.index_dir):
            if not self._dirty and self._generation is not None:
                return None
            with stage("faiss"):
                dense = self.dense
            with stage("bm25"):
                keyword = self.keyword
            with stage("write"):
                name, self.manifest = write_generation(
                    self.index_dir, self._generation, self.manifest, self.documents, self._origins, self.chunks,
                    self._embeddings, dense, keyword,
                )  # fmt: skip
            self._generation = name
            self._dirty = False
            self.checkpoints.discard(self.documents)  # published: an interrupted update's vectors are no longer needed
            return name

    @property
    def checkpoints(self) -> Checkpoints:
        """Embedded reports of an update not yet saved, in the index folder (see rag.index.checkpoints)."""
        return Checkpoints(self.index_dir / layout.CHECKPOINTS, lambda: vector_identity(self.embedder))


class _Writer:
    """An update's view of a folder index (the caller holds its process lock)."""

    def __init__(self, index: FolderIndex) -> None:
        self._index = index

    def origins(self) -> dict[str, frozenset[Origin]]:
        return dict(self._index._origins)

    def write(self, changes: Changes) -> tuple[int, int]:
        index = self._index
        if not changes.empty:
            origins = {d: o for d, o in index._origins.items() if d not in changes.dropped}
            origins.update(changes.origins)
            documents = {d: doc for d, doc in index.documents.items() if d not in changes.dropped}
            documents.update({d: p.document for d, p in changes.added.items()})
            for doc_id, doc in changes.redescribed.items():  # the stored source stays
                documents[doc_id] = dataclasses.replace(doc, source=documents[doc_id].source)
            for doc_id in changes.origins:  # a document's source is its first file name
                first = sources_of(origins[doc_id])[0]
                if documents[doc_id].source != first:
                    documents[doc_id] = dataclasses.replace(documents[doc_id], source=first)
            index._replace(documents, origins, changes.added)
        return len(index.documents), len(index.chunks)
