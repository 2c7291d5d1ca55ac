"""The index: documents, chunks, their vectors (FAISS) and BM25, saved as generations.

`build_index` creates or incrementally updates an index from files and folders;
`load_index` opens one for searching. An update embeds only what is new: a
report whose cleaned text is unchanged (same content hash) is skipped without
calling the embedder, an edited report is re-chunked and re-embedded, a report
whose file disappeared from a re-indexed folder is removed, and identical
copies of a report are indexed once (one doc_id, all sources recorded).

Writers are serialised (a lock per index directory in this process, an fcntl
lock across processes); readers never block. See `rag.store` for the layout.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import store
from .dense import (
    IndexType,
    build_dense,
    choose_index_type,
    default_params,
    dense_index_type,
    read_dense,
    write_dense,
)
from .dense import search_dense as _search_dense
from .errors import IndexCorruptError, IndexMismatchError, LoadError
from .keyword import KeywordIndex, tokenizer_fingerprint
from .types import Chunk, Document

if TYPE_CHECKING:
    import faiss

    from .config import Settings
    from .embed import Embedder
    from .retrieve import Filters
    from .types import Hit

__all__ = ["Index", "UpdateSummary", "build_index", "load_index", "passage_text", "EMBED_TEXT_VERSION"]

log = logging.getLogger(__name__)

EMBED_TEXT_VERSION = 1  # bump when passage_text changes: stored vectors no longer match
_LOAD_RETRIES = 3


def passage_text(title: str, chunk: Chunk) -> str:
    """What gets embedded and BM25-indexed for a chunk: title, section path, text.

    The stored chunk text stays exactly the document slice; the title and
    headings only help retrieval (a chunk rarely repeats its report's subject).

    >>> passage_text("报告", Chunk("c", "d", "正文", 0, 2, ("一、总体", "(一)细则"), 0))
    '报告\\n一、总体 > (一)细则\\n正文'
    """
    parts = [title]
    if chunk.section:
        parts.append(" > ".join(chunk.section))
    parts.append(chunk.text)
    return "\n".join(parts)


@dataclass(frozen=True)
class UpdateSummary:
    """What `Index.add` did. `chunks` counts the chunks embedded by this update."""

    added: int
    updated: int
    removed: int
    skipped: int
    chunks: int
    seconds: float
    errors: tuple[LoadError, ...] = ()
    total_documents: int = 0
    total_chunks: int = 0


@dataclass(frozen=True)
class _Record:
    """Where a document came from: (file name, resolved path or "") pairs, sorted.

    Identical copies of a report give one document with several origins; an
    upload has a file name but no path.
    """

    origins: tuple[tuple[str, str], ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted({source for source, _ in self.origins}))

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(path for _, path in self.origins if path)

    def with_origin(self, source: str, path: str | None) -> _Record:
        return _Record(tuple(sorted({*self.origins, (source, path or "")})))

    def without_path(self, path: str) -> _Record:
        return _Record(tuple(o for o in self.origins if o[1] != path))


@dataclass(frozen=True)
class _DocTable:
    """What metadata filters read, per document in sorted doc_id order."""

    documents: dict[str, Document]  # the dict this was computed from (identity = freshness)
    ordered: list[str]
    where: dict[str, int]
    years: np.ndarray  # int64; -1 where the report names no year
    publisher_names: list[str]  # distinct publishers ("" for none)
    publisher_of: np.ndarray  # index into publisher_names, per document

    @classmethod
    def of(cls, documents: dict[str, Document]) -> _DocTable:
        ordered = sorted(documents)
        metas = [documents[d].meta for d in ordered]
        names = sorted({m.publisher or "" for m in metas})
        slot = {name: i for i, name in enumerate(names)}
        return cls(
            documents=documents,
            ordered=ordered,
            where={d: i for i, d in enumerate(ordered)},
            years=np.fromiter((m.year if m.year is not None else -1 for m in metas), dtype=np.int64, count=len(metas)),
            publisher_names=names,
            publisher_of=np.fromiter((slot[m.publisher or ""] for m in metas), dtype=np.int64, count=len(metas)),
        )


class Index:
    """Documents, chunks (positions 0..n-1), vectors and BM25 of one index directory.

    Build or open one with `build_index` / `load_index`; `add`/`remove` change
    it in memory and `save` publishes a new generation atomically.
    """

    def __init__(
        self,
        index_dir: Path,
        manifest: dict[str, Any],
        documents: dict[str, Document],
        chunks: list[Chunk],
        embeddings: np.ndarray,
        *,
        records: dict[str, _Record],
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
        self.last_summary: UpdateSummary | None = None
        self._embeddings = embeddings
        self._records = records
        self._dense = dense
        self._keyword = keyword
        self._embedder = embedder
        self._settings = settings
        self._generation = generation  # the generation this state was read from / last saved as
        self._dirty = generation is None
        self._doc_of_chunk: np.ndarray | None = None
        self._places: tuple[dict[str, Document], frozenset[str]] | None = None
        self._table: _DocTable | None = None
        self._lock = store.process_lock(self.index_dir)

    # -- construction -----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        index_dir: Path,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        index_type: str | None = None,
    ) -> Index:
        """An empty, unsaved index for `embedder` (default: the configured model)."""
        settings = settings or _settings()
        if embedder is None:
            from .embed import get_embedder

            embedder = get_embedder(settings.model, settings.cache_dir, settings.runtime)
        if index_type is not None:
            choose_index_type(0, index_type)  # validates the name
        from .chunk import CHUNKER_VERSION

        manifest: dict[str, Any] = {
            "format_version": store.FORMAT_VERSION,
            "created_at": None,
            "model": embedder.name,
            "dim": int(embedder.dim),
            "chunker": {
                "max_tokens": settings.chunk_tokens,
                "overlap": settings.chunk_overlap,
                "chunker_version": CHUNKER_VERSION,
            },
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
        return cls(index_dir, manifest, {}, [], empty, records={}, embedder=embedder, settings=settings)

    # -- properties -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.chunks)

    def __repr__(self) -> str:
        return (
            f"Index({str(self.index_dir)!r}, {len(self.documents)} documents, {len(self.chunks)} chunks, "
            f"model={self.manifest['model']!r}, {self.manifest['index_type']})"
        )

    @property
    def generation(self) -> str | None:
        """Name of the generation this index was loaded from or last saved as (None: never saved)."""
        return self._generation

    @property
    def embedder(self) -> Embedder:
        """The embedder of the index's model (obtained on first use); checked against the manifest."""
        if self._embedder is None:
            from .embed import get_embedder

            settings = self._settings or _settings()
            embedder = get_embedder(self.manifest["model"], settings.cache_dir, settings.runtime)
            _check_embedder(self.index_dir, self.manifest, embedder)
            self._embedder = embedder
        return self._embedder

    @property
    def embeddings(self) -> np.ndarray:
        """(n_chunks, dim) float32; row i belongs to `chunks[i]` (may be memory-mapped)."""
        return self._embeddings

    def sources(self, doc_id: str) -> tuple[str, ...]:
        """File names a document was loaded from (several for identical copies)."""
        return self._records[doc_id].sources

    # -- search primitives --------------------------------------------------------------

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """Hybrid search (see `rag.retrieve.search`)."""
        from .retrieve import search

        return search(self, query, k, filters)

    def dense_search(
        self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk positions and cosine scores for a query vector, best first."""
        qvec = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if qvec.shape[0] != int(self.manifest["dim"]):
            raise IndexMismatchError(
                f"query vector has dim {qvec.shape[0]}, the index at {self.index_dir} has dim "
                f"{self.manifest['dim']} (model {self.manifest['model']})"
            )
        return _search_dense(self._dense_index(), qvec, k, allowed, vectors=self._embeddings)

    def keyword_search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk positions and BM25 scores (> 0) for a query, best first."""
        return self._keyword_index().search(query, k, allowed)

    def places(self) -> frozenset[str]:
        """Places the indexed reports name (for retrieval's place preference), computed once per document set.

        Retrieval asks on every query; walking the documents each time cost 1.5 ms
        a query at 100k chunks (5k reports), ~15 ms at 1M.
        """
        cached = self._places
        if cached is None or cached[0] is not self.documents:  # updates replace the dict
            cached = (self.documents, frozenset(d.meta.place for d in self.documents.values() if d.meta.place))
            self._places = cached
        return cached[1]

    def mask(
        self,
        doc_ids: set[str] | None = None,
        years: set[int] | None = None,
        publishers: set[str] | None = None,
    ) -> np.ndarray | None:
        """Boolean mask over chunk positions for metadata filters; None when no filter is given.

        A chunk passes when its document is in `doc_ids`, its year is in `years`,
        and its publisher contains one of `publishers` (substring match); filters
        combine with AND. An empty set matches nothing.
        """
        if doc_ids is None and years is None and publishers is None:
            return None
        table = self._doc_table()
        keep = np.ones(len(table.ordered), dtype=bool)
        if doc_ids is not None:
            wanted = np.zeros(len(table.ordered), dtype=bool)
            wanted[[table.where[d] for d in doc_ids if d in table.where]] = True
            keep &= wanted
        if years is not None:
            # a year beyond int64 (hostile input) matches no report, as `meta.year in years` did
            wanted_years = np.asarray([y for y in years if -(2**62) < y < 2**62], dtype=np.int64)
            keep &= np.isin(table.years, wanted_years) & (table.years != -1)
        if publishers is not None:
            matches = np.fromiter(
                (any(p and p in name for p in publishers) for name in table.publisher_names),
                dtype=bool,
                count=len(table.publisher_names),
            )
            keep &= matches[table.publisher_of]
        return keep[self._doc_positions(table.ordered)]

    def _doc_table(self) -> _DocTable:
        """Per-document metadata as arrays (sorted doc_id order), rebuilt when the documents change.

        A filter used to walk every document in Python: ~40 ms a query at 1M chunks (50k reports).
        """
        table = self._table
        if table is None or table.documents is not self.documents:  # updates replace the dict
            table = _DocTable.of(self.documents)
            self._table = table
        return table

    def _doc_positions(self, ordered: list[str]) -> np.ndarray:
        if self._doc_of_chunk is None or len(self._doc_of_chunk) != len(self.chunks):
            where = {doc_id: i for i, doc_id in enumerate(ordered)}
            self._doc_of_chunk = np.fromiter(
                (where[c.doc_id] for c in self.chunks), dtype=np.int64, count=len(self.chunks)
            )
        return self._doc_of_chunk

    def _dense_index(self) -> faiss.Index:
        if self._dense is None:
            kind: IndexType = choose_index_type(len(self.chunks), self.manifest.get("index_type_override"))
            params = default_params(kind, len(self.chunks))
            self._dense = build_dense(self._embeddings, kind, params)
            self.manifest["index_type"] = kind
            self.manifest["index_params"] = params
        return self._dense

    def _keyword_index(self) -> KeywordIndex:
        if self._keyword is None:
            self._keyword = KeywordIndex.build([self._passage(c) for c in self.chunks])
        return self._keyword

    def _passage(self, chunk: Chunk) -> str:
        return passage_text(self.documents[chunk.doc_id].title, chunk)

    # -- updates ----------------------------------------------------------------------

    def add(self, paths: Sequence[Path | str], progress: bool = False) -> UpdateSummary:
        """Load files and folders and bring the index up to date with them (in memory; call `save`).

        New reports are added, edited ones (same file, new content) re-embedded,
        unchanged ones skipped without embedding; for every folder given, reports
        indexed from a file under it that no longer exists are removed.
        """
        from .load import load_files

        start = time.perf_counter()
        files, loaded, errors = load_files(paths)
        # a file that exists but failed to load keeps its previous version in the index
        present = {str(p.resolve()) for p in files}
        folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
        gone = {
            path
            for record in self._records.values()
            for path in record.paths
            if path not in present and any(_is_under(path, folder) for folder in folders)
        }
        summary = self._apply(loaded, gone=gone, progress=progress)
        summary = dataclasses.replace(summary, errors=tuple(errors), seconds=time.perf_counter() - start)
        self.last_summary = summary
        return summary

    def add_documents(
        self,
        documents: Sequence[Document],
        paths: Sequence[str | None] | None = None,
        progress: bool = False,
    ) -> UpdateSummary:
        """Add already-loaded documents (e.g. an upload); `paths[i]` is where documents[i] lives, if anywhere."""
        start = time.perf_counter()
        from .load import with_paths

        pairs = with_paths(documents, paths)
        summary = self._apply(pairs, gone=set(), progress=progress)
        summary = dataclasses.replace(summary, seconds=time.perf_counter() - start)
        self.last_summary = summary
        return summary

    def remove(self, doc_ids_or_sources: Sequence[str]) -> int:
        """Remove documents by doc_id, file name (source) or path; returns how many were removed."""
        wanted = set(doc_ids_or_sources)
        resolved = {str(Path(w).resolve()) for w in wanted if w}
        victims = [
            doc_id
            for doc_id, record in self._records.items()
            if doc_id in wanted or wanted.intersection(record.sources) or resolved.intersection(record.paths)
        ]
        if victims:
            with self._lock:
                self._rebuild(
                    {d: doc for d, doc in self.documents.items() if d not in victims},
                    {d: r for d, r in self._records.items() if d not in victims},
                    new_chunks={},
                    new_vectors={},
                )
        return len(victims)

    def _apply(
        self, loaded: Sequence[tuple[Document, str | None]], *, gone: set[str], progress: bool
    ) -> UpdateSummary:
        with self._lock:
            self._check_chunker()
            records = dict(self._records)
            path_owner = {p: d for d, r in records.items() for p in r.paths}
            new_docs: dict[str, Document] = {}
            replaced: dict[str, str] = {}  # new doc_id -> old doc_id its file used to hold
            known: set[str] = set()  # already-indexed content met again: skipped
            detached: set[str] = set()  # documents that lost a file this round

            def detach(path: str) -> str | None:
                owner = path_owner.pop(path, None)
                if owner is not None:
                    records[owner] = records[owner].without_path(path)
                    detached.add(owner)
                return owner

            for path in sorted(gone):
                detach(path)
            for doc, path in loaded:
                previous = path_owner.get(path) if path else None
                if path and previous is not None and previous != doc.doc_id:
                    detach(path)  # the file now holds other content: an edit
                if doc.doc_id in self.documents:
                    known.add(doc.doc_id)
                elif doc.doc_id not in new_docs:
                    new_docs[doc.doc_id] = doc
                    if previous is not None and previous != doc.doc_id:
                        replaced[doc.doc_id] = previous
                records[doc.doc_id] = records.get(doc.doc_id, _Record()).with_origin(doc.source, path)
                if path:
                    path_owner[path] = doc.doc_id
            # A document none of whose files remain is dropped (uploads without a path never are).
            dropped = {d for d in detached if not records[d].origins and d not in new_docs and d not in known}
            for doc_id in dropped:
                del records[doc_id]
            documents = {d: doc for d, doc in self.documents.items() if d not in dropped} | new_docs
            # a document's `source` is its first file name, whichever copy was read first
            for doc_id, doc in documents.items():
                if doc.source != records[doc_id].sources[0]:
                    documents[doc_id] = dataclasses.replace(doc, source=records[doc_id].sources[0])

            new_chunks = {doc_id: self._chunk(doc) for doc_id, doc in sorted(new_docs.items())}
            texts = [passage_text(new_docs[d].title, c) for d, cs in new_chunks.items() for c in cs]
            vectors = self._embed(texts, progress=progress)
            per_doc: dict[str, np.ndarray] = {}
            offset = 0
            for doc_id, chunks in new_chunks.items():
                per_doc[doc_id] = vectors[offset : offset + len(chunks)]
                offset += len(chunks)
            if new_docs or dropped or records != self._records or documents != self.documents:
                self._rebuild(documents, records, new_chunks=new_chunks, new_vectors=per_doc)
            updated = {d for d, old in replaced.items() if old in dropped}
            return UpdateSummary(
                added=len(new_docs) - len(updated),
                updated=len(updated),
                removed=len(dropped) - len(updated),
                skipped=len(known),
                chunks=len(texts),
                seconds=0.0,
                total_documents=len(self.documents),
                total_chunks=len(self.chunks),
            )

    def _rebuild(
        self,
        documents: dict[str, Document],
        records: dict[str, _Record],
        *,
        new_chunks: dict[str, list[Chunk]],
        new_vectors: dict[str, np.ndarray],
    ) -> None:
        """Lay out chunks in canonical order (doc_id, ordinal), reusing old rows where possible."""
        old_rows: dict[str, range] = {}
        for i, chunk in enumerate(self.chunks):  # a document's chunks are contiguous
            first = old_rows.get(chunk.doc_id, range(i, i)).start
            old_rows[chunk.doc_id] = range(first, i + 1)
        chunks: list[Chunk] = []
        blocks: list[np.ndarray] = []
        keyword_rows: list[int | str] = []
        dim = int(self.manifest["dim"])
        for doc_id in sorted(documents):
            if doc_id in new_chunks:
                doc_chunks = new_chunks[doc_id]
                blocks.append(new_vectors[doc_id])
                keyword_rows.extend(passage_text(documents[doc_id].title, c) for c in doc_chunks)
            else:
                rows = old_rows.get(doc_id, range(0))
                doc_chunks = self.chunks[rows.start : rows.stop]
                blocks.append(np.asarray(self._embeddings[rows.start : rows.stop], dtype=np.float32))
                keyword_rows.extend(rows)
            chunks.extend(doc_chunks)
        embeddings = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
        keyword = self._keyword.derive(keyword_rows) if self._keyword is not None else None
        self.documents = documents
        self._records = records
        self.chunks = chunks
        self._embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self._keyword = keyword
        self._dense = None
        self._doc_of_chunk = None
        self._dirty = True

    def _chunk(self, doc: Document) -> list[Chunk]:
        from .chunk import chunk_document

        c = self.manifest["chunker"]
        return chunk_document(doc, max_tokens=int(c["max_tokens"]), overlap=int(c["overlap"]))

    def _check_chunker(self) -> None:
        from .chunk import CHUNKER_VERSION, check_chunker

        if not self.chunks:  # nothing chunked yet: adopt the current settings and chunker
            settings = self._settings or _settings()
            self.manifest["chunker"] = {
                "max_tokens": settings.chunk_tokens,
                "overlap": settings.chunk_overlap,
                "chunker_version": CHUNKER_VERSION,
            }
            return
        # Without explicit settings the index keeps chunking as it did (only the version must match).
        tokens, overlap = (self._settings.chunk_tokens, self._settings.chunk_overlap) if self._settings else (None, None)
        check_chunker(
            self.manifest["chunker"], tokens, overlap, f"index at {self.index_dir}", store.rebuild_hint(self.index_dir)
        )

    def _embed(self, texts: list[str], progress: bool) -> np.ndarray:
        from .embed import embed_in_batches

        dim = int(self.manifest["dim"])
        if not texts:  # nothing to embed: do not load the model
            return np.zeros((0, dim), dtype=np.float32)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="chunk")
        try:
            where = f"the index at {self.index_dir}"
            return embed_in_batches(self.embedder, texts, dim, where, bar.update if bar is not None else None)
        finally:
            if bar is not None:
                bar.close()

    def set_index_type(self, index_type: str | None) -> None:
        """Force a FAISS index type (flat, hnsw, ivf) or go back to automatic (None)."""
        if index_type is not None:
            choose_index_type(0, index_type)
        with self._lock:
            if self.manifest.get("index_type_override") != index_type:
                self.manifest["index_type_override"] = index_type
                self._dense = None
                self._dirty = True

    # -- persistence ------------------------------------------------------------------

    def save(self) -> str | None:
        """Publish the current state as a new generation; returns its name (None: nothing changed)."""
        with self._lock, store.writer_lock(self.index_dir):
            if not self._dirty and self._generation is not None:
                return None
            if self._generation is not None:
                try:
                    live = store.current_generation(self.index_dir).name
                except IndexCorruptError:
                    live = None
                if live != self._generation:
                    raise IndexMismatchError(
                        f"the index at {self.index_dir} was changed by another writer since it was loaded "
                        f"({self._generation} → {live}): load it again and repeat the change"
                    )
            dense = self._dense_index()
            keyword = self._keyword_index()
            manifest = self._manifest_for_save()
            with store.new_generation(self.index_dir) as tmp:
                store.write_jsonl(
                    tmp / store.DOCUMENTS,
                    (store.document_to_record(self.documents[d]) for d in sorted(self.documents)),
                )
                store.write_jsonl(tmp / store.CHUNKS, (store.chunk_to_record(c) for c in self.chunks))
                store.write_npy(tmp / store.EMBEDDINGS, self._embeddings)
                write_dense(dense, tmp / store.VECTORS)
                keyword.save(tmp / store.KEYWORD)
                manifest["files"] = store.describe_files(tmp)
                store.write_json(tmp / store.MANIFEST, manifest)
            name = store.current_generation(self.index_dir).name
            self.manifest = manifest
            self._generation = name
            self._dirty = False
            return name

    def _manifest_for_save(self) -> dict[str, Any]:
        m = dict(self.manifest)
        m["created_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        m["chunk_count"] = len(self.chunks)
        m["document_count"] = len(self.documents)
        m["keyword"] = {"tokenizer_fingerprint": tokenizer_fingerprint()}
        counts: dict[str, int] = {}
        for c in self.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        m["documents"] = {
            doc_id: {
                "title": doc.title,
                "source": doc.source,
                "sources": list(self._records[doc_id].sources),
                "origins": [
                    {"source": src, "path": path or None} for src, path in self._records[doc_id].origins
                ],
                "text_sha256": _sha256(doc.text),
                "chunk_count": counts.get(doc_id, 0),
                "meta": dataclasses.asdict(doc.meta),
            }
            for doc_id, doc in sorted(self.documents.items())
        }
        return m


# -- module API ---------------------------------------------------------------------


def build_index(
    paths: Sequence[Path | str],
    index_dir: Path | str,
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    index_type: str | None = None,
    progress: bool = False,
    rebuild: bool = False,
) -> Index:
    """Create the index at `index_dir` from `paths`, or update it incrementally, and save it.

    `rebuild=True` ignores the existing index (its files are replaced only once the
    new one is complete). The update's `UpdateSummary` is `index.last_summary`.
    """
    index_dir = Path(index_dir)
    settings = settings or _settings()
    with store.writer_lock(index_dir):
        index: Index | None = None
        if not rebuild:
            try:
                index = load_index(index_dir, embedder=embedder, settings=settings, mmap=False)
            except store.IndexNotFoundError:
                index = None
        if index is None:
            # saving a fresh index replaces whatever is live only once it is complete
            index = Index.create(index_dir, settings=settings, embedder=embedder, index_type=index_type)
        elif index_type is not None:
            index.set_index_type(index_type)
        summary = index.add(paths, progress=progress)
        index.save()
        index.last_summary = summary
        return index


def load_index(
    index_dir: Path | str,
    *,
    embedder: Embedder | None = None,
    settings: Settings | None = None,
    mmap: bool = True,
) -> Index:
    """Open the index CURRENT names, checking every file against the manifest.

    Raises IndexNotFoundError (nothing built there), IndexCorruptError (missing,
    truncated or inconsistent files) or IndexMismatchError (other format version,
    or the given/configured embedding model differs from the index's).
    `mmap=True` maps vectors and BM25 arrays from disk instead of reading them.
    """
    index_dir = Path(index_dir)
    for attempt in range(_LOAD_RETRIES):
        gen = store.current_generation(index_dir)
        try:
            return _load_generation(index_dir, gen, embedder=embedder, settings=settings, mmap=mmap)
        except IndexCorruptError:
            # a writer may have switched CURRENT and deleted this generation while we read it
            if attempt + 1 < _LOAD_RETRIES and store.current_generation(index_dir) != gen:
                continue
            raise
    raise AssertionError("unreachable")


def _load_generation(
    index_dir: Path, gen: Path, *, embedder: Embedder | None, settings: Settings | None, mmap: bool
) -> Index:
    manifest = store.read_manifest(gen)
    hint = store.rebuild_hint(index_dir)
    if embedder is not None:
        _check_embedder(index_dir, manifest, embedder)
    else:
        configured = (settings or _settings()).model
        if configured != manifest["model"]:
            raise IndexMismatchError(_mismatch_message(index_dir, manifest, configured, None))
    store.check_files(gen, manifest["files"])
    try:
        n = int(manifest["chunk_count"])
        dim = int(manifest["dim"])
        listed: dict[str, dict[str, Any]] = dict(manifest["documents"])
    except (TypeError, ValueError) as exc:
        raise IndexCorruptError(f"{gen / store.MANIFEST} has malformed fields ({exc}): {hint}") from exc

    documents: dict[str, Document] = {}
    records: dict[str, _Record] = {}
    for rec in store.read_jsonl(gen / store.DOCUMENTS, index_dir):
        try:
            doc = store.document_from_record(rec)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(
                f"{gen / store.DOCUMENTS} holds a malformed document ({exc}): {hint}"
            ) from exc
        info = listed.get(doc.doc_id)
        if info is None:
            raise IndexCorruptError(
                f"{gen / store.DOCUMENTS} holds {doc.doc_id}, which the manifest does not list: {hint}"
            )
        documents[doc.doc_id] = doc
        try:
            origins = tuple(sorted((str(o["source"]), str(o["path"] or "")) for o in info["origins"]))
        except (KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"{gen / store.MANIFEST} lists malformed origins for {doc.doc_id}: {hint}"
            ) from exc
        records[doc.doc_id] = _Record(origins)
    if documents.keys() != listed.keys():
        raise IndexCorruptError(
            f"{gen / store.DOCUMENTS} has {len(documents)} documents, the manifest lists {len(listed)}: {hint}"
        )

    chunks: list[Chunk] = []
    for rec in store.read_jsonl(gen / store.CHUNKS, index_dir):
        try:
            chunk = store.chunk_from_record(rec)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{gen / store.CHUNKS} holds a malformed chunk ({exc}): {hint}") from exc
        doc = documents.get(chunk.doc_id)
        if doc is None or doc.text[chunk.start : chunk.end] != chunk.text:
            raise IndexCorruptError(
                f"{gen / store.CHUNKS} line {len(chunks) + 1} does not match its document's text: {hint}"
            )
        chunks.append(chunk)
    if len(chunks) != n:
        raise IndexCorruptError(
            f"{gen / store.CHUNKS} has {len(chunks)} chunks, the manifest says {n}: {hint}"
        )

    embeddings = store.read_npy(
        gen / store.EMBEDDINGS,
        (n, dim),
        manifest.get("embeddings_dtype", "float32"),
        mmap=mmap,
        index_dir=index_dir,
    )
    dense = read_dense(gen / store.VECTORS, mmap=mmap)
    if int(dense.ntotal) != n or int(dense.d) != dim:
        raise IndexCorruptError(
            f"{gen / store.VECTORS} holds {dense.ntotal} vectors of dim {dense.d}; the manifest says "
            f"{n} of dim {dim}: {hint}"
        )
    if dense_index_type(dense) != manifest["index_type"]:
        raise IndexCorruptError(
            f"{gen / store.VECTORS} is a {dense_index_type(dense)} index, the manifest says "
            f"{manifest['index_type']}: {hint}"
        )
    keyword: KeywordIndex | None
    try:
        keyword = KeywordIndex.load(gen / store.KEYWORD, mmap=mmap)
    except IndexMismatchError as exc:
        # BM25 is derived from the chunk texts: re-tokenise rather than refuse to start
        log.warning("%s; re-tokenising %d chunks (saved with the next update)", exc, n)
        keyword = None
    if keyword is not None and len(keyword) != n:
        raise IndexCorruptError(
            f"{gen / store.KEYWORD} indexes {len(keyword)} chunks, the manifest says {n}: {hint}"
        )
    index = Index(
        index_dir,
        manifest,
        documents,
        chunks,
        embeddings,
        records=records,
        dense=dense,
        keyword=keyword,
        embedder=embedder,
        settings=settings,
        generation=gen.name,
    )
    if keyword is None:
        index._keyword_index()
        index._dirty = True
    return index


def _check_embedder(index_dir: Path, manifest: dict[str, Any], embedder: Embedder) -> None:
    if embedder.name != manifest["model"] or int(embedder.dim) != int(manifest["dim"]):
        raise IndexMismatchError(_mismatch_message(index_dir, manifest, embedder.name, int(embedder.dim)))


def _mismatch_message(index_dir: Path, manifest: dict[str, Any], model: str, dim: int | None) -> str:
    configured = f"{model} (dim {dim})" if dim is not None else model
    return (
        f"index at {index_dir} was built with model {manifest['model']} (dim {manifest['dim']}); "
        f"the configured model is {configured}: rebuild with "
        f"`policyqa index <paths> --index {index_dir} --rebuild` or set POLICYQA_MODEL={manifest['model']}"
    )


def _settings() -> Settings:
    from .config import Settings

    return Settings.from_env()


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_under(path: str, folder: Path) -> bool:
    try:
        return Path(path).is_relative_to(folder)
    except ValueError:
        return False


