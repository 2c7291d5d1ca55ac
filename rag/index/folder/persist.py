"""Build and load folder indexes: generations on disk → a `FolderIndex` in memory (`save.py` writes them).

`build_index` creates or incrementally updates an index from files and folders
and saves it; `load_index` opens one for searching, checking every file against
the manifest and every chunk against its document's text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ...errors import IndexCorruptError, IndexMismatchError
from ...types import Chunk, Document
from ..manifest import check_model
from ..protocol import Origin
from . import files, layout
from .bm25 import KeywordIndex
from .dense import dense_index_type, read_dense
from .store import FolderIndex

if TYPE_CHECKING:
    from ...model.protocol import Embedder

__all__ = ["build_index", "load_index"]

log = logging.getLogger(__name__)

_LOAD_RETRIES = 3


def build_index(
    paths: Sequence[Path | str],
    index_dir: Path | str,
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    index_type: str | None = None,
    progress: bool = False,
    rebuild: bool = False,
) -> FolderIndex:
    """Create the index at `index_dir` from `paths`, or update it incrementally, and save it.

    `rebuild=True` ignores the existing index (its files are replaced only once the
    new one is complete). The update's `UpdateSummary` is `index.last_summary`.
    """
    index_dir = Path(index_dir)
    settings = settings or Settings.from_env()
    with layout.writer_lock(index_dir):
        index: FolderIndex | None = None
        if not rebuild:
            try:
                index = load_index(index_dir, embedder=embedder, settings=settings, mmap=False)
            except layout.IndexNotFoundError:
                index = None
        if index is None:
            # saving a fresh index replaces whatever is live only once it is complete
            index = FolderIndex.create(index_dir, settings=settings, embedder=embedder, index_type=index_type)
        elif index_type is not None:
            index.set_index_type(index_type)
        summary = index.add(paths, progress=progress)
        index.save()
        index.checkpoints.clear()  # complete: vectors kept by killed runs for reports since removed go too
        index.last_summary = summary
        return index


def load_index(
    index_dir: Path | str,
    *,
    embedder: Embedder | None = None,
    settings: Settings | None = None,
    mmap: bool = True,
) -> FolderIndex:
    """Open the index CURRENT names, checking every file against the manifest.

    Raises IndexNotFoundError (nothing built there), IndexCorruptError (missing,
    truncated or inconsistent files) or IndexMismatchError (other format version,
    or the given/configured embedding model differs from the index's).
    `mmap=True` maps vectors and BM25 arrays from disk instead of reading them.
    """
    index_dir = Path(index_dir)
    for attempt in range(_LOAD_RETRIES):
        gen = layout.current_generation(index_dir)
        try:
            return _load_generation(index_dir, gen, embedder=embedder, settings=settings, mmap=mmap)
        except IndexCorruptError:
            # a writer may have switched CURRENT and deleted this generation while we read it
            if attempt + 1 < _LOAD_RETRIES and layout.current_generation(index_dir) != gen:
                continue
            raise
    raise AssertionError("unreachable")


def _load_generation(
    index_dir: Path, gen: Path, *, embedder: Embedder | None, settings: Settings | None, mmap: bool
) -> FolderIndex:
    manifest = files.read_manifest(gen)
    hint = layout.rebuild_hint(index_dir)
    where = f"index at {index_dir}"
    if embedder is not None:
        check_model(where, manifest, embedder.name, int(embedder.dim), hint)
    else:
        check_model(where, manifest, (settings or Settings.from_env()).model, None, hint)
    files.check_files(gen, manifest["files"])
    try:
        n = int(manifest["chunk_count"])
        dim = int(manifest["dim"])
        listed: dict[str, dict[str, Any]] = dict(manifest["documents"])
    except (TypeError, ValueError) as exc:
        raise IndexCorruptError(f"{gen / layout.MANIFEST} has malformed fields ({exc}): {hint}") from exc
    documents, origins = _read_documents(index_dir, gen, listed, hint)
    chunks = _read_chunks(index_dir, gen, documents, n, hint)
    embeddings = files.read_npy(
        gen / layout.EMBEDDINGS, (n, dim), manifest.get("embeddings_dtype", "float32"), mmap=mmap, index_dir=index_dir
    )
    dense = read_dense(gen / layout.VECTORS, mmap=mmap)
    if int(dense.ntotal) != n or int(dense.d) != dim:
        raise IndexCorruptError(
            f"{gen / layout.VECTORS} holds {dense.ntotal} vectors of dim {dense.d}; the manifest says "
            f"{n} of dim {dim}: {hint}"
        )
    if dense_index_type(dense) != manifest["index_type"]:
        raise IndexCorruptError(
            f"{gen / layout.VECTORS} is a {dense_index_type(dense)} index, the manifest says "
            f"{manifest['index_type']}: {hint}"
        )
    keyword: KeywordIndex | None
    try:
        keyword = KeywordIndex.load(gen / layout.KEYWORD, mmap=mmap)
    except IndexMismatchError as exc:
        # BM25 is derived from the chunk texts: re-tokenise rather than refuse to start
        log.warning("%s; re-tokenising %d chunks (saved with the next update)", exc, n)
        keyword = None
    if keyword is not None and len(keyword) != n:
        raise IndexCorruptError(f"{gen / layout.KEYWORD} indexes {len(keyword)} chunks, the manifest says {n}: {hint}")
    index = FolderIndex(
        index_dir,
        manifest,
        documents,
        chunks,
        embeddings,
        origins=origins,
        dense=dense,
        keyword=keyword,
        embedder=embedder,
        settings=settings,
        generation=gen.name,
    )
    if keyword is None:
        index.keyword  # noqa: B018  (re-tokenise now, not on the first question)
        index._dirty = True  # and save the new tokens with the next update
    return index


def _read_documents(
    index_dir: Path, gen: Path, listed: dict[str, dict[str, Any]], hint: str
) -> tuple[dict[str, Document], dict[str, frozenset[Origin]]]:
    documents: dict[str, Document] = {}
    origins: dict[str, frozenset[Origin]] = {}
    for rec in files.read_jsonl(gen / layout.DOCUMENTS, index_dir):
        try:
            doc = files.document_from_record(rec)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{gen / layout.DOCUMENTS} holds a malformed document ({exc}): {hint}") from exc
        info = listed.get(doc.doc_id)
        if info is None:
            raise IndexCorruptError(
                f"{gen / layout.DOCUMENTS} holds {doc.doc_id}, which the manifest does not list: {hint}"
            )
        if any(not 0 <= span.start <= span.end <= len(doc.text) for span in doc.meta.spans):
            raise IndexCorruptError(f"{gen / layout.DOCUMENTS}: {doc.doc_id} has a fact span outside its text: {hint}")
        documents[doc.doc_id] = doc
        try:
            origins[doc.doc_id] = frozenset((str(o["source"]), str(o["path"] or "")) for o in info["origins"])
        except (KeyError, TypeError) as exc:
            raise IndexCorruptError(f"{gen / layout.MANIFEST} lists malformed origins for {doc.doc_id}: {hint}") from exc
    if documents.keys() != listed.keys():
        raise IndexCorruptError(
            f"{gen / layout.DOCUMENTS} has {len(documents)} documents, the manifest lists {len(listed)}: {hint}"
        )
    return documents, origins


def _read_chunks(index_dir: Path, gen: Path, documents: dict[str, Document], n: int, hint: str) -> list[Chunk]:
    chunks: list[Chunk] = []
    for rec in files.read_jsonl(gen / layout.CHUNKS, index_dir):
        try:
            chunk = files.chunk_from_record(rec)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{gen / layout.CHUNKS} holds a malformed chunk ({exc}): {hint}") from exc
        doc = documents.get(chunk.doc_id)
        if doc is None or doc.text[chunk.start : chunk.end] != chunk.text:
            raise IndexCorruptError(
                f"{gen / layout.CHUNKS} line {len(chunks) + 1} does not match its document's text: {hint}"
            )
        chunks.append(chunk)
    if len(chunks) != n:
        raise IndexCorruptError(f"{gen / layout.CHUNKS} has {len(chunks)} chunks, the manifest says {n}: {hint}")
    return chunks
